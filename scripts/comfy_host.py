"""Run a real ComfyUI host headless with this pack installed: start it, queue prompts, stop it.

The recipe is the one in shared/host.md: ComfyUI 0.3.75 from `.venv/comfyui`, started with `--cpu` on a free
port, with a temporary base directory whose `custom_nodes/` holds a link to this repository (the host imports
the pack by file location, as it does in a user's install). Used by the host tests and by `make demo`; it
imports neither pytest nor ComfyUI.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
COMFY_DIR = REPO_ROOT / ".venv" / "comfyui"
#: Folder name of the pack inside custom_nodes; the host derives its module name from it.
PACK_FOLDER_NAME = "ComfyUI-GatedPortrait"
#: `python_module` the host reports in /object_info for every node of the pack.
PACK_PYTHON_MODULE = f"custom_nodes.{PACK_FOLDER_NAME}"


class HostError(RuntimeError):
    """The host did not start, failed to import the pack, or stopped answering."""


class PromptRejected(HostError):
    """POST /prompt refused the graph before running it (validation); holds the host's answer."""

    def __init__(self, answer: dict):
        self.answer = answer
        super().__init__(f"prompt rejected: {json.dumps(answer, indent=1)}")


class PromptFailed(HostError):
    """The graph ran and did not succeed; `errors` holds the host's `execution_error` messages."""

    def __init__(self, prompt_id: str, errors: list[dict], status: dict):
        self.prompt_id = prompt_id
        self.errors = errors
        self.status = status
        lines = [f"{e['node_type']} (node {e['node_id']}): {e['exception_type']}: {e['exception_message']}" for e in errors]
        super().__init__(f"prompt {prompt_id} failed: " + ("; ".join(lines) or json.dumps(status)))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pack_import_failure(log: str) -> str | None:
    """The host log's `IMPORT FAILED` line for this pack, or None when the pack imported."""
    for line in log.splitlines():
        if "IMPORT FAILED" in line and PACK_FOLDER_NAME in line:
            return line.strip()
    return None


def import_traceback(log: str) -> str:
    """The last traceback in the host log before its `Cannot import <pack>` line (the reason of the failure)."""
    lines = log.splitlines()
    end = next((i for i, line in enumerate(lines) if line.startswith("Cannot import") and PACK_FOLDER_NAME in line), len(lines))
    starts = [i for i, line in enumerate(lines[:end]) if line.startswith("Traceback (most recent call last)")]
    return "\n".join(lines[starts[-1] : end + 1]) if starts else ""


@dataclass
class InterruptedRun:
    """What one prompt cancelled by POST /interrupt sent: (monotonic time, type, data) per websocket message."""

    events: list[tuple[float, str, dict]]
    interrupted_at: float | None  # when /interrupt was POSTed (None: the prompt ended first)

    @property
    def types(self) -> list[str]:
        return [kind for _, kind, _ in self.events]

    @property
    def latency_s(self) -> float | None:
        """Seconds from the POST to the host's `execution_interrupted` message (None when either is missing)."""
        ends = [when for when, kind, _ in self.events if kind == "execution_interrupted"]
        return ends[0] - self.interrupted_at if ends and self.interrupted_at is not None else None

    def progress_times(self, node_id: str) -> list[float]:
        return [when for when, kind, data in self.events if kind == "progress" and data.get("node") == node_id]


