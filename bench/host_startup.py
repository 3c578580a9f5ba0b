"""Start-up time of the real ComfyUI host with the pack linked in, and one tiny prompt's round trip.

Run from the repository root: `.venv/bin/python -m bench.host_startup`. Prints one JSON object and writes it to
bench/results/host_startup.json.
"""

import os
import tempfile
import time
from pathlib import Path

from scripts.comfy_host import ComfyHost
from bench.report import report

STARTS = 3
TINY_PROMPT = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
    "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
}


def main() -> None:
    start_seconds, round_trips = [], []
    for _ in range(STARTS):
        with tempfile.TemporaryDirectory() as base, ComfyHost(Path(base) / "host") as host:
            start_seconds.append(round(host.start_seconds, 2))
            began = time.monotonic()
            host.run_prompt(TINY_PROMPT)
            round_trips.append(round(time.monotonic() - began, 3))
    result = {
        "host_start_s": start_seconds,
        "tiny_prompt_round_trip_s": round_trips,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    report("host_startup", result)


if __name__ == "__main__":
    main()
