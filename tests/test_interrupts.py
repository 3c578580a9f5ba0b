"""A cancel lands inside a model call (before the next UNet layer), not only between calls of several windows."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.resnet import ResnetBlock2D

from pipelines.sampler import SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions
from pipelines.tiny_models import tiny_conditions, tiny_model


class Cancelled(Exception):
    pass


def test_an_interrupt_stops_sampling_inside_the_first_model_call_and_leaves_no_hook():
    model, cond = tiny_model(), tiny_conditions(40)
    checks, windows_done = [], []

    def check() -> None:
        checks.append(len(windows_done))
        if len(checks) == 5:
            raise Cancelled

    settings = SamplerSettings(steps=2, seed=3)
    with pytest.raises(Cancelled):
        sample_video(model, cond, settings, callback=lambda done, total, preview: windows_done.append(done),
                     speed=SpeedOptions(window_batch=4), interrupt=check)
    assert windows_done == [] and checks == [0] * 5  # stopped in the reference pass / first call, no window done
    assert all(not module._forward_pre_hooks for module in model.modules())

    plain = sample_video(model, cond, settings)
    counted = []
    checked = sample_video(model, cond, settings, interrupt=lambda: counted.append(1))
    assert torch.equal(plain, checked)
    resnets = sum(isinstance(module, ResnetBlock2D) for module in model.modules())
    assert len(counted) > resnets and all(not m._forward_pre_hooks for m in model.modules())
