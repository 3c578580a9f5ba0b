"""Command line of the training pipeline in pipelines/train (paper 000 §4.1), run from the pack root:

    python -m apps.train vae   --out RUN/vae --steps 600
    python -m apps.train data  --vae RUN/vae/taesd_demo.safetensors --audio-encoder FOLDER --out RUN/clips.safetensors
    python -m apps.train fit   --data RUN/clips.safetensors --stage 1 --steps 1500 --out RUN/stage1
    python -m apps.train fit   --data RUN/clips.safetensors --stage 2 --steps 4000 --out RUN/stage2 \\
                                    --init RUN/stage1/model.safetensors
    python -m apps.train export --model RUN/stage2/model.safetensors --vae RUN/vae/taesd_demo.safetensors --out DIR
    python -m apps.train portrait --seed 123458 --out DIR/demo_portrait.png

Every training command resumes from OUT/checkpoint.pt when it exists (pass --fresh to start over), logs to stderr and
OUT/log.jsonl, and writes its result (OUT/taesd_demo.safetensors or OUT/model.safetensors) at every checkpoint.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from pipelines.conditions import LINGUALINKER_REGIONS
from pipelines.config import PortraitModelConfig
from pipelines.errors import CheckpointError
from pipelines.model_files import load_portrait_model, save_portrait_model
from pipelines.noise_schedulers import make_scheduler
from pipelines.portrait_model import PortraitModel
from pipelines.train.clip_cache import LatentClips, build_latent_clips
from pipelines.train.face_render import FaceMotion, feature_boxes, random_style, render_frames
from pipelines.train.objectives import diffusion_loss
from pipelines.train.speech import random_utterances
from pipelines.train.stages import sample_clip_indices, set_trainable, stage_batch
from pipelines.train.synthetic import SyntheticTalkingPortraits, random_portraits
from pipelines.train.tiny_vae import (
    downsampling_init, load_tiny_vae, new_tiny_vae, reconstruction_loss, region_pixel_weights, save_tiny_vae,
)
from pipelines.train.trainer import CHECKPOINT, LoopSettings, TrainingRun, run_loop

VAE_FILE = "taesd_demo.safetensors"
MODEL_FILE = "model.safetensors"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def loop_settings(args, **overrides) -> LoopSettings:
    values = dict(steps=args.steps, lr=args.lr, ema_decay=args.ema, log_every=args.log_every, save_every=args.save_every, seed=args.seed)
    values.update(overrides)
    return LoopSettings(**values)


def start_run(run: TrainingRun, fresh: bool) -> None:
    if fresh and run.checkpoint_path.is_file():
        run.checkpoint_path.unlink()
    if run.resume():
        log(f"resumed {run.checkpoint_path} at step {run.step}")


def command_vae(args) -> None:
    """Train the TAESD-layout autoencoder on random synthetic portraits (from a working low-resolution start, or
    from --init); --decoder-only keeps the encoder, and so the latent space a model was trained in, fixed."""
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    vae = (load_tiny_vae(args.init) if args.init else downsampling_init(new_tiny_vae())).to(device)
    vae.encoder.requires_grad_(not args.decoder_only)
    parameters = [p for p in vae.parameters() if p.requires_grad]
    run = TrainingRun(vae, parameters, loop_settings(args, warmup=20), args.out)
    start_run(run, args.fresh)

    weights = region_weight_indices(args.region_weight, LINGUALINKER_REGIONS)

    def loss_step(generator: torch.Generator):
        images, masks = random_portraits(generator, args.batch, args.size)
        pixel_weights = region_pixel_weights(masks, weights).to(device) if weights else None
        return reconstruction_loss(vae, images.to(device), generator, pixel_weights=pixel_weights)

    run_loop(run, loss_step, device, "vae", on_save=lambda r: save_tiny_vae(r.averaged(), Path(args.out) / VAE_FILE))
    log(f"VAE: {Path(args.out) / VAE_FILE}")


def command_data(args) -> None:
    """Speak, paint and encode the training clips once."""
    from pipelines.audio.encoders import load_audio_encoder

    device = pick_device(args.device)
    began = time.monotonic()
    utterances = random_utterances(args.utterances, args.seed)
    log(f"{len(utterances)} utterances spoken in {time.monotonic() - began:.0f} s")
    portraits = SyntheticTalkingPortraits(utterances, args.size, args.fps, args.clip_frames, args.seed)
    vae = load_tiny_vae(args.vae).to(device)
    encoder = load_audio_encoder(args.audio_encoder)

    def progress(done: int, total: int) -> None:
        if done % (10 * args.batch) < args.batch or done == total:
            log(f"[data] {done}/{total} clips, {time.monotonic() - began:.0f} s")

    clips = build_latent_clips(portraits, vae, encoder, args.clips, args.context_frames, args.batch, progress)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    clips.save(args.out)
    log(f"{len(clips)} clips -> {args.out}; info {clips.info}")


def model_for_data(args, clips: LatentClips) -> PortraitModel:
    """A new model from a named config, or the --init model, fitted to the data's audio encoder and latent scale."""
    info = clips.info
    if args.init:
        model = load_portrait_model(args.init)
        config = model.config
        found = (config.audio.encoder, [config.audio.context_frames, config.audio.feature_dim])
        if found != (info["encoder"], info["audio_feature_shape"]):
            raise SystemExit(f"--init model expects audio {found}, the data holds {info['encoder']} {info['audio_feature_shape']}")
        config.resolution = info.get("image_size", config.resolution)  # the pixels it learns at from now on
        if args.exclusive_masks and not config.audio.exclusive_masks:
            config.audio.exclusive_masks = True
            model = with_weights_of(PortraitModel(config), model)
        return model
    config = PortraitModelConfig.named(args.config)
    config.audio.encoder = info["encoder"]
    config.audio.context_frames, config.audio.feature_dim = info["audio_feature_shape"]
    config.latent_scale = info["latent_scale"]
    config.clip_length = info["clip_frames"]
    config.resolution = info.get("image_size", config.resolution)
    config.audio.exclusive_masks = args.exclusive_masks
    torch.manual_seed(args.seed)
    return PortraitModel(config)