class ComfyHost:
    """One ComfyUI server process with the pack linked in; use as a context manager or call start()/stop().

    `base_dir` must be an empty or absent folder this host owns. `models_dir`, `input_dir` and `output_dir`
    default to the host's own folders under `base_dir`; pass them to share models or keep outputs.
    `front_end`: serve the real front end (the comfyui-frontend-package wheel) instead of a stub page.
    `pack_dir`: the pack folder the host imports: this repository (linked into custom_nodes/) by default, or a copy
    already placed at `base_dir/custom_nodes/<PACK_FOLDER_NAME>` (a user's clone, as the install test makes).
    `env`: variables added to the server's environment.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        models_dir: Path | None = None,
        input_dir: Path | None = None,
        output_dir: Path | None = None,
        comfy_dir: Path = COMFY_DIR,
        python: str = sys.executable,
        start_timeout: float = 180.0,
        front_end: bool = False,
        pack_dir: Path = REPO_ROOT,
        env: dict[str, str] | None = None,
    ):
        self.base_dir = Path(base_dir).resolve()
        self.models_dir = Path(models_dir).resolve() if models_dir else self.base_dir / "models"
        self.input_dir = Path(input_dir).resolve() if input_dir else self.base_dir / "input"
        self.output_dir = Path(output_dir).resolve() if output_dir else self.base_dir / "output"
        self.temp_dir = self.base_dir / "temp"
        self.log_path = self.base_dir / "host.log"
        self.comfy_dir = Path(comfy_dir)
        self.python = python
        self.start_timeout = start_timeout
        self.front_end = front_end
        self.pack_dir = Path(pack_dir).resolve()
        self.env = dict(env or {})
        self.port: int | None = None
        self.start_seconds: float | None = None
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ComfyHost:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _prepare_base_dir(self) -> None:
        """custom_nodes/<pack> -> `pack_dir` unless it is there; models/ -> `models_dir` when that lives elsewhere."""
        custom_nodes = self.base_dir / "custom_nodes"
        custom_nodes.mkdir(parents=True, exist_ok=True)
        if self.pack_dir != custom_nodes / PACK_FOLDER_NAME:
            (custom_nodes / PACK_FOLDER_NAME).symlink_to(self.pack_dir, target_is_directory=True)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        if self.models_dir != self.base_dir / "models":
            (self.base_dir / "models").symlink_to(self.models_dir, target_is_directory=True)
        for folder in (self.input_dir, self.output_dir, self.temp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.front_end:
            stub = self.base_dir / "front_end"  # a stub page instead of the 48 MB front-end package
            stub.mkdir(exist_ok=True)
            (stub / "index.html").write_text("<html></html>\n")

    def command(self) -> list[str]:
        """The host's command line."""
        stub = [] if self.front_end else ["--front-end-root", str(self.base_dir / "front_end")]
        return [
            self.python, str(self.comfy_dir / "main.py"), "--cpu",
            "--listen", "127.0.0.1", "--port", str(self.port),
            "--disable-auto-launch", "--dont-print-server", *stub,
            "--base-directory", str(self.base_dir),
            "--input-directory", str(self.input_dir),
            "--output-directory", str(self.output_dir),
            "--database-url", "sqlite:///:memory:",
        ]

    def start(self) -> ComfyHost:
        """Start the server, wait for GET /system_stats, and fail if the pack did not import."""
        if not (self.comfy_dir / "main.py").is_file():
            raise HostError(f"no ComfyUI at {self.comfy_dir}. Fix: run `make venv`.")
        self._prepare_base_dir()
        self.port = free_port()
        began = time.monotonic()
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                self.command(), cwd=self.base_dir, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        try:
            self._wait_until_up(began + self.start_timeout)
            self.start_seconds = time.monotonic() - began
            self._raise_on_import_failure()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise HostError(f"the host exited with code {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise HostError(f"the host did not answer within {self.start_timeout:.0f} s:\n{self.log_tail()}")

    def _raise_on_import_failure(self) -> None:
        """Import failures are soft in ComfyUI (the server runs on), so read them from the log."""
        log = self.log_text()
        failure = pack_import_failure(log)
        if failure:
            raise HostError(f"the host could not import the pack: {failure}\n{import_traceback(log)}\n(log: {self.log_path})")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash or an out-of-memory kill would: nothing of it runs after."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def peak_rss_mb(self) -> float:
        """The server process's peak resident memory so far (Linux VmHWM), in MB."""
        return self._memory_status("VmHWM")

    def rss_mb(self) -> float:
        """The server process's resident memory now (Linux VmRSS), in MB."""
        return self._memory_status("VmRSS")

    def _memory_status(self, field: str) -> float:
        status = Path(f"/proc/{self._process.pid}/status").read_text()
        (line,) = [row for row in status.splitlines() if row.startswith(f"{field}:")]
        return int(line.split()[1]) / 1024

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]

    def get_json(self, path: str, timeout: float = 30.0):
        """GET a host route and decode its JSON answer."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as answer:
            return json.load(answer)

    def object_info(self) -> dict:
        return self.get_json("/object_info")

    def pack_nodes(self) -> dict:
        """/object_info entries whose python_module is this pack."""
        return {name: info for name, info in self.object_info().items() if info["python_module"] == PACK_PYTHON_MODULE}

    def run_prompt(self, prompt: dict, timeout: float = 600.0) -> dict:
        """Queue an API-format graph, wait until it finished, and return its /history entry.

        Raises PromptRejected when validation refuses the graph, PromptFailed when a node raised.
        """
        client_id = uuid.uuid4().hex
        prompt_id = asyncio.run(self._queue_and_wait(prompt, client_id, timeout))
        entry = self.get_json(f"/history/{prompt_id}")[prompt_id]
        status = entry["status"]
        if status["status_str"] != "success":
            errors = [data for event, data in status["messages"] if event == "execution_error"]
            raise PromptFailed(prompt_id, errors, status)
        return entry

    async def _queue_and_wait(self, prompt: dict, client_id: str, timeout: float) -> str:
        """POST /prompt with a websocket open, then read messages until `executing` with node null."""
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{self.url}/ws?clientId={client_id}") as ws:
                async with session.post(self.url + "/prompt", json={"prompt": prompt, "client_id": client_id}) as answer:
                    body = await answer.json()
                if answer.status != 200 or body.get("node_errors"):
                    raise PromptRejected(body)  # node_errors with 200: the host runs only the valid outputs
                prompt_id = body["prompt_id"]
                try:
                    await asyncio.wait_for(self._wait_for_end(ws, prompt_id), timeout)
                except asyncio.TimeoutError:
                    raise HostError(f"prompt {prompt_id} still running after {timeout:.0f} s:\n{self.log_tail()}") from None
                return prompt_id

    async def _wait_for_end(self, ws: aiohttp.ClientWebSocketResponse, prompt_id: str) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue  # binary messages are previews
            event = json.loads(message.data)
            data = event.get("data", {})
            if event["type"] == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                return
        raise HostError(f"the host closed the websocket while prompt {prompt_id} ran:\n{self.log_tail()}")

    def run_and_interrupt(
        self, prompt: dict, node_id: str, after_progress: int = 1, timeout: float = 300.0, kill: bool = False
    ) -> InterruptedRun:
        """Queue `prompt`, POST /interrupt once `node_id` sent `after_progress` progress messages, and record every
        message until the prompt ends. kill: SIGKILL the server at that moment instead (a crash) and return."""
        return asyncio.run(self._run_and_interrupt(prompt, node_id, after_progress, timeout, kill))

    async def _run_and_interrupt(self, prompt, node_id, after_progress, timeout, kill) -> InterruptedRun:
        client_id = uuid.uuid4().hex
        run = InterruptedRun([], None)
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{self.url}/ws?clientId={client_id}") as ws:
                async with session.post(self.url + "/prompt", json={"prompt": prompt, "client_id": client_id}) as answer:
                    body = await answer.json()
                if answer.status != 200 or body.get("node_errors"):
                    raise PromptRejected(body)
                prompt_id = body["prompt_id"]

                async def read() -> None:
                    async for message in ws:
                        if message.type != aiohttp.WSMsgType.TEXT:
                            continue
                        event = json.loads(message.data)
                        data = event.get("data", {})
                        run.events.append((time.monotonic(), event["type"], data))
                        if run.interrupted_at is None and len(run.progress_times(node_id)) >= after_progress:
                            run.interrupted_at = time.monotonic()
                            if kill:
                                self.kill()
                                return
                            async with session.post(self.url + "/interrupt", json={"prompt_id": prompt_id}):
                                pass
                        if event["type"] == "executing" and data.get("node") is None and data.get("prompt_id") == prompt_id:
                            return

                await asyncio.wait_for(read(), timeout)
        return run

    def output_paths(self, history_entry: dict) -> list[Path]:
        """Files the graph's output nodes saved (images, audio, video), as paths in the host folders."""
        roots = {"output": self.output_dir, "temp": self.temp_dir, "input": self.input_dir}
        paths = []
        for node_output in history_entry["outputs"].values():
            for items in node_output.values():
                for item in items:
                    if isinstance(item, dict) and "filename" in item:
                        paths.append(roots[item.get("type", "output")] / item.get("subfolder", "") / item["filename"])
        return paths
