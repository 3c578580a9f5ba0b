"""Build tests/fixtures/hallo_parity.safetensors by running Hallo's ORIGINAL inference code at a tiny size.

Hallo's released source (github.com/fudan-generative-vision/hallo, commit HALLO_COMMIT) is imported unchanged from
a copy outside the repository; nothing of it is copied into the pack. The fixture holds seeded random weights (fp16-exact
values, run in fp32) in net.pth naming, the inputs, and Hallo's outputs: the denoiser's first CFG-batch forward and the latents after every
DDIM step of FaceAnimatePipeline (3 steps, CFG 3.5, one 8-frame clip with 2 motion frames), for a first clip (the
reference as motion frames, sliders 1) and a later clip (two other motion frames, pose/face/lip 0.8/1.1/1.3), plus
two variants of the later clip that measure what the pack still does differently (masks resized bilinearly as
Hallo's image processor does; motion frames decoded and re-encoded by the VAE as Hallo's clip loop does).

Environment it was built in (a throwaway venv, never the pack's):

    python3.11 -m venv /tmp/hallo_env
    echo /work/main/.venv/lib/python3.11/site-packages > /tmp/hallo_env/lib/python3.11/site-packages/zz_shared_torch.pth
    /tmp/hallo_env/bin/pip install diffusers==0.27.2 huggingface_hub==0.23.4 accelerate==0.28.0 omegaconf==2.3.0 \
        transformers==4.39.2
    git -C <hallo clone> archive 8fd7c57 hallo | tar -x -C /tmp/hallo_src
    /tmp/hallo_env/bin/python scripts/make_hallo_parity_fixture.py /tmp/hallo_src tests/fixtures/hallo_parity.safetensors

Hallo pins diffusers 0.27.2, accelerate 0.28.0, transformers 4.39.2 (diffusers 0.27.2 fails to import beside a newer
transformers); torch is the pack's (2.13.0, CPU, fp32), numpy 2.4.6, Python 3.11.7. `xformers` is stubbed as an empty
module (Hallo's motion module imports it; inference does not call it). The versions actually used are written into the
fixture's metadata (`environment`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HALLO_COMMIT = "8fd7c57"
SIZE = 128  # pixels; latents are SIZE / 8
FRAMES = 8
MOTION_FRAMES = 2
STEPS = 3
CFG = 3.5
SEED = 42
LATER_SCALES = (0.8, 1.1, 1.3)  # pose, face, lip

#: The pack's PortraitModelConfig of the fixture: Hallo's layout (configs/hallo.json) at tiny widths.
PACK_CONFIG = {
    "unet": {"in_channels": 4, "out_channels": 4, "block_out_channels": [32, 32, 32, 32], "layers_per_block": 1,
             "attention_heads": 2, "cross_attention_dim": 16, "norm_num_groups": 32},
    "motion": {"heads": 2, "max_frames": 32, "skip_blocks": ["down_blocks.3", "up_blocks.0"], "reference_motion_frames": 2},
    "audio": {"encoder": "wav2vec2_stacked", "context_frames": 5, "feature_dim": 48, "hidden_dim": 16, "tokens": 4,
              "heads": 2, "module": "hallo", "width_rule": "block_in"},
    "identity": {"tokens": 2, "hidden_dim": 16, "source": "face_embedding", "embedding_dim": 512},
    "face_locator": {"enabled": True, "input_channels": 3, "channels": [4, 4, 8, 8]},
    "regions": ["pose", "expression", "lip"],
    "clip_length": FRAMES,
    "latent_scale": 0.18215,
    "prediction_type": "v_prediction",
    "uncond_branch": "hallo",
    "scheduler": {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "linear", "rescale_betas_zero_snr": True,
                  "timestep_spacing": "trailing", "num_train_timesteps": 1000, "set_alpha_to_one": True},
}


def import_hallo(source: Path) -> None:
    """Put Hallo's unchanged source and an empty `xformers` stand-in on sys.path."""
    stubs = Path(tempfile.mkdtemp(prefix="xformers_stub_"))
    (stubs / "xformers").mkdir()
    (stubs / "xformers" / "__init__.py").write_text("")
    (stubs / "xformers" / "ops.py").write_text("")
    sys.path[:0] = [str(source), str(stubs)]


