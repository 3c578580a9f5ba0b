"""Convert Hallo's released net.pth into net.safetensors once (the node 'Convert Hallo net.pth to safetensors' does
the same inside ComfyUI).

    python scripts/convert_hallo_net.py ComfyUI/models/hallo/hallo/net.pth [OUT.safetensors]

The .pth is read with `torch.load(weights_only=True)`, so a file holding code is refused; every key and shape is
checked against Hallo's layout before anything is written. An existing target is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("net_pth", type=Path, help="Hallo's net.pth")
    parser.add_argument("out", type=Path, nargs="?", help="default: net.safetensors beside the .pth")
    args = parser.parse_args(argv)
    target = args.out or args.net_pth.with_suffix(".safetensors")
    if target.is_file():
        print(f"{target}: already converted")
        return 0
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # run as a file: the pack's host-free `pipelines` sits beside it
    from pipelines.errors import CheckpointError
    from pipelines.hallo_checkpoint import convert_net_to_safetensors

    try:
        print(f"{convert_net_to_safetensors(args.net_pth, target)}: written from {os.path.basename(args.net_pth)}")
    except CheckpointError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
