"""Clip parallelism for shift fusion (002 §3.3, Algorithm 1) with torch.distributed.

Within one denoising step the ceil(N/f) windows of Sonic's schedule are independent given the latents: each
reads the step's model input and nothing another window writes. `sample_video` asks a window executor which
windows this process runs and hands it the outputs to complete the step's set:

- `LocalWindows` (the default) runs every window and passes the outputs on as they stream.
- `DistributedWindows` runs windows r, r+W, r+2W, ... on rank r of W, then all-gathers the window outputs so
  every rank holds all k of them and fuses them with the schedule's own rule (`WindowSchedule.fuse_step`), in
  window order. Every rank then takes the same scheduler step on the whole sequence.
- `ReplicaWindows` is the same split inside one process: window i runs on model replica i mod R (one per
  device, e.g. the GPUs of one machine), one thread per replica, the outputs collected on the main device.

Why all-gather rather than all-reduce of per-rank partial sums: a ring all-gather moves (W-1)/W of the k window
outputs (k*f frames, about N) into each rank, a ring all-reduce of the full-length sum 2(W-1)/W of N frames, so
the gather moves about half the bytes; and since every rank fuses the same outputs in the same order, the fused
sequence is bit-identical to the single-process one (an all-reduce would re-associate the sums of frames covered
several times, as the circular seam does). Noise is drawn on the CPU from the seed, so it matches on every rank.

Letters: b batch, c channels, f frames of a window, h w latent size, k windows of one step, m windows per rank.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
import torch.distributed as dist

#: run_window(index, replica) -> the window's output b c f h w; replica None = the sampler's own model.
RunWindow = Callable[[int, "torch.nn.Module | None"], torch.Tensor]


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

    def step_outputs(
        self, count: int, run_window: RunWindow, on_done: Callable[[int], None], shape: torch.Size, device: torch.device
    ) -> Iterable[torch.Tensor]:
        """All `count` window outputs of one step, in window order, computed by `run_window`.

        on_done(index) is called in this thread after each window this process ran (progress, interrupt).
        """

        def own_outputs() -> Iterator[torch.Tensor]:
            for index in self.run_windows(count):
                output = run_window(index, None)
                on_done(index)
                yield output

        return self.all_outputs(own_outputs(), count, shape, device)


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


class ReplicaWindows(LocalWindows):
    """Window i of a step runs on replica i mod R: model copies on several devices of this process.

    Each replica owns a thread and runs its windows one after another (a model's reference bank is
    per-instance state, so one replica never runs two windows at once); the main thread gathers the
    outputs on the sampler's device, reports progress and may abort (the threads stop after their window).
    The fused step is bit-identical to one replica's where the replicas compute alike (same weights, dtype
    and kind of device).
    """

    def __init__(self, replicas: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.replicas = list(replicas)
        self.world_size = len(self.replicas)
        self.passes_per_replica = [0] * self.world_size

    def windows_to_run(self, count: int) -> range:
        return range(count)

    def step_outputs(
        self, count: int, run_window: RunWindow, on_done: Callable[[int], None], shape: torch.Size, device: torch.device
    ) -> list[torch.Tensor]:
        finished: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work(slot: int) -> None:
            try:
                with torch.no_grad():  # grad mode is per thread
                    for index in range(slot, count, self.world_size):
                        if stop.is_set():
                            return
                        finished.put((index, run_window(index, self.replicas[slot]).to(device), None))
            except BaseException as error:  # handed to the main thread, which raises it
                finished.put((slot, None, error))

        threads = [threading.Thread(target=work, args=(slot,), daemon=True) for slot in range(self.world_size)]
        for thread in threads:
            thread.start()
        outputs: list[torch.Tensor] = [torch.empty(0)] * count
        try:
            for _ in range(count):
                index, output, error = finished.get()
                if error is not None:
                    raise error
                outputs[index] = output
                self.passes += 1
                self.passes_per_replica[index % self.world_size] += 1
                on_done(index)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        return outputs
