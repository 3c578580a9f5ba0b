"""Clip parallelism for shift fusion (002 §3.3, Algorithm 1) with torch.distributed.

Within one denoising step the ceil(N/f) windows of Sonic's schedule are independent given the latents: each
reads the step's model input and nothing another window writes. `sample_video` asks a window executor which
windows this process runs and hands it the outputs to complete the step's set:

- `LocalWindows` (the default) runs every window and passes the outputs on as they stream.
- `DistributedWindows` runs windows r, r+W, r+2W, ... on rank r of W, then all-gathers the window outputs so
  every rank holds all k of them and fuses them with the schedule's own rule (`WindowSchedule.fuse_step`), in
  window order. Every rank then takes the same scheduler step on the whole sequence.

Why all-gather rather than all-reduce of per-rank partial sums: a ring all-gather moves (W-1)/W of the k window
outputs (k*f frames, about N) into each rank, a ring all-reduce of the full-length sum 2(W-1)/W of N frames, so
the gather moves about half the bytes; and since every rank fuses the same outputs in the same order, the fused
sequence is bit-identical to the single-process one (an all-reduce would re-associate the sums of frames covered
several times, as the circular seam does). Noise is drawn on the CPU from the seed, so it matches on every rank.

Letters: b batch, c channels, f frames of a window, h w latent size, k windows of one step, m windows per rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
import torch.distributed as dist


class LocalWindows:
    """Runs every window of a step in this process (one device)."""

    world_size = 1

    def __init__(self) -> None:
        self.passes = 0  # window passes this process ran

    def windows_to_run(self, count: int) -> range:
        """Indices of the step's `count` windows this process runs."""
        return range(count)

    def run_windows(self, count: int) -> Iterator[int]:
        """`windows_to_run`, counting each window handed out in `passes`."""
        for window in self.windows_to_run(count):
            self.passes += 1
            yield window

    def all_outputs(
        self, outputs: Iterable[torch.Tensor], count: int, shape: torch.Size, device: torch.device
    ) -> Iterable[torch.Tensor]:
        """The step's outputs in window order (here: this process's own, streamed)."""
        return outputs


class DistributedWindows(LocalWindows):
    """Rank r of W runs windows r, r+W, ...; `all_outputs` all-gathers them so every rank holds all k.

    Needs an initialised default process group (torchrun + `init_process_group`); NCCL wants the outputs on
    this rank's CUDA device, gloo on the CPU. A rank that dies makes the others fail at the group's timeout.
    """

    def __init__(self, group: dist.ProcessGroup | None = None) -> None:
        super().__init__()
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)

    def windows_to_run(self, count: int) -> range:
        return range(self.rank, count, self.world_size)

    def all_outputs(
        self, outputs: Iterable[torch.Tensor], count: int, shape: torch.Size, device: torch.device
    ) -> Iterator[torch.Tensor]:
        """This rank's window outputs (each `shape` = b c f h w, float32 on `device`) -> all k, in window order.

        A rank may own no window of a step (W > k, e.g. a video shorter than one clip): it sends zeros.
        """
        padded = torch.zeros((math.ceil(count / self.world_size), *shape), dtype=torch.float32, device=device)  # m b c f h w
        for slot, output in enumerate(outputs):
            padded[slot] = output
        gathered = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(gathered, padded, group=self.group)
        return (gathered[window % self.world_size][window // self.world_size] for window in range(count))