def with_weights_of(model: PortraitModel, source: PortraitModel) -> PortraitModel:
    """`model` holding `source`'s weights (same parameters; configs may differ in options without weights)."""
    model.load_state_dict(source.state_dict(), strict=True)
    return model


def command_fit(args) -> None:
    """Stage 1 (image) or stage 2 (video) training of the portrait model on cached latent clips."""
    device = pick_device(args.device)
    clips = LatentClips.load(args.data)
    model = model_for_data(args, clips).to(device)
    config = model.config
    log(f"config: {config.to_json()}")
    parameters = set_trainable(model, args.stage, args.train_2d)
    log(f"stage {args.stage}: {sum(p.numel() for p in parameters) / 1e6:.2f} M trainable parameters, {len(clips)} clips")
    run = TrainingRun(model, parameters, loop_settings(args), args.out)
    start_run(run, args.fresh)
    scheduler = make_scheduler("ddim", config)
    region_weight_indices(args.region_weight, config.regions)
    weights = dict(args.region_weight)
    focus = focus_region_indices(args.focus_region, config.regions)

    def loss_step(generator: torch.Generator):
        indices = sample_clip_indices(clips.scales, args.batch, generator, focus, args.focus_share)
        batch = stage_batch(clips, indices, args.stage, config.latent_scale, generator, args.uncond_prob).to(device)
        return diffusion_loss(model, batch, scheduler, generator, weights if args.stage == 2 else {})

    run_loop(run, loss_step, device, f"stage{args.stage}", on_save=lambda r: save_portrait_model(r.averaged(), Path(args.out) / MODEL_FILE))
    log(f"model: {Path(args.out) / MODEL_FILE}")


def region_index(option: str, name: str, regions: tuple[str, ...]) -> int:
    """Index of a region a command-line option names, or an exit that names the option and the choices."""
    if name not in regions:
        raise SystemExit(f"{option} {name!r} is not one of the model's regions {list(regions)}")
    return regions.index(name)


def focus_region_indices(names: list[str] | None, regions: tuple[str, ...]) -> tuple[int, ...] | None:
    return None if not names else tuple(region_index("--focus-region", name, regions) for name in names)