def build_networks(torch, folder: Path):
    """Hallo's five networks at the fixture's size, built as scripts/inference.py builds them (an SD-layout UNet
    folder read by both UNet classes), then seeded: every weight jittered, the zero-initialised ones woken."""
    from diffusers import UNet2DConditionModel as StockUNet
    from hallo.models.audio_proj import AudioProjModel
    from hallo.models.face_locator import FaceLocator
    from hallo.models.image_proj import ImageProjModel
    from hallo.models.unet_2d_condition import UNet2DConditionModel
    from hallo.models.unet_3d import UNet3DConditionModel

    unet = PACK_CONFIG["unet"]
    levels = len(unet["block_out_channels"])
    torch.manual_seed(0)
    StockUNet(
        in_channels=4, out_channels=4, block_out_channels=tuple(unet["block_out_channels"]),
        layers_per_block=unet["layers_per_block"], attention_head_dim=unet["attention_heads"],
        cross_attention_dim=unet["cross_attention_dim"], norm_num_groups=unet["norm_num_groups"],
        down_block_types=("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1),
    ).save_pretrained(folder / "unet")
    reference_unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", local_files_only=True)
    denoising_unet = UNet3DConditionModel.from_pretrained_2d(
        folder, folder / "no_motion_module.ckpt", subfolder="unet", use_landmark=False,
        unet_additional_kwargs=dict(
            use_inflated_groupnorm=True, unet_use_cross_frame_attention=False, unet_use_temporal_attention=False,
            use_motion_module=True, use_audio_module=True, motion_module_resolutions=(1, 2, 4, 8),
            motion_module_mid_block=True, motion_module_decoder_only=False, motion_module_type="Vanilla",
            motion_module_kwargs=dict(num_attention_heads=PACK_CONFIG["motion"]["heads"], num_transformer_block=1,
                                      attention_block_types=("Temporal_Self", "Temporal_Self"),
                                      temporal_position_encoding=True, temporal_position_encoding_max_len=32,
                                      temporal_attention_dim_div=1),
            audio_attention_dim=unet["cross_attention_dim"], stack_enable_blocks_name=("up", "down", "mid"),
            stack_enable_blocks_depth=(0, 1, 2, 3),
        ),
    )
    locator = PACK_CONFIG["face_locator"]
    face_locator = FaceLocator(unet["block_out_channels"][0], locator["input_channels"], tuple(locator["channels"]))
    identity = PACK_CONFIG["identity"]
    imageproj = ImageProjModel(unet["cross_attention_dim"], identity["embedding_dim"], identity["tokens"])
    audio = PACK_CONFIG["audio"]
    audioproj = AudioProjModel(seq_len=audio["context_frames"], blocks=12, channels=audio["feature_dim"] // 12,
                               intermediate_dim=audio["hidden_dim"], output_dim=unet["cross_attention_dim"],
                               context_tokens=audio["tokens"])
    nets = dict(reference_unet=reference_unet, denoising_unet=denoising_unet, face_locator=face_locator,
                imageproj=imageproj, audioproj=audioproj)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for net in nets.values():
            for param in net.parameters():
                jitter = torch.randn(param.shape, generator=generator)
                param.copy_(jitter * 0.2 if not param.any() else param * (1 + 0.1 * jitter))
                param.copy_(param.half())  # fp16-exact values: stored in half the bytes, run in fp32
    return nets


def tiny_vae(torch):
    from diffusers import AutoencoderKL

    torch.manual_seed(2)
    return AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=4,
    ).eval()


