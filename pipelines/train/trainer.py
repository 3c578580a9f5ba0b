"""The training loop shared by the VAE and both model stages: AdamW, optional EMA of the weights, bf16 autocast on
CUDA, gradient clipping, progress and loss logging, and checkpoints that resume to the identical continuation.

All randomness of a step (batch choice, timesteps, noise, dropout) comes from one torch.Generator whose state is part
of the checkpoint; checkpoints hold tensors and plain values only and load with `weights_only=True`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"

#: step(generator) -> {'loss': tensor with grad, other scalars for the log}
LossStep = Callable[[torch.Generator], dict[str, torch.Tensor]]


@dataclass
class LoopSettings:
    steps: int
    lr: float = 2e-4
    weight_decay: float = 1e-2
    ema_decay: float = 0.0  # 0: no EMA
    grad_clip: float = 1.0
    warmup: int = 50
    log_every: int = 25
    save_every: int = 250
    seed: int = 0
    amp: bool = True  # bf16 autocast, CUDA only


class TrainingRun:
    """A model, its optimiser, EMA and generator, and the folder its checkpoint and log live in."""

    def __init__(self, model: torch.nn.Module, parameters: list[torch.nn.Parameter], settings: LoopSettings, folder: str | Path):
        self.model, self.settings, self.folder = model, settings, Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
        self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(settings.ema_decay), use_buffers=True) if settings.ema_decay > 0 else None
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.step = 0

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / CHECKPOINT

    def averaged(self) -> torch.nn.Module:
        """The weights to export: the EMA copy when there is one."""
        return self.ema.module if self.ema is not None else self.model

    def save(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "generator": self.generator.get_state(),
            "settings": asdict(self.settings),
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        partial = self.checkpoint_path.with_suffix(".partial")
        torch.save(state, partial)
        partial.replace(self.checkpoint_path)

    def resume(self) -> bool:
        """Continue from the folder's checkpoint, if there is one."""
        if not self.checkpoint_path.is_file():
            return False
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.generator.set_state(state["generator"])
        self.step = int(state["step"])
        return True

    def learning_rate(self) -> float:
        """Linear warm-up, then cosine decay to a tenth."""
        s = self.settings
        if self.step < s.warmup:
            return s.lr * (self.step + 1) / s.warmup
        progress = (self.step - s.warmup) / max(1, s.steps - s.warmup)
        return s.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))

    def train_step(self, loss_step: LossStep, device: torch.device) -> dict[str, float]:
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.settings.amp and device.type == "cuda")
        with autocast:
            parts = loss_step(self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.settings.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.step += 1
        return {**{k: float(v.detach()) for k, v in parts.items()}, "grad_norm": float(grad_norm)}


def run_loop(
    run: TrainingRun,
    loss_step: LossStep,
    device: torch.device,
    name: str,
    on_save: Callable[[TrainingRun], None] | None = None,
) -> list[dict[str, float]]:
    """Train until run.settings.steps, logging averages every log_every steps to stderr and log.jsonl, saving the
    checkpoint (and calling on_save) every save_every steps and at the end. Returns the logged records."""
    settings = run.settings
    run.model.train()
    records, window, began = [], [], time.monotonic()
    start_step = run.step
    with open(run.folder / LOG, "a") as log:
        while run.step < settings.steps:
            window.append(run.train_step(loss_step, device))
            if run.step % settings.log_every == 0 or run.step == settings.steps:
                record = {k: sum(r[k] for r in window) / len(window) for k in window[0]}
                elapsed = time.monotonic() - began
                rate = (run.step - start_step) / max(elapsed, 1e-9)
                record.update(step=run.step, lr=run.learning_rate(), steps_per_s=rate, elapsed_s=elapsed)
                records.append(record)
                log.write(json.dumps({"run": name, **record}) + "\n")
                log.flush()
                eta = (settings.steps - run.step) / max(rate, 1e-9)
                losses = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k not in ("step", "lr", "steps_per_s", "elapsed_s"))
                print(f"[{name}] step {run.step}/{settings.steps} {losses} | {rate:.2f} it/s, eta {eta / 60:.1f} min",
                      file=sys.stderr, flush=True)
                window = []
            if run.step % settings.save_every == 0 or run.step == settings.steps:
                run.save()
                if on_save is not None:
                    on_save(run)
    return records
