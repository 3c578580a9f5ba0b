"""Quality of the shipped demo model: lip sync, identity, region sliders and seams of long videos.

Held-out data: people the training never drew (style seeds 900000+) speaking fixed sentences it never spoke, in six
languages, three of which it never heard (cmn, ja, th); audio trimmed to --max-frames. Each video is generated as
the nodes do it (VAE-encoded reference, region masks at latent size, Whisper windows, 20 DDIM steps, CFG 1.5 image /
2.5 audio: the settings recommended for this model), decoded by the shipped VAE and measured with
`pipelines.train.face_measures` inside boxes from the painter's geometry:
- lipsync_corr: Pearson correlation, per clip, of the mouth opening (luminance drop in the mouth box against the
  decoded reference) with the audio loudness level of each frame; mean over clips and per language;
- identity_mae: mean absolute RGB error of the frames to the decoded reference outside the mouth and eye boxes;
- region sliders (LinguaLinker Fig. 6) on the first --slider-clips clips, one slider at 0 / 1 / 2 with the others at
  1: mouth motion (std over frames of the mouth opening: includes the flicker of a blurry tiny model), mouth sync
  amplitude (least-squares slope of the mouth opening on the loudness level: the motion that follows the audio), eye
  closure (mean above its median) and blink count, head motion (mean head offset in px, found by registering each
  frame's head onto the reference); mouth and eyes are measured on frames moved back by their head offset; reductions
  are 1 - value(0) / value(1); blink counts are summed over the slider clips (the first four paint 5 blinks in 400
  frames);
- seam_jump: one held-out person speaking --seam-seconds of concatenated held-out sentences, sampled as independent
  clips (shift fusion with alpha 0: the consecutive windows [0, f), [f, 2f), ... at every step) and with shift
  fusion (alpha 7); jump = mean absolute RGB change between consecutive frames, averaged over the frame pairs that
  straddle a clip boundary of the independent grid (frame f k - 1 -> f k) and over all other pairs ("inside");
  ratio = boundary / inside (1: seams invisible).
`painted_*` numbers measure the painted ground-truth videos (what the training videos show for that audio),
`*_random_init` a random-init model of the same config.

Prints one JSON object and writes bench/results/quality.json (quality_sliders.png: 8 frames of the first clip with
all sliders at 1, then head, mouth and eyes at 0; and quality_frames.png: painted rows above generated
rows); --quick (short clips, three languages, 8 s of seam audio, fewer steps) writes quality_quick.json instead.
Run from the repository root: .venv/bin/python -m bench.quality [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from statistics import mean

import torch
import torchvision

from bench.report import RESULTS, report
from pipelines.animate import AnimateSettings
from pipelines.audio.encoders import load_audio_encoder
from pipelines.guidance import GuidanceScales
from pipelines.model_files import load_portrait_model
from pipelines.portrait_model import PortraitModel
from pipelines.region_scales import RegionScales
from pipelines.sampler import LongVideoOptions, SamplerSettings
from pipelines.train.evaluation import talking_video
from pipelines.train.face_measures import FaceMeter, blink_count, pearson, translated
from pipelines.train.face_render import FaceStyle, random_style, render_frames
from pipelines.train.motion_tracks import face_motion
from pipelines.train.speech import HELD_OUT_SENTENCES, Utterance, held_out_utterances
from pipelines.train.tiny_vae import load_tiny_vae

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO_ROOT, "models_shipped")
HELD_OUT_STYLE_SEED = 900_000
FPS = 25.0
SIZE = 64
UNIT = {"head": 1.0, "mouth": 1.0, "eyes": 1.0}
NO_BLINKS = "no blinks at eye scale 1 to remove (bench/vae_roundtrip.py: which painted blinks the VAE alone keeps)"
INDEPENDENT = LongVideoOptions(alpha=0)  # consecutive clips, the same grid every step: nothing joins them
SHIFT_FUSION = LongVideoOptions()


def trimmed(utterance: Utterance, frames: int) -> Utterance:
    samples = min(utterance.wave.shape[0], round(frames * utterance.sample_rate / FPS))
    return Utterance(utterance.wave[:samples], utterance.sample_rate, utterance.voice, utterance.text)


def concatenated(utterances: list[Utterance], seconds: float) -> Utterance:
    """The utterances one after another (repeated as needed), cut to `seconds`."""
    rate = utterances[0].sample_rate
    waves, total = [], 0
    while total < seconds * rate:
        for utterance in utterances:
            waves.append(utterance.wave)
            total += utterance.wave.shape[0]
    wave = torch.cat(waves)[: round(seconds * rate)]
    return Utterance(wave, rate, "+".join(u.voice for u in utterances), "")


def held_out_person(index: int) -> FaceStyle:
    """The held-out person of clip `index` (style seeds the training never drew)."""
    return random_style(torch.Generator().manual_seed(HELD_OUT_STYLE_SEED + index), SIZE)


def painted_clip(index: int, utterance: Utterance) -> tuple[FaceStyle, torch.Tensor, torch.Tensor]:
    """Held-out clip `index`: its person, the loudness level per frame (f) and the painted truth (f 3 h w)."""
    style = held_out_person(index)
    motion = face_motion(utterance.envelope(FPS), UNIT, SIZE, FPS, torch.Generator().manual_seed(index))
    return style, utterance.envelope(FPS).level, render_frames(style, motion, SIZE)


def measure(meter: FaceMeter, frames: torch.Tensor, level: torch.Tensor) -> dict:
    offsets = meter.head_offsets(frames)
    aligned = translated(frames, offsets)
    mouth = meter.mouth_opening(aligned)
    eyes = meter.eye_closure(aligned)
    return {
        "lipsync_corr": pearson(mouth, level),
        "mouth_motion": float(mouth.std()),
        "mouth_sync_amplitude": regression_slope(mouth, level),
        "eye_closure": float((eyes - eyes.median()).clamp(min=0).mean()),
        "blinks": blink_count(eyes),
        "head_motion_px": float(offsets.norm(dim=1).mean()),
        "identity_mae": meter.identity_error(aligned),
    }


def regression_slope(values: torch.Tensor, level: torch.Tensor) -> float:
    """Least-squares slope of f values on the f loudness levels: the part of the motion that follows the audio."""
    level = level.double() - level.double().mean()
    return float((values.double() - values.double().mean()).mul(level).sum() / level.square().sum().clamp(min=1e-12))


def seam_jumps(frames: torch.Tensor, clip_length: int) -> dict:
    """Frames f 3 h w -> mean frame-to-frame change at the independent grid's clip boundaries, inside, their ratio."""
    jumps = (frames[1:] - frames[:-1]).abs().mean(dim=(1, 2, 3))  # pair i: frame i -> i + 1
    at_boundary = (torch.arange(1, frames.shape[0]) % clip_length) == 0
    boundary, inside = float(jumps[at_boundary].mean()), float(jumps[~at_boundary].mean())
    return {"boundary": round(boundary, 4), "inside": round(inside, 4), "ratio": round(boundary / inside, 3)}


