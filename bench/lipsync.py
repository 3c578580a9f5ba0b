"""Lip sync and region sliders of the shipped demo model, against a random-init model of the same config.

Held-out data: people the training never drew (style seeds 900000+) speaking fixed sentences it never spoke, in six
languages, three of which it never heard (cmn, ja, th); audio trimmed to --max-frames. Each video is generated as
the nodes do it (VAE-encoded reference, region masks at latent size, Whisper windows, shift fusion, 20 DDIM steps,
CFG 1.5 image / 2.5 audio: the settings recommended for this model), decoded by the shipped VAE and measured with
`pipelines.train.face_measures` inside boxes from the painter's geometry:
- lipsync_corr: Pearson correlation, per clip, of the mouth opening (luminance drop in the mouth box against the
  decoded reference) with the audio loudness level of each frame; mean over clips and per language;
- identity_mae: mean absolute RGB error of the frames to the decoded reference outside the mouth and eye boxes;
- region sliders (LinguaLinker Fig. 6) on the first --slider-clips clips, one slider at 0 / 1 / 2 with the others
  at 1: mouth motion (std over frames of the mouth opening), eye closure (mean above its median) and blink count,
  head motion (mean head offset in px, found by registering each frame's head onto the reference); mouth and eyes
  are measured on frames moved back by their head offset; reductions are 1 - value(0) / value(1).
`painted_*` numbers measure the painted ground-truth videos (what the training videos show for that audio).

Prints one JSON object and writes bench/results/lipsync.json (and lipsync_frames.png, a strip of frames).
Run from the repository root: .venv/bin/python -m bench.lipsync
"""

from __future__ import annotations

import argparse
import os
import time
from statistics import mean

import torch
import torchvision

from bench.report import RESULTS, report
from pipelines.audio.encoders import load_audio_encoder
from pipelines.guidance import GuidanceScales
from pipelines.model_files import load_portrait_model
from pipelines.portrait_model import PortraitModel
from pipelines.sampler import SamplerSettings
from pipelines.train.evaluation import talking_video
from pipelines.train.face_measures import FaceMeter, blink_count, pearson, translated
from pipelines.train.face_render import random_style, render_frames
from pipelines.train.motion_tracks import face_motion
from pipelines.train.speech import Utterance, held_out_utterances
from pipelines.train.tiny_vae import load_tiny_vae

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO_ROOT, "models_shipped")
HELD_OUT_STYLE_SEED = 900_000
FPS = 25.0
SIZE = 64
UNIT = {"head": 1.0, "mouth": 1.0, "eyes": 1.0}


def trimmed(utterance: Utterance, frames: int) -> Utterance:
    samples = min(utterance.wave.shape[0], round(frames * utterance.sample_rate / FPS))
    return Utterance(utterance.wave[:samples], utterance.sample_rate, utterance.voice, utterance.text)


def measure(meter: FaceMeter, frames: torch.Tensor, level: torch.Tensor) -> dict:
    offsets = meter.head_offsets(frames)
    aligned = translated(frames, offsets)
    mouth = meter.mouth_opening(aligned)
    eyes = meter.eye_closure(aligned)
    return {
        "lipsync_corr": pearson(mouth, level),
        "mouth_motion": float(mouth.std()),
        "eye_closure": float((eyes - eyes.median()).clamp(min=0).mean()),
        "blinks": blink_count(eyes),
        "head_motion_px": float(offsets.norm(dim=1).mean()),
        "identity_mae": meter.identity_error(aligned),
    }


