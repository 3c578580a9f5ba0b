"""Speed presets: what `fast` changes, that it is the option bench/lossy_drift.py chose (the fastest keeping 35 dB
at 25 steps on the demo model, as recorded in bench/results/step_time.json), and that it keeps 35 dB here."""

from __future__ import annotations

import json
from pathlib import Path

from audio_speech import WHISPER_TINY_EN, needs_espeak, needs_whisper_tiny
from bench.lossy_options import DRIFT_FLOOR_DB, PRESET_STEPS, candidates, fastest_within_floor
from apps.render import animate_settings, parse_args
from pipelines.animate import AnimateSettings, preset_settings
from pipelines.sampler import LongVideoOptions, SamplerSettings
from pipelines.speed_options import FAST_PRESET, SPEED_PRESETS, SpeedOptions, SpeedPreset

RECORDED = Path(__file__).resolve().parents[1] / "bench" / "results" / "step_time.json"


def test_fast_preset_runs_fewer_multistep_solver_steps_with_deep_cache_and_lossless_changes_nothing():
    asked = SamplerSettings(steps=25, scheduler="ddim")
    fast = FAST_PRESET.settings(asked)
    assert (fast.steps, fast.scheduler, fast.guidance, fast.seed) == (8, "unipc", asked.guidance, asked.seed)
    assert FAST_PRESET.options.lossy() == {"deep_cache_interval": 2}
    assert FAST_PRESET.options.lossless() == SpeedOptions()
    assert SPEED_PRESETS["lossless"].settings(asked) == asked and SPEED_PRESETS["lossless"].options == SpeedOptions()
    assert FAST_PRESET.steps(1) == 1  # never zero steps


def test_the_shipped_fast_preset_is_among_the_measured_options_once():
    assert sum(option.same_as(FAST_PRESET) for option in candidates()) == 1
    assert not SpeedPreset("fast", FAST_PRESET.options).same_as(FAST_PRESET)  # the scheduler and steps differ


def test_fast_preset_is_the_fastest_recorded_option_keeping_35_db_at_25_steps():
    result = json.loads(RECORDED.read_text())
    rows = result["lossy_drift_cpu"]
    assert {r["option"] for r in rows if r["at_steps"] == PRESET_STEPS} == {c.name for c in candidates()}
    assert all(r["drift_psnr"] is not None and r["vs_lossless"] > 0 for r in rows)
    chosen = result["preset_cpu"]
    assert chosen == {key: fastest_within_floor(rows)[key] for key in chosen}
    assert chosen["drift_psnr"] >= DRIFT_FLOOR_DB and chosen["vs_lossless"] < 1
    shipped = (FAST_PRESET.scheduler or "ddim", FAST_PRESET.steps(PRESET_STEPS), FAST_PRESET.options.lossy())
    assert (chosen["scheduler"], chosen["steps"], chosen["lossy"]) == shipped


@needs_espeak
@needs_whisper_tiny
def test_fast_preset_keeps_35_db_on_the_demo_model_at_25_steps():
    """The bench's held-out clip: the preset's video against the lossless one of the same seed."""
    from bench.lossy_drift import DEMO_FRAMES, DemoClip
    from bench.step_measure import psnr

    clip = DemoClip.load(DEMO_FRAMES, WHISPER_TINY_EN)
    lossless, _ = clip.sample(SPEED_PRESETS["lossless"], PRESET_STEPS, repeats=1)
    fast, _ = clip.sample(FAST_PRESET, PRESET_STEPS, repeats=1)
    assert fast.shape == lossless.shape == (DEMO_FRAMES, 3, 64, 64)
    assert DRIFT_FLOOR_DB <= psnr(fast, lossless, peak=1.0) < 60  # close, but not the lossless video


def test_the_node_and_the_render_command_apply_a_preset_the_same_way():
    """preset_settings is what GatedUNetSample's `speed` widget and `render --speed` both call."""
    asked, long_video = SamplerSettings(steps=25, scheduler="ddim", seed=3), LongVideoOptions(alpha=5)
    fast = preset_settings("fast", asked, long_video, compile=True)
    assert fast.sampling == FAST_PRESET.settings(asked) and fast.long_video == long_video
    assert fast.speed.deep_cache_interval == 2 and fast.speed.compile is True
    assert preset_settings("lossless", asked, long_video) == AnimateSettings(asked, long_video, SpeedOptions())
    args = parse_args(["--portrait", "p", "--audio", "a", "--model", "m", "--audio-encoder", "e", "--vae", "v",
                       "--output", "o", "--steps", "25", "--seed", "3", "--alpha", "5", "--speed", "fast",
                       "--compile"])
    assert animate_settings(args).sampling.steps == 8 and animate_settings(args).speed == fast.speed