def reduction(values: dict, key: str) -> float | None:
    """1 - value at slider 0 / value at slider 1; None when slider 1 shows none of it."""
    base = values["1"][key]
    return round(1.0 - values["0"][key] / base, 3) if base > 0 else None


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(SHIPPED, "gated_portrait_tiny_demo.safetensors"))
    parser.add_argument("--vae", default=os.path.join(SHIPPED, "taesd_tiny_demo.safetensors"))
    parser.add_argument("--encoder", default=os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg-image", type=float, default=1.5)
    parser.add_argument("--cfg-audio", type=float, default=2.5)
    parser.add_argument("--cfg-audio-head", type=float, default=0.0, help="audio guidance outside the mouth (0: --cfg-audio)")
    parser.add_argument("--max-frames", type=int, default=100, help="frames per held-out clip")
    parser.add_argument("--slider-clips", type=int, default=4,
                        help="held-out clips the sliders are measured on (4: blinks are sparse, 2 clips paint only 3)")
    parser.add_argument("--seam-seconds", type=float, default=60.0)
    parser.add_argument("--seam-steps", type=int, default=10, help="denoising steps of the two long videos")
    parser.add_argument("--quick", action="store_true", help="40-frame clips in en/fr/ja, 8 s seam audio, 6 steps")
    parser.add_argument("--name", help="result name in bench/results (default quality, or quality_quick)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-regional-guidance", action="store_true",
                        help="the sliders act inside the model only (no per-region weighting of the audio guidance)")
    args = parser.parse_args()
    args.voices = tuple(HELD_OUT_SENTENCES)
    if args.quick:
        args.steps, args.max_frames, args.slider_clips, args.seam_seconds, args.seam_steps = 6, 40, 1, 8.0, 6
        args.voices = ("en", "fr", "ja")
    args.name = args.name or ("quality_quick" if args.quick else "quality")
    return args


def save_strip(frames: torch.Tensor, path) -> None:
    """n c h w frames in 0..1 -> a PNG of rows of 8, each frame doubled in size."""
    torchvision.utils.save_image(torch.nn.functional.interpolate(frames, scale_factor=2, mode="nearest"), path, nrow=8)


def main() -> None:
    args = arguments()
    torch.set_num_threads(args.threads)
    began = time.monotonic()

    trained = load_portrait_model(args.model)
    torch.manual_seed(0)
    random_init = PortraitModel(trained.config).eval()
    vae = load_tiny_vae(args.vae)
    encoder = load_audio_encoder(args.encoder)
    settings = SamplerSettings(steps=args.steps, guidance=GuidanceScales(args.cfg_image, args.cfg_audio, regional=not args.no_regional_guidance, audio_head=args.cfg_audio_head or None), seed=0)
    full_utterances = held_out_utterances(args.voices)
    utterances = [trimmed(u, args.max_frames) for u in full_utterances]

    def video(model, style, utterance, region_scales=RegionScales(), run_settings=settings, long_video=SHIFT_FUSION):
        return talking_video(model, vae, encoder, style, utterance, region_scales, AnimateSettings(run_settings, long_video))

    clips, sliders, strip = [], {name: {} for name in UNIT}, []
    for index, utterance in enumerate(utterances):
        style, level, painted = painted_clip(index, utterance)
        generated = video(trained, style, utterance)
        meter = FaceMeter(style, SIZE, generated.reference)
        record = {"voice": utterance.voice, "frames": int(level.shape[0])}
        record["trained"] = measure(meter, generated.frames, level)
        record["random_init"] = measure(meter, video(random_init, style, utterance).frames, level)
        record["painted"] = measure(FaceMeter(style, SIZE), painted, level)
        clips.append(record)
        print(f"{utterance.voice}: {record}", flush=True)
        if index < 2:
            picks = torch.linspace(0, level.shape[0] - 1, 8).long()
            strip.append(torch.cat([painted[picks], generated.frames[picks]]))
        if index < args.slider_clips:
            if index == 0:
                picks = torch.linspace(0, level.shape[0] - 1, 8).long()
                slider_rows = [generated.frames[picks]]
            for name in UNIT:
                for value in (0.0, 2.0):
                    frames = video(trained, style, utterance, RegionScales(**{**UNIT, name: value})).frames
                    sliders[name].setdefault(str(int(value)), []).append(measure(meter, frames, level))
                    if index == 0 and value == 0.0:
                        slider_rows.append(frames[picks])
                sliders[name].setdefault("1", []).append(record["trained"])

    long_speech = concatenated(full_utterances, args.seam_seconds)
    long_style = held_out_person(len(utterances))
    long_level = long_speech.envelope(FPS).level
    long_settings = SamplerSettings(args.seam_steps, guidance=settings.guidance, seed=0)
    seam = {}
    for name, options in (("independent", INDEPENDENT), ("shift_fusion", SHIFT_FUSION)):
        long_video = video(trained, long_style, long_speech, run_settings=long_settings, long_video=options)
        measured = measure(FaceMeter(long_style, SIZE, long_video.reference), long_video.frames, long_level)
        seam[name] = {**seam_jumps(long_video.frames, trained.config.clip_length),
                      "lipsync_corr": round(measured["lipsync_corr"], 3), "identity_mae": round(measured["identity_mae"], 4)}
        print(f"seam {name}: {seam[name]}", flush=True)

    averaged = {name: {v: {k: mean(r[k] for r in runs) for k in runs[0]} for v, runs in values.items()} for name, values in sliders.items()}
    head = averaged["head"]
    result = {
        "model": os.path.relpath(args.model, REPO_ROOT),
        "vae": os.path.relpath(args.vae, REPO_ROOT),
        "encoder": os.path.relpath(args.encoder, REPO_ROOT),
        "settings": {"steps": args.steps, "scheduler": "ddim", "cfg_image": args.cfg_image, "cfg_audio": args.cfg_audio, "cfg_audio_head": args.cfg_audio_head,
                     "long_video": "shift_fusion", "max_frames": args.max_frames, "image_size": SIZE,
                     "slider_clips": args.slider_clips, "seam_seconds": args.seam_seconds, "seam_steps": args.seam_steps},
        "lipsync_corr": round(mean(c["trained"]["lipsync_corr"] for c in clips), 3),
        "lipsync_corr_by_language": {c["voice"]: round(c["trained"]["lipsync_corr"], 3) for c in clips},
        "lipsync_corr_random_init": round(mean(c["random_init"]["lipsync_corr"] for c in clips), 3),
        "lipsync_corr_painted_ground_truth": round(mean(c["painted"]["lipsync_corr"] for c in clips), 3),
        "identity_mae": round(mean(c["trained"]["identity_mae"] for c in clips), 4),
        "identity_mae_random_init": round(mean(c["random_init"]["identity_mae"] for c in clips), 4),
        "identity_mae_painted_ground_truth": round(mean(c["painted"]["identity_mae"] for c in clips), 4),
        "mouth_motion_by_scale": {v: round(r["mouth_motion"], 4) for v, r in averaged["mouth"].items()},
        "mouth_scale0_motion_reduction": reduction(averaged["mouth"], "mouth_motion"),
        "mouth_sync_amplitude_by_scale": {v: round(r["mouth_sync_amplitude"], 4) for v, r in averaged["mouth"].items()},
        "mouth_scale0_sync_reduction": reduction(averaged["mouth"], "mouth_sync_amplitude"),
        "eye_closure_by_scale": {v: round(r["eye_closure"], 4) for v, r in averaged["eyes"].items()},
        "blinks_by_eye_scale": {v: r["blinks"] for v, r in averaged["eyes"].items()},
        "eyes_scale0_blink_reduction": reduction(averaged["eyes"], "blinks"),
        "eyes_scale0_blink_reduction_null_because": NO_BLINKS if averaged["eyes"]["1"]["blinks"] == 0 else None,
        "eyes_scale0_closure_reduction": reduction(averaged["eyes"], "eye_closure"),
        "head_motion_px_by_scale": {v: round(r["head_motion_px"], 3) for v, r in head.items()},
        "head_motion_ratio": {"0/1": round(head["0"]["head_motion_px"] / head["1"]["head_motion_px"], 3),
                              "2/1": round(head["2"]["head_motion_px"] / head["1"]["head_motion_px"], 3)},
        "seam_jump": seam,
        "clips": clips,
        "seconds": round(time.monotonic() - began, 1),
    }
    grid = torch.cat(strip)  # rows of 8: painted, generated, painted, generated
    save_strip(grid, RESULTS / f"{args.name}_frames.png")
    if args.slider_clips:
        save_strip(torch.cat(slider_rows), RESULTS / f"{args.name}_sliders.png")  # rows: all 1, head 0, mouth 0, eyes 0
    report(args.name, result)


if __name__ == "__main__":
    main()
