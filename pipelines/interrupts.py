"""Cancel checks inside the model calls, so a stop lands within one UNet layer instead of one whole call.

One model call of the sampler runs several windows and all CFG branches (seconds to tens of seconds on a busy
CPU); checking only between calls makes a cancel wait for the whole call. `checked_layers` calls `check` before
every resnet layer of the ReferenceNet and the denoiser (SD1.5: 22 per pass); `check` raises to cancel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch.nn as nn
from diffusers.models.resnet import ResnetBlock2D

#: Raises to cancel (the host's interrupt flag); returns None otherwise.
InterruptCheck = Callable[[], None]


@contextlib.contextmanager
def checked_layers(models: Iterable[nn.Module], check: InterruptCheck | None) -> Iterator[None]:
    """Within the block, `check()` runs before every ResnetBlock2D of `models` (not in torch.compiled ones,
    where a Python call would break the graph: those are checked between calls only)."""
    handles = []
    if check is not None:
        for model in models:
            if getattr(model, "compiled", False):
                continue
            handles += [m.register_forward_pre_hook(lambda _m, _a: check()) for m in model.modules() if isinstance(m, ResnetBlock2D)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
