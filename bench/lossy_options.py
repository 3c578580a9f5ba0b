"""The lossy speed options the benches measure (bench/lossy_drift.py on the demo model, bench/step_time.py's
ablation at full size): each switch alone over a few settings, fewer steps with the multistep solvers, pairs of the
cheap ones, and the shipped `fast` preset."""

from __future__ import annotations

from dataclasses import replace

from pipelines.speed_options import FAST_PRESET, SpeedOptions, SpeedPreset

#: The least drift (PSNR of the decoded video against the lossless one) the `fast` preset may have, and where.
DRIFT_FLOOR_DB = 35.0
PRESET_STEPS = 25


def candidates() -> list[SpeedPreset]:
    """The options, in the order they are measured (the shipped FAST_PRESET is always among them)."""
    deep = {n: SpeedOptions(deep_cache_interval=n) for n in (2, 3, 4)}
    cutoff = {c: SpeedOptions(cfg_cutoff=c) for c in (0.9, 0.8, 0.6, 0.4)}
    options = [
        *(SpeedPreset(f"deep_cache_interval={n}", speed) for n, speed in deep.items()),
        *(SpeedPreset(f"cfg_cutoff={c}", speed) for c, speed in cutoff.items()),
        *(SpeedPreset(f"{solver} at {share:.0%} of the steps", SpeedOptions(), solver, share)
          for solver, shares in (("dpmpp_2m", (0.4, 0.3, 0.2)), ("unipc", (0.6, 0.4, 0.3, 0.2))) for share in shares),
        SpeedPreset("deep_cache_interval=2 + cfg_cutoff=0.9", replace(deep[2], cfg_cutoff=0.9)),
        *(SpeedPreset(f"{solver} at {share:.0%} + deep_cache_interval=2", deep[2], solver, share)
          for solver, share in (("unipc", 0.4), ("unipc", 0.3), ("unipc", 0.2), ("dpmpp_2m", 0.3))),
    ]
    return options if any(option.same_as(FAST_PRESET) for option in options) else [*options, FAST_PRESET]


def fastest_within_floor(rows: list[dict], steps: int = PRESET_STEPS, floor: float = DRIFT_FLOOR_DB) -> dict | None:
    """The fastest row at `steps` whose drift_psnr is at least `floor` dB (None: no option keeps it)."""
    kept = [r for r in rows if r["at_steps"] == steps and r["drift_psnr"] is not None and r["drift_psnr"] >= floor]
    return min(kept, key=lambda r: r["vs_lossless"], default=None)
