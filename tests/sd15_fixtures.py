"""A tiny random SD1.5 checkpoint that ComfyUI's CheckpointLoaderSimple detects as SD1.5 and samples fast on the CPU.

ComfyUI matches SD1.5 on the UNet's width (model_channels 320), cross-attention width (context 768) and
non-linear transformer projections; depth is read from the keys. So the UNet here is core's own UNetModel with one
level (one res block and one transformer, no down- or upsampling) at SD1.5's widths; the text encoder is CLIP ViT-L/14's
text tower (which core builds at full size whatever the file holds); weights in half precision; the VAE is a TAESD-layout
one (core picks TAESD from its keys). All weights random.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

from scripts.make_demo_models import COMFY_DIR, taesd_state_dict

CLIP_L = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                        projection_dim=768)


def _random_weights(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Random fp16 tensors for a module built on the meta device: matrices N(0, 0.02), norm scales 1, biases 0."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, meta in module.state_dict().items():
        if meta.ndim > 1:
            state[name] = (torch.randn(meta.shape, generator=generator) * 0.02).half()
        else:
            state[name] = torch.full(meta.shape, 1.0 if "norm" in name and name.endswith("weight") else 0.0).half()
    return state


def tiny_sd15_unet() -> dict[str, torch.Tensor]:
    """Core's UNetModel at SD1.5 widths with one level, random weights, LDM key names."""
    if str(COMFY_DIR) not in sys.path:
        sys.path.append(str(COMFY_DIR))
    from comfy.cli_args import args

    args.cpu = True
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    unet = UNetModel(device="meta", image_size=32, in_channels=4, model_channels=320, out_channels=4, num_res_blocks=[1],
                     channel_mult=[1], num_heads=8, use_spatial_transformer=True, transformer_depth=[1],
                     transformer_depth_output=[1, 1], transformer_depth_middle=1, context_dim=768, legacy=False,
                     use_linear_in_transformer=False, operations=comfy.ops.manual_cast)
    return {f"model.diffusion_model.{k}": v for k, v in _random_weights(unet, 0).items()}


def write_tiny_sd15_checkpoint(path: Path) -> Path:
    """Write the checkpoint (fp16, about 180 MB, mostly the text encoder) unless it is there."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.device("meta"):
        text_model = CLIPTextModel(CLIP_L)
    text = _random_weights(text_model, 1)
    state = {**tiny_sd15_unet(),
             **{f"cond_stage_model.transformer.{k}": v for k, v in text.items() if "position_ids" not in k},
             **{f"first_stage_model.{k}": v for k, v in taesd_state_dict(2).items()}}
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path