def make_inputs(torch):
    """Reference and motion pixels (-1..1), face embedding, face-box image, soft region masks, audio windows."""
    g = torch.Generator().manual_seed(3)
    smooth = lambda n: torch.nn.functional.interpolate(torch.rand(n, 3, 16, 16, generator=g), size=SIZE, mode="bilinear")
    masks = torch.zeros(3, SIZE, SIZE)
    masks[0] = 1.0  # pose: the whole image, as Hallo's full mask
    masks[1, 24:104, 28:100] = 1.0  # face
    masks[2, 72:96, 44:84] = 1.0  # lip
    masks = torch.nn.functional.avg_pool2d(masks[None], 9, stride=1, padding=4, count_include_pad=False)[0]
    face_region = torch.zeros(3, SIZE, SIZE)
    face_region[:, 16:112, 20:108] = 1.0
    return {
        "reference_pixels": smooth(1) * 2 - 1,
        "motion_pixels": smooth(MOTION_FRAMES) * 2 - 1,
        "face_embedding": torch.randn(1, 512, generator=g) * 20,
        "face_region": face_region,
        "masks": masks,
        "audio_windows": torch.randn(FRAMES, PACK_CONFIG["audio"]["context_frames"], 12,
                                     PACK_CONFIG["audio"]["feature_dim"] // 12, generator=g),
    }


def mask_levels(torch, masks, mode: str):
    """3 H W masks -> per region, the list of (FRAMES, h*w) masks at latent size / 1, 2, 4, 8 (Hallo's layout)."""
    levels = []
    for factor in (8, 16, 32, 64):
        size = SIZE // factor
        if mode == "area":
            resized = torch.nn.functional.interpolate(masks[None], size=size, mode="area")[0]
        else:  # Hallo's image processor: torchvision Resize of the mask image (PIL bilinear, antialiased)
            resized = torch.nn.functional.interpolate(masks[None], size=size, mode="bilinear", antialias=True)[0]
        levels.append(resized.reshape(3, 1, -1).repeat(1, FRAMES, 1))
    return [[level[r] for level in levels] for r in range(3)]


class Recorder:
    """Records the first denoiser call of a pipeline run, the ReferenceNet's input and the latents of every step."""

    def __init__(self, nets):
        self.unet_call, self.reference_input, self.steps = None, None, []
        nets["denoising_unet"].register_forward_hook(self.on_unet, with_kwargs=True)
        nets["reference_unet"].register_forward_pre_hook(self.on_reference)

    def on_unet(self, module, args, kwargs, output):
        if self.unet_call is None:
            self.unet_call = (args[0].clone(), args[1].clone(), output[0].clone())

    def on_reference(self, module, args):
        self.reference_input = args[0].clone()

    def on_step(self, index, t, latents):
        self.steps.append(latents.clone())


def run_pipeline(torch, nets, vae, inputs, motion_pixels, mask_mode, scales) -> dict:
    """One FaceAnimatePipeline clip as scripts/inference.py calls it -> recorded tensors."""
    from diffusers import DDIMScheduler
    from hallo.animate.face_animate import FaceAnimatePipeline

    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False,
                              steps_offset=1, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                              timestep_spacing="trailing")
    pipeline = FaceAnimatePipeline(vae=vae, reference_unet=nets["reference_unet"], denoising_unet=nets["denoising_unet"],
                                   face_locator=nets["face_locator"], image_proj=nets["imageproj"], scheduler=scheduler)
    recorder = Recorder(nets)
    full, face, lip = mask_levels(torch, inputs["masks"], mask_mode)
    noise = torch.randn(1, 4, FRAMES, SIZE // 8, SIZE // 8, generator=torch.Generator().manual_seed(SEED))
    pipeline.prepare_latents = lambda *args, **kwargs: noise.clone() * scheduler.init_noise_sigma
    audio_tokens = nets["audioproj"](inputs["audio_windows"][None])
    pipeline(
        ref_image=torch.cat([inputs["reference_pixels"], motion_pixels])[None],
        face_emb=inputs["face_embedding"], audio_tensor=audio_tokens, face_mask=inputs["face_region"][None],
        pixel_values_full_mask=full, pixel_values_face_mask=face, pixel_values_lip_mask=lip,
        width=SIZE, height=SIZE, video_length=FRAMES, num_inference_steps=STEPS, guidance_scale=CFG,
        motion_scale=list(scales), callback=recorder.on_step, output_type="tensor",
    )
    sample, t, output = recorder.unet_call
    images = 1 + MOTION_FRAMES
    return {
        "noise": noise, "timesteps": scheduler.timesteps.clone(), "unet_input": sample, "unet_timestep": t.reshape(1),
        "unet_output": output, "reference_latent": recorder.reference_input[:1],
        "motion_latents": recorder.reference_input[1:images], **{f"latents_{i}": x for i, x in enumerate(recorder.steps)},
    }


def decoded_and_reencoded(torch, vae, latents):
    """Hallo's clip loop: motion frames are decoded to pixels (0..1, clamped) and given back as -1..1 images."""
    frames = vae.decode(latents / 0.18215).sample
    return (frames / 2 + 0.5).clamp(0, 1) * 2 - 1


def environment() -> dict:
    import importlib.metadata as metadata
    import platform

    packages = ("torch", "diffusers", "transformers", "huggingface_hub", "accelerate", "numpy", "einops", "safetensors", "omegaconf")
    return {"python": platform.python_version(), **{p: metadata.version(p) for p in packages}}


def main(hallo_source: str, out: str) -> None:
    import_hallo(Path(hallo_source))
    import torch
    from safetensors.torch import save_file

    torch.set_grad_enabled(False)
    nets = build_networks(torch, Path(tempfile.mkdtemp(prefix="hallo_unet_")))
    nets["reference_unet"].eval()
    nets["denoising_unet"].enable_gradient_checkpointing()
    nets["denoising_unet"].train()  # as scripts/inference.py leaves it (from_pretrained_2d never calls eval)
    vae = tiny_vae(torch)
    inputs = make_inputs(torch)
    reference_as_motion = inputs["reference_pixels"].repeat(MOTION_FRAMES, 1, 1, 1)
    first = run_pipeline(torch, nets, vae, inputs, reference_as_motion, "area", (1.0, 1.0, 1.0))
    later = run_pipeline(torch, nets, vae, inputs, inputs["motion_pixels"], "area", LATER_SCALES)
    bilinear = run_pipeline(torch, nets, vae, inputs, inputs["motion_pixels"], "bilinear", LATER_SCALES)
    roundtrip_pixels = decoded_and_reencoded(torch, vae, later["motion_latents"])
    roundtrip = run_pipeline(torch, nets, vae, inputs, roundtrip_pixels, "area", LATER_SCALES)
    tensors = {f"weights.{prefix}.{key}": value for prefix, net in nets.items() for key, value in net.state_dict().items()}
    kept = ("face_embedding", "face_region", "audio_windows")  # the pack reads latents, not pixels
    tensors.update({f"inputs.{name}": inputs[name] for name in kept})
    tensors["inputs.latent_masks"] = torch.nn.functional.interpolate(inputs["masks"][None], size=SIZE // 8, mode="area")[0]
    for run, recorded in (("first", first), ("later", later)):
        tensors.update({f"{run}.{name}": value for name, value in recorded.items()})
    tensors[f"later_bilinear_masks.latents_{STEPS - 1}"] = bilinear[f"latents_{STEPS - 1}"]
    tensors[f"later_vae_roundtrip.latents_{STEPS - 1}"] = roundtrip[f"latents_{STEPS - 1}"]
    metadata = {
        "hallo_commit": HALLO_COMMIT, "pack_config": json.dumps(PACK_CONFIG), "environment": json.dumps(environment()),
        "settings": json.dumps({"steps": STEPS, "cfg": CFG, "frames": FRAMES, "size": SIZE, "later_scales": LATER_SCALES}),
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    stored = {k: v.contiguous().to(torch.float16 if k.startswith(("weights.", "inputs.face_region")) else torch.float32) for k, v in tensors.items()}
    save_file(stored, out, metadata=metadata)
    print(f"wrote {out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main(*sys.argv[1:3])
