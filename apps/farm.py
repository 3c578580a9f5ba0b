"""Batch rendering on a Ray cluster: one task per (portrait, audio) job, resumable, with retries.

    python -m apps.farm jobs.jsonl --model m.safetensors --audio-encoder enc/ --vae vae/ [--address auto]

The job list is JSON lines or CSV; each job names `portrait`, `audio` and `output`, and any other key is a
`python -m apps.render` option for that job (`steps`, `seed`, `cfg_audio`, `model`, ...). Jobs whose output
already exists are skipped, so a rerun resumes; the writer renders to a temporary name and renames it when the
mp4 is complete, so a crash leaves no half-written output. A failing job is retried `--retries` times, then
reported with its error. Each task asks for one GPU where the cluster has GPUs; a worker keeps its models loaded
between jobs (render.load_models). Ray is an optional extra (`pip install ray`), imported only here.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import torch

from apps.render import parse_args, render
from pipelines.clip_parallel import LocalWindows

JOB_KEYS = ("portrait", "audio", "output")


def read_jobs(path: str) -> list[dict[str, str]]:
    """Jobs from a JSON-lines file (one object a line) or a CSV file with a header row."""
    with open(path, newline="") as handle:
        if path.endswith(".csv"):
            jobs = [dict(row) for row in csv.DictReader(handle)]
        else:
            jobs = [json.loads(line) for line in handle if line.strip()]
    for number, job in enumerate(jobs, 1):
        missing = [key for key in JOB_KEYS if not job.get(key)]
        if missing:
            raise ValueError(f"{path}: job {number} lacks {missing}. Fix: give every job portrait, audio and output")
    return jobs


def job_arguments(job: dict[str, str], common: list[str]) -> list[str]:
    """A job's `apps.render` command line: the farm's common options, then the job's own (which win)."""
    own = [part for key, value in job.items() for part in (f"--{key.replace('_', '-')}", str(value))]
    return [*common, *own]


class JobError(RuntimeError):
    """A job's failure as one message, so it crosses process boundaries (PortraitInputError does not unpickle)."""


def render_job(arguments: list[str]) -> str:
    """Render one job in this worker (its device: a GPU Ray assigned, else the CPU) -> the output path."""
    try:
        args = parse_args(arguments)
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return render(args, LocalWindows(), device)["output"]
    except (Exception, SystemExit) as error:  # argparse exits on a bad option
        raise JobError(f"{type(error).__name__}: {error}") from None


def run_farm(jobs: list[dict[str, str]], common: list[str], address: str | None = None, retries: int = 2,
             num_cpus: int | None = None, progress: bool = True) -> dict:
    """Render the jobs whose output is missing on a Ray cluster -> {"written", "skipped", "failed": [{output, error}]}."""
    import ray
    from tqdm import tqdm

    summary = {"written": [], "skipped": [], "failed": []}
    pending = []
    for job in jobs:
        (summary["skipped"] if Path(job["output"]).is_file() else pending).append(job)
    summary["skipped"] = [job["output"] for job in summary["skipped"]]
    if not pending:
        return summary
    ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) > 0 else 0
        task = ray.remote(render_job).options(num_cpus=1, num_gpus=gpus, max_retries=retries, retry_exceptions=True)
        running = {task.remote(job_arguments(job, common)): job for job in pending}
        with tqdm(total=len(jobs), initial=len(summary["skipped"]), unit="job", disable=not progress) as bar:
            while running:
                (ready,), _ = ray.wait(list(running), num_returns=1)
                job = running.pop(ready)
                try:
                    summary["written"].append(ray.get(ready))
                except ray.exceptions.RayError as error:  # the job's JobError, or its worker died
                    cause = getattr(error, "cause", None) or error
                    summary["failed"].append({"output": job["output"], "error": str(cause)})
                bar.update(1)
    finally:
        ray.shutdown()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.farm", description=__doc__.split("\n\n")[0])
    parser.add_argument("jobs", help="job list: .jsonl (one JSON object a line) or .csv with a header")
    parser.add_argument("--model", help="default pack-native model for every job")
    parser.add_argument("--audio-encoder", help="default speech encoder folder")
    parser.add_argument("--vae", help="default diffusers AutoencoderKL folder")
    parser.add_argument("--address", help="an existing Ray cluster ('auto' or host:port); default: a local one")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local cluster (= jobs at once on CPU)")
    parser.add_argument("--retries", type=int, default=2, help="retries of a failing job before it is reported")
    args = parser.parse_args(argv)
    common = [part for flag, value in (("--model", args.model), ("--audio-encoder", args.audio_encoder), ("--vae", args.vae))
              if value for part in (flag, value)]
    summary = run_farm(read_jobs(args.jobs), common, args.address, args.retries, args.num_cpus)
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
