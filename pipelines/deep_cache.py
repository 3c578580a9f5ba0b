"""DeepCache-style reuse of the UNet's deep features across adjacent denoising steps (lossy, off by default).

On a full step the denoiser records, per frame, the input of its last up block (the output of everything below
the first down block: the "deep" features). On the next `interval - 1` steps only the shallow path runs: conv_in,
the first down block's layers and the last up block, which reads the recorded deep features of the same frames.
Features are kept per (CFG branch, video, frame) of the padded sequence, so windows that move between steps (shift
fusion) read the frames they hold now. Memory: branches x videos x frames x one latent-resolution map of the last
up block's input width (e.g. 640 x 64 x 64 at SD1.5 size).

Letters: k CFG branches of one model call, w items of the call (videos x windows), f frames of an item.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


class DeepFeatureCache:
    """Deep features of one video sequence: branch tuple -> k videos frames c h w."""

    def __init__(self, interval: int, videos: int, length: int):
        self.interval, self.videos, self.length = interval, videos, length
        self.store: dict[tuple[str, ...], torch.Tensor] = {}

    def window(self, step: int, frames: torch.Tensor, videos: torch.Tensor) -> "DeepWindow":
        """The cache as seen by one model call: frames w f sequence indices and videos w indices of its items."""
        return DeepWindow(self, step % self.interval != 0, frames, videos)


@dataclass
class DeepWindow:
    """One call's view: which rows of the store its (k w f) rows are, and whether this step reuses them."""

    cache: DeepFeatureCache
    reuse: bool
    frames: torch.Tensor
    videos: torch.Tensor

    def for_branches(self, branches: tuple[str, ...]) -> "ShallowPass":
        """The pass for a call over `branches`: a full pass (recording) unless this step reuses recorded rows."""
        return ShallowPass(self, branches, reuse=self.reuse and branches in self.cache.store)


@dataclass
class ShallowPass:
    """What walk_unet reads (`cached`, when `reuse`) or writes (`record`, on a full pass) for one model call."""

    window: DeepWindow
    branches: tuple[str, ...]
    reuse: bool

    def index(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Store indices (branch, video, frame) of the call's rows, each broadcast to k w f."""
        device = self.window.frames.device
        k = torch.arange(len(self.branches), device=device)[:, None, None]
        return k, self.window.videos.to(device)[None, :, None], self.window.frames[None]

    def cached(self) -> torch.Tensor:
        """(k w f) c h w deep features recorded for these rows."""
        return self.window.cache.store[self.branches][self.index()].flatten(0, 2)

    def record(self, h: torch.Tensor) -> None:
        """h: (k w f) c h w deep features of a full pass."""
        cache = self.window.cache
        if self.branches not in cache.store:
            shape = (len(self.branches), cache.videos, cache.length, *h.shape[1:])
            cache.store[self.branches] = h.new_zeros(shape)
        k, w, f = self.index()
        rows = h.view(len(self.branches), self.window.frames.shape[0], self.window.frames.shape[1], *h.shape[1:])
        cache.store[self.branches][k, w, f] = rows
