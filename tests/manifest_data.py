"""Key/shape manifests of released checkpoints (copied from the design notes into tests/manifests/)."""

from __future__ import annotations

from pathlib import Path

import torch

MANIFESTS = Path(__file__).parent / "manifests"


def read_manifest(name: str) -> dict[str, tuple[int, ...]]:
    """key -> shape of one TSV manifest (header: key, shape, dtype)."""
    rows = (MANIFESTS / f"{name}.tsv").read_text().splitlines()[1:]
    return {key: tuple(int(x) for x in shape.split(",")) for key, shape, _ in (row.split("\t") for row in rows)}


def meta_state_dict(manifest: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Empty meta tensors with the manifest's keys and shapes."""
    return {key: torch.empty(shape, device="meta") for key, shape in manifest.items()}
