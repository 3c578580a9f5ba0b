"""Where every benchmark's JSON goes: printed to stdout and written to bench/results/<name>.json."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, result: dict) -> None:
    """Print the result as one JSON object and keep it in bench/results/<name>.json."""
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(text + "\n")
