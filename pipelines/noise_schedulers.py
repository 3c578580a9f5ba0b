"""Diffusers noise schedulers for the model's prediction type and training noise schedule."""

from __future__ import annotations

import inspect

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    UniPCMultistepScheduler,
)

from .config import PortraitModelConfig
from .errors import PortraitInputError

#: Widget names -> scheduler classes. DDIM is the default of Hallo and LinguaLinker.
SCHEDULERS = {
    "ddim": DDIMScheduler,
    "euler": EulerDiscreteScheduler,
    "dpmpp_2m": DPMSolverMultistepScheduler,
    "unipc": UniPCMultistepScheduler,
}


def make_scheduler(name: str, config: PortraitModelConfig):
    """A fresh scheduler of the given kind, configured like the model's training schedule."""
    if name not in SCHEDULERS:
        raise PortraitInputError("scheduler", f"unknown scheduler '{name}'", f"pick one of {sorted(SCHEDULERS)}")
    settings = dict(config.scheduler, prediction_type=config.prediction_type)
    if name == "ddim":
        settings = {"clip_sample": False, "set_alpha_to_one": False, **settings}  # the config's own values win
    if name in ("dpmpp_2m", "unipc") and settings.get("rescale_betas_zero_snr"):
        settings["final_sigmas_type"] = "zero"
    cls = SCHEDULERS[name]
    accepted = set(inspect.signature(cls.__init__).parameters)
    return cls(**{k: v for k, v in settings.items() if k in accepted})
