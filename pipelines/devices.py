"""The device list of a sampling node: where the model replicas of a step's windows run.

"cuda:0, cuda:1" spreads each step's windows over two GPUs of one machine (clip_parallel.ReplicaWindows);
an empty text keeps the host's device. The same device may be listed twice (two replicas there).
"""

from __future__ import annotations

import torch

from .errors import PortraitInputError

FIX = "write devices like 'cuda:0, cuda:1' (or 'cpu'), comma-separated, or leave it empty for the host's device"


def parse_devices(text: str, default: torch.device, cuda_devices: int) -> list[torch.device]:
    """'cuda:0, cuda:1' -> [device, ...] (empty text -> [default]); every device must exist on this machine."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    devices = [_device(entry, cuda_devices) for entry in entries]
    return devices or [torch.device(default)]


def _device(entry: str, cuda_devices: int) -> torch.device:
    try:
        device = torch.device(entry)
    except RuntimeError:
        raise PortraitInputError("devices", f"'{entry}' is not a device name", FIX) from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise PortraitInputError("devices", f"'{entry}' is a {device.type} device; the list takes cpu and cuda devices", FIX)
    index = device.index or 0
    if index >= cuda_devices:
        raise PortraitInputError(
            "devices", f"'{entry}' does not exist: this machine has {cuda_devices} CUDA device(s)",
            f"list only cuda:0 to cuda:{cuda_devices - 1}" if cuda_devices else "leave it empty (or 'cpu') on a machine without CUDA",
        )
    return torch.device("cuda", index)