def command_export(args) -> None:
    """Copy a trained model (as float16) and its VAE into a folder, e.g. the pack's shipped models."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_portrait_model(load_portrait_model(args.model, torch.float16), out / args.model_name)
    shutil.copyfile(args.vae, out / args.vae_name)
    log(f"exported {out / args.model_name} and {out / args.vae_name}")


def command_portrait(args) -> None:
    """Paint one synthetic person (style seed --seed) at rest as an RGB PNG, and print its face box (x, y, w, h)."""
    from PIL import Image

    style = random_style(torch.Generator().manual_seed(args.seed), args.size)
    frame = render_frames(style, FaceMotion.still(1), args.size)[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((frame.permute(1, 2, 0) * 255).round().byte().numpy()).save(args.out)
    face = feature_boxes(style).face
    log(f"{args.out}: face box {face.x0:.1f},{face.y0:.1f},{face.x1 - face.x0:.1f},{face.y1 - face.y0:.1f}")


def region_weight_indices(weights: list[tuple[str, float]], regions: tuple[str, ...]) -> dict[int, float]:
    """--region-weight pairs (name, w) -> {region index: w}; an unknown name exits naming the option and the regions."""
    return {region_index("--region-weight", name, regions): weight for name, weight in weights}


def region_weight(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    return name, float(value)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m apps.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    def training(sub: argparse.ArgumentParser, steps: int, lr: float, batch: int, ema: float) -> None:
        sub.add_argument("--out", required=True, help="run folder (checkpoint, log, result)")
        sub.add_argument("--steps", type=int, default=steps, help="total optimiser steps")
        sub.add_argument("--lr", type=float, default=lr, help="peak AdamW learning rate")
        sub.add_argument("--batch", type=int, default=batch, help="items per step")
        sub.add_argument("--ema", type=float, default=ema, help="EMA decay of the exported weights (0 = none)")
        sub.add_argument("--log-every", type=int, default=25)
        sub.add_argument("--save-every", type=int, default=250)
        sub.add_argument("--fresh", action="store_true", help=f"ignore an existing OUT/{CHECKPOINT}")

    root.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    root.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    root.add_argument("--seed", type=int, default=0)

    vae = commands.add_parser("vae", help=command_vae.__doc__)
    training(vae, steps=600, lr=5e-4, batch=8, ema=0.0)
    vae.add_argument("--size", type=int, default=64, help="image side in pixels")
    vae.add_argument("--init", help="start from this TAESD-layout VAE file")
    vae.add_argument("--decoder-only", action="store_true", help="train the decoder only (the latent space stays)")
    vae.add_argument("--region-weight", type=region_weight, nargs="*", default=[],
                     help="pixel-loss factors inside regions, e.g. eyes=8 (the eyelids of a 64 px face are a few pixels)")
    vae.set_defaults(run=command_vae)

    data = commands.add_parser("data", help=command_data.__doc__)
    data.add_argument("--vae", required=True, help="TAESD-layout VAE file (from the vae command)")
    data.add_argument("--audio-encoder", required=True, help="audio encoder folder (e.g. models/audio_encoders/whisper-tiny.en)")
    data.add_argument("--out", required=True, help="clip file to write (.safetensors)")
    data.add_argument("--clips", type=int, default=1500)
    data.add_argument("--utterances", type=int, default=120)
    data.add_argument("--size", type=int, default=64)
    data.add_argument("--fps", type=float, default=25.0)
    data.add_argument("--clip-frames", type=int, default=8)
    data.add_argument("--context-frames", type=int, default=5, help="audio context l (Whisper encoders use their own)")
    data.add_argument("--batch", type=int, default=16, help="clips per VAE encode batch")
    data.set_defaults(run=command_data)

    fit = commands.add_parser("fit", help=command_fit.__doc__)
    training(fit, steps=2000, lr=2e-4, batch=4, ema=0.995)
    fit.add_argument("--data", required=True, help="clip file from the data command")
    fit.add_argument("--stage", type=int, choices=(1, 2), required=True)
    fit.add_argument("--config", default="tiny", help="named config in pipelines/configs for a new model")
    fit.add_argument("--init", help="start from this pack-native model (stage 2 starts from stage 1's)")
    fit.add_argument("--train-2d", action="store_true", help="stage 2 also trains the stage 1 networks")
    fit.add_argument("--exclusive-masks", action="store_true",
                     help="region gates start from exclusive masks (head minus mouth and eyes); turns it on for --init too")
    fit.add_argument("--focus-region", nargs="+",
                     help="oversample clips where one of these regions (e.g. mouth, or mouth eyes) moves less than another")
    fit.add_argument("--focus-share", type=float, default=0.35,
                     help="with --focus-region: share of batch rows drawn from those clips (0 = off)")
    fit.add_argument("--uncond-prob", type=float, default=0.1, help="rows without reference and audio (CFG)")
    fit.add_argument("--region-weight", type=region_weight, nargs="*", default=[("mouth", 1.0), ("eyes", 1.0)],
                     help="extra region losses, e.g. mouth=1 eyes=1")
    fit.set_defaults(run=command_fit)

    export = commands.add_parser("export", help=command_export.__doc__)
    export.add_argument("--model", required=True)
    export.add_argument("--vae", required=True)
    export.add_argument("--out", required=True)
    export.add_argument("--model-name", default="gated_portrait_tiny_demo.safetensors")
    export.add_argument("--vae-name", default="taesd_tiny_demo.safetensors")
    export.set_defaults(run=command_export)

    portrait = commands.add_parser("portrait", help=command_portrait.__doc__)
    portrait.add_argument("--seed", type=int, required=True, help="style seed (the demo portrait: 123458)")
    portrait.add_argument("--size", type=int, default=64)
    portrait.add_argument("--out", required=True, help="PNG file to write")
    portrait.set_defaults(run=command_portrait)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        args.run(args)
    except CheckpointError as error:  # a missing or foreign input file: its message names the file and the fix
        raise SystemExit(str(error)) from error


if __name__ == "__main__":
    main()
