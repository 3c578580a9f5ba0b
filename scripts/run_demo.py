"""`make demo`: run example_workflows/gated_portrait_demo.json headless in a real ComfyUI host, print the mp4 path.

Demo models go to `models/` (made once by `scripts.make_demo_models`), the workflow reads its image and audio
from `example_workflows/input/`, and the host writes the video to `output/`. Exits non-zero on any error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

from comfy_host import REPO_ROOT, ComfyHost, HostError
from workflow_to_api import convert

DEMO_WORKFLOW = REPO_ROOT / "example_workflows" / "gated_portrait_demo.json"
DEMO_INPUT_DIR = REPO_ROOT / "example_workflows" / "input"
MODELS_DIR = REPO_ROOT / "models"
OUTPUT_DIR = REPO_ROOT / "output"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_demo() -> str:
    """Make the demo models, run the demo workflow, and return the path of the mp4 it wrote."""
    log(f"demo models -> {MODELS_DIR}")
    subprocess.run([sys.executable, "-m", "scripts.make_demo_models", str(MODELS_DIR)], cwd=REPO_ROOT, check=True)
    with tempfile.TemporaryDirectory(prefix="gated-portrait-demo-") as base:
        host = ComfyHost(base, models_dir=MODELS_DIR, input_dir=DEMO_INPUT_DIR, output_dir=OUTPUT_DIR)
        with host:
            log(f"ComfyUI host up on {host.url} after {host.start_seconds:.1f} s")
            prompt = convert(json.loads(DEMO_WORKFLOW.read_text()), host.object_info())
            began = time.monotonic()
            entry = host.run_prompt(prompt)
            log(f"demo workflow ran in {time.monotonic() - began:.1f} s")
            videos = [path for path in host.output_paths(entry) if path.suffix == ".mp4"]
    if not videos:
        raise HostError(f"the demo workflow finished without writing an mp4; outputs: {entry['outputs']}")
    return str(videos[-1])


def main() -> int:
    try:
        print(run_demo())
    except (HostError, ValueError, OSError, subprocess.CalledProcessError) as error:
        log(f"make demo failed: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
