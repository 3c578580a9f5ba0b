"""examples/api_batch.py against the real host: two portraits x one clip render, a 0-length clip fails (retried once)."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image, ImageOps

from audio_speech import cut_wav, needs_whisper_tiny
from scripts.make_demo_models import write_demo_models

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "api_batch.py"
DEMO = REPO / "example_workflows" / "gated_portrait_demo.json"
DEMO_INPUTS = REPO / "example_workflows" / "input"
CLIP_SECONDS = 0.4
pytestmark = needs_whisper_tiny  # the demo model reads Whisper tiny.en features


def _demo_portrait() -> Path:
    (node,) = [n for n in json.loads(DEMO.read_text())["nodes"] if n["type"] == "LoadImage"]
    return DEMO_INPUTS / node["widgets_values"][0]


@pytest.fixture(scope="module")
def batch_run(comfy_host, tmp_path_factory):
    """Runs the script once on a CSV job list: 2 portraits x 1 clip + the portrait x a 0-length wav.

    Returns (CSV rows by (portrait, audio) names, the finished process, the host).
    """
    write_demo_models(comfy_host.models_dir)
    root = tmp_path_factory.mktemp("api_batch")
    face = Image.open(_demo_portrait()).convert("RGB")
    face.save(root / "a_face.png")
    ImageOps.mirror(face).save(root / "b_mirrored.png")
    cut_wav(DEMO_INPUTS / "speech.wav", root / "clip.wav", CLIP_SECONDS)
    cut_wav(DEMO_INPUTS / "speech.wav", root / "empty.wav", 0.0)
    jobs = root / "jobs.csv"
    jobs.write_text("portrait,audio\na_face.png,clip.wav\nb_mirrored.png,clip.wav\na_face.png,empty.wav\n")
    results = root / "results.csv"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--server", f"127.0.0.1:{comfy_host.port}", "--jobs", str(jobs),
         "--csv", str(results), "--set", "GatedUNetSample.steps=2", "--prefix", "api_batch_test"],
        capture_output=True, text=True, timeout=300,
    )
    assert results.is_file(), f"api_batch.py wrote no CSV (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    with open(results, newline="") as handle:
        rows = {(Path(row["portrait"]).name, Path(row["audio"]).name): row for row in csv.DictReader(handle)}
    return rows, run, comfy_host


def test_face_jobs_write_mp4s_of_the_clip_length(batch_run):
    rows, run, host = batch_run
    assert run.returncode == 1, run.stdout + run.stderr  # one job failed
    for name in ("a_face.png", "b_mirrored.png"):
        row = rows[name, "clip.wav"]
        assert (row["status"], row["attempts"], row["error"]) == ("ok", "1", ""), row
        (mp4,) = [host.output_dir / p for p in row["outputs"].split(";") if p.endswith(".mp4")]
        assert mp4.is_file() and mp4.parent.name == "api_batch_test"
        assert mp4.name.startswith(f"{Path(name).stem}__clip")
        with av.open(str(mp4)) as container:
            assert sum(1 for _ in container.decode(video=0)) == math.ceil(CLIP_SECONDS * 25)
        assert float(row["seconds"]) > 0


def test_empty_audio_job_fails_after_one_retry_naming_the_input(batch_run):
    rows, run, host = batch_run
    row = rows["a_face.png", "empty.wav"]
    assert (row["status"], row["attempts"], row["outputs"]) == ("failed", "2", "")
    assert "empty.wav" in row["error"] and "LoadAudio" in row["error"]  # core's LoadAudio refuses the file
    assert run.stdout.count("[a_face.png x empty.wav] attempt") == 2
    queued = [entry for entry in host.get_json("/history").values()
              if any(node["inputs"].get("audio") == "empty.wav" for node in entry["prompt"][2].values())]
    assert len(queued) == 2  # the first try and exactly one retry reached the server


def test_progress_is_printed_per_job(batch_run):
    _, run, _ = batch_run
    done = re.findall(r"^\[a_face\.png x clip\.wav\] (\d+)/(\d+)$", run.stdout, re.MULTILINE)
    assert done and any(value == total for value, total in done)  # a finished progress bar (sampler, decoder)
    assert "[b_mirrored.png x clip.wav] VAEDecodeVideo" in run.stdout
    assert "2 ok, 1 failed" in run.stdout