def reduction(values: dict, key: str) -> float | None:
    """1 - value at slider 0 / value at slider 1; None when slider 1 shows none of it."""
    base = values["1"][key]
    return round(1.0 - values["0"][key] / base, 3) if base > 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(SHIPPED, "gated_portrait_tiny_demo.safetensors"))
    parser.add_argument("--vae", default=os.path.join(SHIPPED, "taesd_tiny_demo.safetensors"))
    parser.add_argument("--encoder", default=os.path.join(REPO_ROOT, "models", "audio_encoders", "whisper-tiny.en"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg-image", type=float, default=1.5)
    parser.add_argument("--cfg-audio", type=float, default=2.5)
    parser.add_argument("--max-frames", type=int, default=100)
    parser.add_argument("--slider-clips", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    began = time.monotonic()

    trained = load_portrait_model(args.model)
    torch.manual_seed(0)
    random_init = PortraitModel(trained.config).eval()
    vae = load_tiny_vae(args.vae)
    encoder = load_audio_encoder(args.encoder)
    settings = SamplerSettings(steps=args.steps, guidance=GuidanceScales(args.cfg_image, args.cfg_audio), seed=0)
    utterances = [trimmed(u, args.max_frames) for u in held_out_utterances()]

    clips, sliders, strip = [], {name: {} for name in UNIT}, []
    for index, utterance in enumerate(utterances):
        style = random_style(torch.Generator().manual_seed(HELD_OUT_STYLE_SEED + index), SIZE)
        level = utterance.envelope(FPS).level
        painted = render_frames(style, face_motion(utterance.envelope(FPS), UNIT, SIZE, FPS, torch.Generator().manual_seed(index)), SIZE)
        video = talking_video(trained, vae, encoder, style, utterance, UNIT, settings)
        meter = FaceMeter(style, SIZE, video.reference)
        record = {"voice": utterance.voice, "frames": int(level.shape[0])}
        record["trained"] = measure(meter, video.frames, level)
        record["random_init"] = measure(meter, talking_video(random_init, vae, encoder, style, utterance, UNIT, settings).frames, level)
        record["painted"] = measure(FaceMeter(style, SIZE), painted, level)
        clips.append(record)
        print(f"{utterance.voice}: {record}", flush=True)
        if index < 2:
            picks = torch.linspace(0, level.shape[0] - 1, 8).long()
            strip.append(torch.cat([painted[picks], video.frames[picks]]))
        if index < args.slider_clips:
            for name in UNIT:
                for value in (0.0, 2.0):
                    frames = talking_video(trained, vae, encoder, style, utterance, {**UNIT, name: value}, settings).frames
                    sliders[name].setdefault(str(int(value)), []).append(measure(meter, frames, level))
                sliders[name].setdefault("1", []).append(record["trained"])

    averaged = {name: {v: {k: mean(r[k] for r in runs) for k in runs[0]} for v, runs in values.items()} for name, values in sliders.items()}
    by_language = {c["voice"]: round(c["trained"]["lipsync_corr"], 3) for c in clips}
    result = {
        "model": os.path.relpath(args.model, REPO_ROOT),
        "vae": os.path.relpath(args.vae, REPO_ROOT),
        "encoder": os.path.relpath(args.encoder, REPO_ROOT),
        "settings": {"steps": args.steps, "scheduler": "ddim", "cfg_image": args.cfg_image, "cfg_audio": args.cfg_audio,
                     "long_video": "shift_fusion", "max_frames": args.max_frames, "image_size": SIZE},
        "lipsync_corr": round(mean(c["trained"]["lipsync_corr"] for c in clips), 3),
        "lipsync_corr_by_language": by_language,
        "lipsync_corr_random_init": round(mean(c["random_init"]["lipsync_corr"] for c in clips), 3),
        "lipsync_corr_painted_ground_truth": round(mean(c["painted"]["lipsync_corr"] for c in clips), 3),
        "identity_mae": round(mean(c["trained"]["identity_mae"] for c in clips), 4),
        "identity_mae_random_init": round(mean(c["random_init"]["identity_mae"] for c in clips), 4),
        "identity_mae_painted_ground_truth": round(mean(c["painted"]["identity_mae"] for c in clips), 4),
        "mouth_motion_by_scale": {v: round(r["mouth_motion"], 4) for v, r in averaged["mouth"].items()},
        "mouth_scale0_motion_reduction": reduction(averaged["mouth"], "mouth_motion"),
        "eye_closure_by_scale": {v: round(r["eye_closure"], 4) for v, r in averaged["eyes"].items()},
        "blinks_by_eye_scale": {v: r["blinks"] for v, r in averaged["eyes"].items()},
        "eyes_scale0_blink_reduction": reduction(averaged["eyes"], "blinks"),
        "eyes_scale0_closure_reduction": reduction(averaged["eyes"], "eye_closure"),
        "head_motion_px_by_scale": {v: round(r["head_motion_px"], 3) for v, r in averaged["head"].items()},
        "head_motion_ratio": {"0/1": round(averaged["head"]["0"]["head_motion_px"] / averaged["head"]["1"]["head_motion_px"], 3),
                              "2/1": round(averaged["head"]["2"]["head_motion_px"] / averaged["head"]["1"]["head_motion_px"], 3)},
        "clips": clips,
        "seconds": round(time.monotonic() - began, 1),
    }
    grid = torch.cat(strip)  # rows of 8: painted, generated, painted, generated
    torchvision.utils.save_image(torch.nn.functional.interpolate(grid, scale_factor=2, mode="nearest"), RESULTS / "lipsync_frames.png", nrow=8)
    report("lipsync", result)


if __name__ == "__main__":
    main()
