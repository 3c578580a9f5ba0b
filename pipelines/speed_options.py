"""Speed switches of the sampler and the model, each measurable alone (bench/step_time.py).

Lossless switches give the same video to floating-point tolerance and default to the fast setting; lossy ones are
off by default and trade drift (PSNR against the lossless output, reported by the bench) for time. `sample_video`
applies them all, the model-side ones to every replica through `prepare_model` (layout, and compile once per model).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields, replace

import torch

from .guidance import GuidanceScales
from .motion_module import TemporalTransformer

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class SpeedOptions:
    """How sampling spends compute. Defaults: the lossless fast set, the same on every device.

    Autocast and channels_last stay off (their measured cost: README, bench/results/step_variants.json): the
    weights' own dtype (ReferenceNetLoad's `dtype`) sets the math. torch.compile is the node's `compile` switch.
    """

    # lossless
    reference_once: bool = True  # ReferenceNet once per video; False: once per clip (Hallo's loop; clip strategies)
    batched_cfg: bool = True  # CFG branches in one model call; False: one call per branch
    # shift-fusion / overlap windows per model call (single-process LocalWindows only); 0 = by device: 4 on the CPU
    # (per-call overhead dominates small models), 1 on CUDA (one window already fills the GPU; more raise the peak)
    window_batch: int = 0
    channels_last: bool = False  # NHWC weights and activations for the 2D convolutions
    contiguous_temporal: bool = True  # temporal attention input laid out (b h w) f c contiguously
    split_uncond_attention: bool = True  # uncond CFG rows attend without the reference tokens, unmasked
    autocast: str | None = None  # "bf16" / "fp16" autocast on CUDA (norms and softmax stay fp32); ignored on CPU
    compile: bool = False  # torch.compile of the denoising UNet
    compile_mode: str | None = None  # torch.compile mode, e.g. "max-autotune-no-cudagraphs"
    offload_reference: bool = False  # low VRAM: ReferenceNet to the CPU once the video's features are computed
    # lossy
    cfg_cutoff: float = 1.0  # fraction of the steps run with CFG; later steps run the conditional branch only
    deep_cache_interval: int = 1  # > 1: full UNet every N steps, shallow pass on cached deep features in between

    @classmethod
    def baseline(cls) -> "SpeedOptions":
        """Every switch off: one window per call, CFG branches in turn, reference per clip, plain layouts."""
        return cls(
            reference_once=False, batched_cfg=False, window_batch=1, contiguous_temporal=False, split_uncond_attention=False
        )

    def lossy(self) -> dict[str, object]:
        """The lossy switches that are on, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in LOSSY and getattr(self, f.name) != f.default}

    def lossless(self) -> "SpeedOptions":
        """These options with every lossy switch off."""
        return replace(self, **{name: next(f.default for f in fields(self) if f.name == name) for name in LOSSY})

    def windows_per_call(self, device: torch.device) -> int:
        """`window_batch`, with 0 resolved for the device."""
        return self.window_batch or (1 if device.type == "cuda" else 4)

    def guidance_at(self, guidance: GuidanceScales, step: int, steps: int) -> GuidanceScales:
        """CFG scales of one step: after cfg_cutoff of the steps only the conditional branch (scales 1, 1)."""
        return guidance if step < round(self.cfg_cutoff * steps) else replace(guidance, image=1.0, audio=1.0, audio_head=None)

    def autocast_context(self, device: torch.device):
        """torch.autocast for the model calls where the switch is on and the device is CUDA, else a no-op."""
        if self.autocast is None or device.type != "cuda":
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=AUTOCAST_DTYPES[self.autocast])


LOSSY = ("cfg_cutoff", "deep_cache_interval")


@dataclass(frozen=True)
class SpeedPreset:
    """A named speed setting: SpeedOptions and, for fewer steps, a scheduler (None: the sampler's) run for
    `step_share` of the asked steps."""

    name: str
    options: SpeedOptions = SpeedOptions()
    scheduler: str | None = None
    step_share: float = 1.0

    def steps(self, steps: int) -> int:
        """Steps run for `steps` asked."""
        return max(1, round(self.step_share * steps))

    def settings(self, settings):
        """SamplerSettings with this preset's scheduler and steps."""
        return replace(settings, steps=self.steps(settings.steps), scheduler=self.scheduler or settings.scheduler)

    def same_as(self, other: "SpeedPreset") -> bool:
        """The same sampling, whatever the names."""
        return (self.options, self.scheduler, self.step_share) == (other.options, other.scheduler, other.step_share)


#: The fastest option of bench/lossy_drift.py at 25 steps whose video stays within 35 dB PSNR of the lossless one on
#: the shipped demo model (`preset_cpu` in bench/results/step_time.json).
FAST_PRESET = SpeedPreset("fast", SpeedOptions(deep_cache_interval=2), "unipc", 0.3)
#: Presets by the name the render command and the benches use.
SPEED_PRESETS = {"lossless": SpeedPreset("lossless"), "fast": FAST_PRESET}


def apply_layout(model: torch.nn.Module, options: SpeedOptions) -> None:
    """Set the model-side lossless switches in place, either way: memory format, temporal layout, uncond split."""
    model.to(memory_format=torch.channels_last if options.channels_last else torch.contiguous_format)
    for module in model.modules():
        if isinstance(module, TemporalTransformer):
            module.contiguous_layout = options.contiguous_temporal
    bank = getattr(model, "bank", None)
    if bank is not None:
        bank.split_uncond = options.split_uncond_attention


def prepare_model(model: torch.nn.Module, options: SpeedOptions) -> torch.nn.Module:
    """`apply_layout`, then torch.compile of the denoising UNet where asked (once per model: it cannot be undone)."""
    apply_layout(model, options)
    if options.compile and not getattr(model, "compiled", False):
        model.denoising_unet.compile(mode=options.compile_mode, dynamic=False)
        model.compiled = True
    return model


def attention_kernels(model: torch.nn.Module) -> dict[str, int]:
    """Count of attention layers by how they attend: processor class name, or 'sdpa' for the temporal ones.

    The spatial self-attentions use the pack's reference processors (F.scaled_dot_product_attention), the
    cross-attentions diffusers' AttnProcessor2_0 (SDPA); any other name is a non-SDPA kernel.
    """
    counts: dict[str, int] = {}
    for module in model.modules():
        processor = getattr(module, "processor", None)
        name = type(processor).__name__ if processor is not None else None
        if isinstance(module, TemporalTransformer):
            name = "temporal_sdpa"
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    return counts


@contextlib.contextmanager
def offloaded_reference_net(model: torch.nn.Module, options: SpeedOptions, device: torch.device):
    """Low VRAM on CUDA: the ReferenceNet waits on the CPU while the denoiser runs (its features are computed
    once per video), and returns to `device` afterwards. A no-op elsewhere or when the switch is off."""
    if not (options.offload_reference and options.reference_once and device.type == "cuda"):
        yield
        return
    model.reference_net.to("cpu")
    torch.cuda.empty_cache()
    try:
        yield
    finally:
        model.reference_net.to(device)
