"""Render every (portrait x audio) pair through a running ComfyUI server's API and write a CSV of the results.

    python examples/api_batch.py --portraits faces/ --audio speech/ --server 127.0.0.1:8188 --csv results.csv
    python examples/api_batch.py --jobs jobs.csv --set GatedUNetSample.steps=10 --seed 7

Needs only the standard library and `websocket-client`. The workflow (default: the pack's demo) may be an API
prompt (ComfyUI's *Export (API)*) or a UI workflow, which is converted with the server's /object_info by the
pack's scripts/workflow_to_api.py. For each job the portrait and the audio are uploaded (POST /upload/image, the
route the editor uses for LoadImage and LoadAudio files), the LoadImage / LoadAudio / seed / filename_prefix
inputs are patched by node class, the prompt is queued (POST /prompt with this client's id) and followed on the
websocket (`executing`, `progress`, `execution_error`; done at `executing` with node null, which the server sends
after it stored the job's /history entry: `execution_success` comes before that). A failed job is retried
`--retries` times (default once). CSV columns: portrait, audio, status (ok / failed), attempts, outputs (files
under the server's output folder, `;`-separated), error, seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import mimetypes
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import websocket  # websocket-client

PACK = Path(__file__).resolve().parents[1]
DEFAULT_WORKFLOW = PACK / "example_workflows" / "gated_portrait_demo.json"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus"}
SEED_INPUTS = ("seed", "noise_seed")
CSV_COLUMNS = ("portrait", "audio", "status", "attempts", "outputs", "error", "seconds")


class JobFailed(RuntimeError):
    """The server refused or failed one job; the message is what goes into the CSV."""


@dataclass
class JobResult:
    portrait: Path
    audio: Path
    status: str = "failed"
    attempts: int = 0
    outputs: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def row(self) -> dict:
        return {"portrait": str(self.portrait), "audio": str(self.audio), "status": self.status,
                "attempts": self.attempts, "outputs": ";".join(self.outputs), "error": self.error,
                "seconds": f"{self.seconds:.2f}"}


class ComfyClient:
    """HTTP + websocket client of one ComfyUI server, with one client id for all its prompts."""

    def __init__(self, server: str, timeout: float):
        self.base = f"http://{server}"
        self.client_id = uuid.uuid4().hex
        self.timeout = timeout
        self.ws = websocket.create_connection(f"ws://{server}/ws?clientId={self.client_id}", timeout=timeout)

    def close(self) -> None:
        self.ws.close()

    def get_json(self, path: str):
        with urllib.request.urlopen(self.base + path, timeout=self.timeout) as answer:
            return json.load(answer)

    def post_json(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as refused:  # validation errors come back as 400 with a JSON body
            raise JobFailed(rejection_text(json.loads(refused.read() or b"{}"))) from None

    def upload(self, path: Path) -> str:
        """Upload a file into the server's input folder; returns the name LoadImage / LoadAudio must use."""
        boundary = uuid.uuid4().hex
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{path.name}"\r\n'
            f"Content-Type: {kind}\r\n\r\n".encode(), path.read_bytes(), f"\r\n--{boundary}--\r\n".encode(),
        ])
        request = urllib.request.Request(self.base + "/upload/image", data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            saved = json.load(answer)
        return f"{saved['subfolder']}/{saved['name']}" if saved.get("subfolder") else saved["name"]

    def run(self, prompt: dict, label: str) -> list[str]:
        """Queue a prompt, print its progress, and return its output files; raises JobFailed."""
        prompt_id = self.post_json("/prompt", {"prompt": prompt, "client_id": self.client_id})["prompt_id"]
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise JobFailed(f"still running after {self.timeout:.0f} s (prompt {prompt_id})")
            message = self.ws.recv()
            if not isinstance(message, str):
                continue  # binary frames are previews
            event = json.loads(message)
            data = event.get("data", {})
            if data.get("prompt_id") != prompt_id:
                continue
            kind = event["type"]
            if kind == "executing" and data.get("node") is not None:
                node = prompt.get(str(data["node"]), {}).get("class_type", data["node"])
                print(f"[{label}] {node}", flush=True)
            elif kind == "progress":
                print(f"[{label}] {data['value']}/{data['max']}", flush=True)
            elif kind == "execution_error":
                raise JobFailed(f"{data['node_type']} (node {data['node_id']}): {data['exception_message'].strip()}")
            elif kind == "execution_interrupted":
                raise JobFailed(f"interrupted at node {data.get('node_id')}")
            elif kind == "executing" and data.get("node") is None:
                return self.output_files(prompt_id)

    def output_files(self, prompt_id: str) -> list[str]:
        """Files the prompt's output nodes saved, relative to the server's output folder."""
        entry = self.get_json(f"/history/{prompt_id}")[prompt_id]
        files = []
        for node_output in entry["outputs"].values():
            for items in node_output.values():
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and "filename" in item and item.get("type", "output") == "output":
                        files.append(str(Path(item.get("subfolder", "")) / item["filename"]))
        return files


def rejection_text(answer: dict) -> str:
    """One line from POST /prompt's validation answer: the error and each node's failing inputs."""
    lines = [answer.get("error", {}).get("message", "prompt rejected")]
    for node_id, node in answer.get("node_errors", {}).items():
        for error in node.get("errors", []):
            lines.append(f"{node.get('class_type')} (node {node_id}): {error.get('details') or error.get('message')}")
    return "; ".join(lines)


def load_prompt(workflow: Path, client: ComfyClient) -> dict:
    """API prompt from an API-format file, or from a UI workflow converted with the server's /object_info."""
    graph = json.loads(workflow.read_text())
    if "nodes" not in graph:
        return graph
    sys.path.insert(0, str(PACK))
    from scripts.workflow_to_api import convert

    return convert(graph, client.get_json("/object_info"))


def parse_override(text: str) -> tuple[str, str, object]:
    """`Class.input=value` -> (class, input, JSON value or the text itself)."""
    target, _, raw = text.partition("=")
    node_class, _, name = target.partition(".")
    if not (node_class and name and raw):
        raise argparse.ArgumentTypeError(f"--set {text!r}: expected Class.input=value, e.g. GatedUNetSample.steps=10")
    try:
        return node_class, name, json.loads(raw)
    except json.JSONDecodeError:
        return node_class, name, raw


def job_prompt(template: dict, image: str, audio: str, seed: int, prefix: str, overrides) -> dict:
    """A copy of the prompt with the job's files, seed and output prefix patched in by node class."""
    prompt = json.loads(json.dumps(template))
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "LoadImage":
            inputs["image"] = image
        elif node["class_type"] == "LoadAudio":
            inputs["audio"] = audio
        for name in SEED_INPUTS:
            if isinstance(inputs.get(name), int):
                inputs[name] = seed
        if isinstance(inputs.get("filename_prefix"), str):
            inputs["filename_prefix"] = prefix
        for node_class, name, value in overrides:
            if node["class_type"] == node_class:
                inputs[name] = value
    return prompt


def list_jobs(args) -> list[tuple[Path, Path]]:
    """(portrait, audio) pairs: every pair of the two folders, or the rows of --jobs (columns portrait, audio)."""
    if args.jobs:
        with open(args.jobs, newline="") as handle:
            base = args.jobs.parent
            return [(base / row["portrait"], base / row["audio"]) for row in csv.DictReader(handle)]
    portraits = sorted(p for p in args.portraits.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    audios = sorted(p for p in args.audio.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    return [(portrait, audio) for portrait in portraits for audio in audios]


def run_job(client: ComfyClient, template: dict, portrait: Path, audio: Path, args, retries: int) -> JobResult:
    """Upload, queue and follow one job, retrying it up to `retries` times after a failure."""
    result = JobResult(portrait, audio)
    label = f"{portrait.name} x {audio.name}"
    began = time.monotonic()
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        try:
            prompt = job_prompt(template, client.upload(portrait), client.upload(audio), args.seed,
                                f"{args.prefix}/{portrait.stem}__{audio.stem}", args.set)
            result.outputs, result.status, result.error = client.run(prompt, label), "ok", ""
            break
        except (JobFailed, OSError, websocket.WebSocketException) as failure:
            result.error = f"{label}: {failure}"
            print(f"[{label}] attempt {attempt} failed: {failure}", flush=True)
    result.seconds = time.monotonic() - began
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="127.0.0.1:8188", help="host:port of the ComfyUI server")
    parser.add_argument("--workflow", type=Path, default=DEFAULT_WORKFLOW, help="API prompt or UI workflow JSON")
    parser.add_argument("--portraits", type=Path, help="folder of portrait images")
    parser.add_argument("--audio", type=Path, help="folder of speech files")
    parser.add_argument("--jobs", type=Path, help="CSV with columns portrait,audio (paths relative to the CSV)")
    parser.add_argument("--csv", type=Path, default=Path("api_batch_results.csv"), help="where to write the results")
    parser.add_argument("--seed", type=int, default=42, help="seed of every job")
    parser.add_argument("--prefix", default="GatedPortrait/batch", help="filename_prefix folder of the outputs")
    parser.add_argument("--set", type=parse_override, action="append", default=[], metavar="Class.input=value",
                        help="override an input of every node of a class, e.g. GatedUNetSample.steps=10")
    parser.add_argument("--retries", type=int, default=1, help="extra attempts for a failed job")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one job may take")
    args = parser.parse_args(argv)
    if not args.jobs and not (args.portraits and args.audio):
        parser.error("give --portraits and --audio folders, or --jobs")
    jobs = list_jobs(args)
    client = ComfyClient(args.server, args.timeout)
    results = []
    with open(args.csv, "w", newline="") as handle:  # one row per finished job, so a crash loses no result
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        try:
            template = load_prompt(args.workflow, client)
            for index, (portrait, audio) in enumerate(jobs, start=1):
                print(f"job {index}/{len(jobs)}: {portrait.name} x {audio.name}", flush=True)
                results.append(run_job(client, template, portrait, audio, args, args.retries))
                writer.writerow(results[-1].row())
                handle.flush()
        finally:
            client.close()
    failed = sum(result.status != "ok" for result in results)
    print(f"{len(results) - failed} ok, {failed} failed; results in {args.csv}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
