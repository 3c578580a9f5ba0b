"""What the shipped VAE alone keeps of the held-out ground truth: painted videos encoded and decoded, measured like
bench/quality.py measures generated ones (a ceiling for any model that works in this latent space).

    .venv/bin/python -m bench.vae_roundtrip [--vae FILE --name vae_roundtrip_mine]

Per held-out clip (bench/quality.py's people, sentences and 100 frames): lip-sync correlation, blinks and eye closure
of the painted frames and of the same frames through the VAE; plus, for four held-out people, the closure a fully
shut eye decodes to (1 = as painted). One JSON object to stdout and bench/results/vae_roundtrip.json;
vae_roundtrip_eyes.png shows those four people (rows) painted at rest and eyes shut, then both through the VAE.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F
import torchvision

from bench.quality import SHIPPED, SIZE, held_out_person, measure, painted_clip, trimmed
from bench.report import RESULTS, report
from pipelines.train.face_measures import FaceMeter
from pipelines.train.face_render import FaceMotion, FaceStyle, render_frames
from pipelines.train.speech import HELD_OUT_SENTENCES, held_out_utterances
from pipelines.train.tiny_vae import decode_latents, encode_images, load_tiny_vae


def through(vae, frames: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return decode_latents(vae, encode_images(vae, frames))


def shut_eyes_through(vae, style: FaceStyle) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The person at rest and with eyes shut, painted (2 3 h w) and through the VAE (2 3 h w), and the closure the
    decoded shut eyes measure against the decoded rest pose (1 = as painted)."""
    shut = FaceMotion.still(1)
    shut.eye_closure = torch.tensor([1.0])
    painted_pair = torch.cat([render_frames(style, FaceMotion.still(1), SIZE), render_frames(style, shut, SIZE)])
    decoded = through(vae, painted_pair)
    return painted_pair, decoded, float(FaceMeter(style, SIZE, decoded[0]).eye_closure(decoded[1:])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", default=os.path.join(SHIPPED, "taesd_tiny_demo.safetensors"))
    parser.add_argument("--max-frames", type=int, default=100)
    parser.add_argument("--name", default="vae_roundtrip", help="result name in bench/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    vae = load_tiny_vae(args.vae)
    clips = []
    for index, utterance in enumerate(held_out_utterances(tuple(HELD_OUT_SENTENCES))):
        utterance = trimmed(utterance, args.max_frames)
        style, level, painted = painted_clip(index, utterance)
        rest = through(vae, render_frames(style, FaceMotion.still(1), SIZE))[0]
        painted_measures = measure(FaceMeter(style, SIZE), painted, level)
        vae_measures = measure(FaceMeter(style, SIZE, rest), through(vae, painted), level)
        clips.append({"voice": utterance.voice, **{f"painted_{k}": round(painted_measures[k], 4) for k in ("lipsync_corr", "blinks", "eye_closure")},
                      **{f"through_vae_{k}": round(vae_measures[k], 4) for k in ("lipsync_corr", "blinks", "eye_closure")}})
    shut_eye, pictures = [], []
    for index in range(4):
        painted_pair, decoded, closure = shut_eyes_through(vae, held_out_person(index))
        shut_eye.append(round(closure, 3))
        pictures += [painted_pair, decoded]
    grid = F.interpolate(torch.cat(pictures), scale_factor=4, mode="nearest")
    torchvision.utils.save_image(grid, RESULTS / f"{args.name}_eyes.png", nrow=4, padding=2)
    report(args.name, {
        "vae": os.path.relpath(args.vae, os.path.dirname(SHIPPED)),
        "blinks_painted": sum(c["painted_blinks"] for c in clips),
        "blinks_through_vae": sum(c["through_vae_blinks"] for c in clips),
        "lipsync_corr_painted": round(sum(c["painted_lipsync_corr"] for c in clips) / len(clips), 3),
        "lipsync_corr_through_vae": round(sum(c["through_vae_lipsync_corr"] for c in clips) / len(clips), 3),
        "shut_eye_decoded_closure": shut_eye,
        "clips": clips,
    })


if __name__ == "__main__":
    main()
