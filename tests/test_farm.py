"""Ray batch rendering: a local 2-CPU cluster renders 4 tiny jobs, reports the corrupt one, and a rerun resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from apps.farm import job_arguments, read_jobs
from render_fixtures import write_render_inputs, write_wav

pytest.importorskip("ray")  # optional extra of the farm command only

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_jobs_from_csv_and_json_lines_become_render_command_lines(tmp_path):
    (tmp_path / "jobs.csv").write_text("portrait,audio,output,steps\na.png,a.wav,out/a.mp4,3\n")
    (tmp_path / "jobs.jsonl").write_text('{"portrait": "a.png", "audio": "a.wav", "output": "out/a.mp4", "steps": 3}\n\n')
    csv_jobs, json_jobs = read_jobs(str(tmp_path / "jobs.csv")), read_jobs(str(tmp_path / "jobs.jsonl"))
    assert job_arguments(csv_jobs[0], ["--steps", "9"]) == job_arguments(json_jobs[0], ["--steps", "9"]) == [
        "--steps", "9", "--portrait", "a.png", "--audio", "a.wav", "--output", "out/a.mp4", "--steps", "3"]
    (tmp_path / "bad.jsonl").write_text('{"portrait": "a.png", "output": "x.mp4"}\n')
    with pytest.raises(ValueError, match="lacks \\['audio'\\]"):
        read_jobs(str(tmp_path / "bad.jsonl"))


def _farm(jobs: Path, inputs: dict[str, Path]) -> tuple[int, dict]:
    command = [sys.executable, "-m", "apps.farm", str(jobs), "--model", str(inputs["model.safetensors"]),
               "--audio-encoder", str(inputs["encoder"]), "--vae", str(inputs["vae"]), "--num-cpus", "2", "--retries", "1"]
    done = subprocess.run(command, cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True, timeout=400)
    summaries = [line for line in done.stdout.splitlines() if line.startswith("{")]  # Ray logs task errors too
    assert summaries, done.stderr[-3000:]
    return done.returncode, json.loads(summaries[-1])


def test_local_ray_cluster_renders_reports_the_bad_job_and_resumes(tmp_path):
    inputs = write_render_inputs(tmp_path)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + bytes(60))
    write_wav(tmp_path / "short.wav", seconds=0.3)
    audios = [inputs["speech.wav"], tmp_path / "short.wav", tmp_path / "corrupt.wav", inputs["speech.wav"]]
    outputs = [tmp_path / "out" / f"job{i}.mp4" for i in range(4)]
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"portrait": str(inputs["portrait.png"]), "audio": str(audio), "output": str(out),
                                        "steps": 1, "seed": i, "face_box": "16,16,32,32"}) + "\n"
                            for i, (audio, out) in enumerate(zip(audios, outputs))))
    code, summary = _farm(jobs, inputs)
    assert code == 1
    assert sorted(summary["written"]) == sorted(str(outputs[i]) for i in (0, 1, 3)) and summary["skipped"] == []
    (failed,) = summary["failed"]
    assert failed["output"] == str(outputs[2]) and "audio:" in failed["error"] and "Fix:" in failed["error"]
    assert not outputs[2].exists() and not [p for p in (tmp_path / "out").iterdir() if "partial" in p.name]
    for out, frames in zip([outputs[0], outputs[1], outputs[3]], (13, 8, 13)):
        with av.open(str(out)) as container:
            assert sum(1 for _ in container.decode(video=0)) == frames and len(container.streams.audio) == 1
    stamps = [outputs[i].stat().st_mtime_ns for i in (0, 1, 3)]
    code, again = _farm(jobs, inputs)
    assert code == 1 and sorted(again["skipped"]) == sorted(summary["written"]) and again["written"] == []
    assert [outputs[i].stat().st_mtime_ns for i in (0, 1, 3)] == stamps
