"""Safe reading of weight files and strict, readable key checks.

safetensors is read directly; `.pth/.ckpt/.pt/.bin` only through `torch.load(weights_only=True)`, so a
file that carries Python objects is refused and never executed.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import SafetensorError, safe_open

from .errors import CheckpointError

PICKLE_SUFFIXES = {".pth", ".ckpt", ".pt", ".bin"}
#: How PyTorch pickles begin: a zip archive (torch.save since 1.6) or a bare pickle (protocol 2 or later).
PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")


def is_pickle_file(path: str | Path) -> bool:
    """Whether the file starts like a PyTorch pickle (.pth/.ckpt/.bin), whatever its name says."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    # A safetensors file starts with its header length (8 bytes, little-endian), which can begin with 0x80 too; a
    # pickle's third byte is an opcode, never 0.
    return head.startswith(PICKLE_MAGIC) and not (head.startswith(b"\x80") and head[2:3] == b"\x00")


def refuse_pickle(path: str | Path, fix: str) -> None:
    """CheckpointError when a safetensors-only reader is given a pickle (a .pth renamed, or a pickled download)."""
    if is_pickle_file(path):
        raise CheckpointError(
            f"{path}: is a PyTorch pickle (.pth/.ckpt), not safetensors; this loader reads safetensors only and "
            f"never unpickles files. {fix}"
        )


def read_safetensors_metadata(path: str | Path, fix: str) -> dict[str, str]:
    """The metadata of a safetensors file; CheckpointError ending in `fix` if it cannot be read."""
    refuse_pickle(path, fix)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error}). {fix}") from error


def read_safetensors(path: str | Path, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a safetensors file, on the CPU; CheckpointError ending in `fix` if it cannot be read.

    Each tensor is copied into its own allocation: the file's tensors sit at whatever offsets its header length gives
    them, and CPU kernels can round differently on weights that are not aligned like freshly allocated ones.
    """
    refuse_pickle(path, fix)
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: handle.get_tensor(name).clone() for name in handle.keys()}, handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error}). {fix}") from error


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a weight file (unwrapping a top-level 'state_dict'), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found. Fix: put the model file in the model folder shown in the README.")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return read_safetensors(path, "Fix: download or export it again.")[0]
    if suffix not in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: unsupported weight file type '{suffix}'. Fix: use .safetensors (preferred) or .pth/.ckpt.")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path}: refused, the file holds Python objects besides tensors and is never unpickled "
            f"({str(error).splitlines()[0]}). Fix: convert it to .safetensors from a trusted copy."
        ) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"{path}: corrupt or truncated weight file ({error}). Fix: download it again.") from error
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path}: expected a flat dict of tensors. Fix: export the model's state_dict().")
    return data


@dataclass
class KeyReport:
    """Differences between a module's state dict and a checkpoint's."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 8) -> str:
        parts = []
        for label, items in (("missing", self.missing), ("unexpected", self.unexpected)):
            if items:
                shown = ", ".join(items[:limit]) + (f", ... ({len(items)} in all)" if len(items) > limit else "")
                parts.append(f"{len(items)} {label} keys: {shown}")
        if self.mismatched:
            shown = ", ".join(f"{k} file {tuple(a)} vs model {tuple(b)}" for k, a, b in self.mismatched[:limit])
            parts.append(f"{len(self.mismatched)} shape mismatches: {shown}")
        return "; ".join(parts)


def compare_keys(expected: dict[str, tuple], found: dict[str, torch.Tensor]) -> KeyReport:
    """expected: key -> shape of the module; found: the checkpoint's tensors."""
    report = KeyReport()
    report.missing = sorted(k for k in expected if k not in found)
    report.unexpected = sorted(k for k in found if k not in expected)
    report.mismatched = [(k, tuple(found[k].shape), tuple(s)) for k, s in expected.items() if k in found and tuple(found[k].shape) != tuple(s)]
    return report


def load_strict(module: nn.Module, state_dict: dict[str, torch.Tensor], source: str, assign: bool = False) -> None:
    """Load every key with the right shape or raise a CheckpointError naming the file and the differences."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    report = compare_keys(expected, state_dict)
    if not report.clean:
        raise CheckpointError(f"{source}: does not match {type(module).__name__}: {report.describe()}.")
    module.load_state_dict(state_dict, strict=True, assign=assign)
