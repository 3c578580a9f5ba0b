"""Speed switches: each lossless switch alone and all together equal every switch off on the same schedule (fp32,
CPU); the lossy ones change the video but keep it finite; the attention kernels are SDPA. (Graph breaks of the UNet
under torch.compile: bench/step_time.py's compile row, about a minute of tracing.)"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from pipelines.tiny_models import TINY, tiny_conditions, tiny_model
from pipelines.guidance import GuidanceScales
from pipelines.sampler import LongVideoOptions, SamplerSettings, sample_video
from pipelines.speed_options import SpeedOptions, attention_kernels

F = TINY.clip_length
FRAMES = F + 3  # two clips of motion_frames, three shift-fusion windows
SETTINGS = SamplerSettings(steps=2, guidance=GuidanceScales(2.0, 7.5), seed=4)  # three CFG branches
SHIFT, CLIPS = LongVideoOptions(alpha=3), LongVideoOptions(strategy="motion_frames", motion_frames=2)
OFF = SpeedOptions.baseline()


@pytest.fixture(scope="module")
def model():
    return tiny_model(alpha=0.3)


def _sample(model, strategy, speed, settings=SETTINGS):
    """Latents and how often the model's predict / encode_reference ran."""
    calls = {"predict": 0, "encode_reference": 0}
    for name in calls:
        method = getattr(model, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        setattr(model, name, counted)
    try:
        return sample_video(model, tiny_conditions(FRAMES), settings, strategy, speed=speed), calls
    finally:
        for name in calls:
            delattr(model, name)


@pytest.fixture(scope="module")
def switches_off(model):
    return {strategy.strategy: _sample(model, strategy, OFF) for strategy in (SHIFT, CLIPS)}


@pytest.fixture(scope="module")
def switches_fast(model):
    return {strategy.strategy: _sample(model, strategy, SpeedOptions()) for strategy in (SHIFT, CLIPS)}


LOSSLESS = [
    ("window_batch", 4, SHIFT),
    ("batched_cfg", True, SHIFT),
    ("contiguous_temporal", True, SHIFT),
    ("channels_last", True, SHIFT),
    ("split_uncond_attention", True, SHIFT),
    ("reference_once", True, CLIPS),
]


@pytest.mark.parametrize("name, value, strategy", LOSSLESS, ids=[case[0] for case in LOSSLESS])
def test_each_lossless_switch_alone_gives_the_same_video(model, switches_off, name, value, strategy):
    expected, calls_off = switches_off[strategy.strategy]
    latents, calls = _sample(model, strategy, replace(OFF, **{name: value}))
    assert (latents - expected).abs().max() < 1e-4
    if name in ("window_batch", "batched_cfg"):  # the switch really took effect: fewer model calls
        assert calls["predict"] < calls_off["predict"]
    if name == "reference_once":
        assert (calls_off["encode_reference"], calls["encode_reference"]) == (2, 1)  # one per clip vs one per video
    if name == "channels_last":
        assert model.denoising_unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    sample_video(model, tiny_conditions(F), SamplerSettings(steps=1), speed=OFF)  # back to plain layouts


@pytest.mark.parametrize("strategy", [SHIFT, CLIPS], ids=["shift_fusion", "motion_frames"])
def test_all_lossless_switches_equal_all_off_and_hallo_style_switches(model, switches_off, switches_fast, strategy):
    expected, fast = switches_off[strategy.strategy][0], switches_fast[strategy.strategy][0]
    hallo_style, _ = _sample(model, strategy, replace(OFF, batched_cfg=True))  # bench/step_time's reference mode
    assert (fast - expected).abs().max() < 1e-4
    assert (hallo_style - expected).abs().max() < 1e-4


LOSSY = [
    ("cfg_cutoff", 0.5, SHIFT),
    ("deep_cache_interval", 2, SHIFT),
    ("deep_cache_interval", 2, CLIPS),
]


@pytest.mark.parametrize("name, value, strategy", LOSSY, ids=[f"{c[0]}-{c[2].strategy}" for c in LOSSY])
def test_lossy_switches_change_the_video_but_keep_it_finite(model, switches_fast, name, value, strategy):
    lossless, lossless_calls = switches_fast[strategy.strategy]
    mid_calls = []
    hook = model.denoising_unet.mid_block.resnets[0].register_forward_hook(lambda *args: mid_calls.append(1))
    try:
        lossy, _ = _sample(model, strategy, replace(SpeedOptions(), **{name: value}))
    finally:
        hook.remove()
    assert torch.isfinite(lossy).all()
    assert (lossy - lossless).abs().max() > 1e-3
    if name == "deep_cache_interval":  # step 2 of each window ran the shallow path only: half the deep passes
        assert len(mid_calls) == lossless_calls["predict"] // 2


def test_cfg_cutoff_runs_one_branch_after_the_cutoff():
    options = SpeedOptions(cfg_cutoff=0.5)
    assert options.guidance_at(GuidanceScales(2.0, 7.5), 0, 4).branches() == ("uncond", "image", "full")
    assert options.guidance_at(GuidanceScales(2.0, 7.5), 2, 4).branches() == ("full",)
    assert options.guidance_at(GuidanceScales(2.0, 7.5, audio_head=1.0), 2, 4).head_ratio() == 1.0  # no CFG left to split
    assert options.lossy() == {"cfg_cutoff": 0.5} and options.lossless() == SpeedOptions()


def test_every_attention_is_sdpa(model):
    kernels = attention_kernels(model)
    assert set(kernels) == {"ReferenceWriteProcessor", "ReferenceReadProcessor", "AttnProcessor2_0", "temporal_sdpa"}
    assert kernels["ReferenceReadProcessor"] == kernels["ReferenceWriteProcessor"] > 0


def test_compile_switch_compiles_every_replica_once():
    """sample_video applies `compile` to the sampler's model and to each ReplicaWindows replica, once per model
    (torch.compile itself is replaced by a recorder here: inductor takes minutes on the CPU)."""
    from pipelines.clip_parallel import ReplicaWindows

    first, second = tiny_model(alpha=0.3), tiny_model(alpha=0.3)
    compiled = []
    for name, replica in (("first", first), ("second", second)):
        replica.denoising_unet.compile = lambda _name=name, **kwargs: compiled.append((_name, kwargs))
    cond = tiny_conditions(2 * F)
    settings = SamplerSettings(steps=1, guidance=GuidanceScales(1.0, 1.0), seed=0)
    for _ in range(2):
        sample_video(first, cond, settings, SHIFT, windows=ReplicaWindows([first, second]), speed=SpeedOptions(compile=True))
    assert compiled == [("first", {"mode": None, "dynamic": False}), ("second", {"mode": None, "dynamic": False})]
    assert first.compiled and second.compiled
    plain = tiny_model(alpha=0.3)
    plain.denoising_unet.compile = lambda **kwargs: compiled.append(("plain", kwargs))
    sample_video(plain, cond, settings, SHIFT, speed=SpeedOptions())
    assert len(compiled) == 2 and not getattr(plain, "compiled", False)
