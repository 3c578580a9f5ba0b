"""`make demo`: run example_workflows/gated_portrait_demo.json headless in a real ComfyUI host, print the mp4 path.

Demo models go to `models/` (made once by `scripts.make_demo_models`), the workflow reads its image and audio
from `example_workflows/input/`, and the host writes the video to `output/`. Exits non-zero on any error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
from scripts.comfy_host import REPO_ROOT, ComfyHost, HostError
from scripts.workflow_to_api import convert

DEMO_WORKFLOW = REPO_ROOT / "example_workflows" / "gated_portrait_demo.json"
DEMO_INPUT_DIR = REPO_ROOT / "example_workflows" / "input"
MODELS_DIR = REPO_ROOT / "models"
OUTPUT_DIR = REPO_ROOT / "output"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe_video(path: Path) -> str:
    """Frame count, frame rate and audio duration of an mp4; raises HostError when a stream is missing."""
    with av.open(str(path)) as container:
        if not container.streams.video or not container.streams.audio:
            raise HostError(f"{path} lacks a {'video' if not container.streams.video else 'audio'} stream")
        video, audio = container.streams.video[0], container.streams.audio[0]
        audio_seconds = float(audio.duration * audio.time_base) if audio.duration else float("nan")
        return f"{video.frames} frames at {float(video.average_rate):g} fps, {audio_seconds:.2f} s of audio"


def run_demo() -> Path:
    """Make the demo models, run the demo workflow, and return the path of the mp4 it wrote."""
    log(f"demo models -> {MODELS_DIR}")
    subprocess.run([sys.executable, "-m", "scripts.make_demo_models", str(MODELS_DIR)], cwd=REPO_ROOT, check=True)
    if not DEMO_INPUT_DIR.is_dir():
        raise HostError(f"no {DEMO_INPUT_DIR}: the demo workflow's image and audio files belong there")
    with tempfile.TemporaryDirectory(prefix="gated-portrait-demo-") as base:
        host = ComfyHost(base, models_dir=MODELS_DIR, output_dir=OUTPUT_DIR)  # its own input folder: the host writes there
        host.input_dir.mkdir(parents=True, exist_ok=True)
        for path in DEMO_INPUT_DIR.iterdir():
            if path.is_file():
                shutil.copy(path, host.input_dir / path.name)
        with host:
            log(f"ComfyUI host up on {host.url} after {host.start_seconds:.1f} s")
            prompt = convert(json.loads(DEMO_WORKFLOW.read_text()), host.object_info())
            began = time.monotonic()
            entry = host.run_prompt(prompt)
            log(f"demo workflow ran in {time.monotonic() - began:.1f} s")
            videos = [path for path in host.output_paths(entry) if path.suffix == ".mp4"]
    if not videos:
        raise HostError(f"the demo workflow finished without writing an mp4; outputs: {entry['outputs']}")
    log(describe_video(videos[-1]))
    return videos[-1]


def main() -> int:
    try:
        print(run_demo())
    except (HostError, ValueError, OSError, subprocess.CalledProcessError) as error:
        log(f"make demo failed: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
