"""Model configuration as data: the full SD1.5-sized model and tiny test models are one set of classes.

Field comments name the paper symbol where there is one (000 = LinguaLinker, 001 = Hallo, 002 = Sonic).
Configs ship as JSON in `pipelines/configs/` and are embedded in pack-native checkpoints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass
class UNetConfig:
    """SD1.5 UNet shape (001 §3.2); shared by the ReferenceNet and the denoiser's 2D part."""

    in_channels: int = 4
    out_channels: int = 4
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    attention_heads: int = 8  # SD1.5's config calls this attention_head_dim; it is the head count
    cross_attention_dim: int = 768  # width of the identity tokens the spatial cross-attention reads
    norm_num_groups: int = 32

    def diffusers_kwargs(self) -> dict:
        """Arguments for diffusers' UNet2DConditionModel with SD1.5's block layout."""
        n = len(self.block_out_channels)
        return dict(
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            block_out_channels=tuple(self.block_out_channels),
            layers_per_block=self.layers_per_block,
            attention_head_dim=self.attention_heads,
            cross_attention_dim=self.cross_attention_dim,
            norm_num_groups=self.norm_num_groups,
            down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        )


@dataclass
class MotionConfig:
    """AnimateDiff v2 temporal modules (000 §3.1 end, 001 §3.3)."""

    heads: int = 8
    max_frames: int = 32  # length of the sinusoidal position table `pe`
    skip_blocks: tuple[str, ...] = ()  # e.g. ("down_blocks.3", "up_blocks.0") for Hallo's quirk
    # Hallo's train-mode quirk (001 as released): the ReferenceNet also encodes this many motion frames (the
    # previous clip's last frames) and their spatial self-attention inputs lead each temporal module's sequence.
    reference_motion_frames: int = 0


@dataclass
class AudioConfig:
    """Audio projection: per-frame context blocks b f l c -> m tokens per frame (000 §3.1)."""

    encoder: str = "xlsr_mean"  # the AudioEmbeddings.encoder kind the model was trained with
    context_frames: int = 5  # l: current frame +-2 (000 §4.1)
    feature_dim: int = 1024  # c: per-context-frame feature width
    hidden_dim: int = 512
    tokens: int = 32  # m: audio tokens per video frame
    heads: int = 8  # heads of the gated audio cross-attention
    module: str = "region_gate"  # "region_gate" (000 eq. 1-5) or "hallo" (001 §3.2 eq. 11-15, three masked branches)
    # inner width of each audio module: "block_out" (the block's width) or "block_in" (the width Hallo's block
    # constructor holds as `in_channels` when it builds the module; see hallo_audio_module.hallo_inner_widths)
    width_rule: str = "block_out"
    # region_gate only: the gates start from exclusive masks, the first region (head) minus the union of the others
    # (mouth, eyes), so a region scale of 0 leaves no mask-borne audio in its area (off: the masks overlap, 000 eq. 2)
    exclusive_masks: bool = False


@dataclass
class IdentityConfig:
    """Identity tokens for the spatial cross-attention: pooled from the reference latent, or (Hallo, 001 §3.2)
    projected from a face-recognition embedding."""

    tokens: int = 4
    hidden_dim: int = 256
    source: str = "reference_latent"  # or "face_embedding" (Hallo's ImageProj: Linear + LayerNorm)
    embedding_dim: int = 512  # width of the face embedding (ArcFace) when source = "face_embedding"


@dataclass
class FaceLocatorConfig:
    """Hallo's FaceLocator (001 §3.2): face-box mask image -> features added after the denoiser's conv_in."""

    enabled: bool = False
    input_channels: int = 3
    channels: tuple[int, ...] = (16, 32, 64, 128)


@dataclass
class PortraitModelConfig:
    """Everything needed to build a region-gated portrait model and sample from it."""

    unet: UNetConfig = field(default_factory=UNetConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    face_locator: FaceLocatorConfig = field(default_factory=FaceLocatorConfig)
    regions: tuple[str, ...] = ("head", "mouth", "eyes")  # gate regions r (000 eq. 2)
    clip_length: int = 16  # f: frames per clip the temporal modules see
    resolution: int = 512  # side of the square training images; larger portraits are scaled to this many pixels
    latent_scale: float = 0.18215  # SD1.5 VAE scaling factor
    prediction_type: str = "v_prediction"
    # What the unconditional CFG branch drops. "pack": reference attention, identity tokens (zeros) and audio
    # (region scales 0). "hallo" (001's released pipeline): reference attention, identity (= projection of a zero
    # face embedding), face locator features and audio tokens (zeros; the region scales and masks stay).
    uncond_branch: str = "pack"
    # How the ReferenceNet encodes the reference and motion frames. "cond_identity": each image once, with the face's
    # identity tokens, in the weights' dtype; every frame and CFG branch reads the same features. "hallo_cfg_rows"
    # (001's released pipeline): in the rows of a two-half CFG batch whose identity tokens alternate uncond / cond,
    # held in fp16, each denoiser half and frame reading the rows Hallo's code gives it (hallo_reference_rows.py).
    reference_encoding: str = "cond_identity"
    scheduler: dict = field(
        default_factory=lambda: {
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "beta_schedule": "linear",
            "rescale_betas_zero_snr": True,
            "timestep_spacing": "trailing",
            "num_train_timesteps": 1000,
        }
    )

    @property
    def unet_factor(self) -> int:
        """How much the UNet shrinks a latent before it grows it back: sides must be multiples of it."""
        return 2 ** (len(self.unet.block_out_channels) - 1)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "PortraitModelConfig":
        data = dict(data)
        parts = {
            "unet": UNetConfig,
            "motion": MotionConfig,
            "audio": AudioConfig,
            "identity": IdentityConfig,
            "face_locator": FaceLocatorConfig,
        }
        for key, kind in parts.items():
            if key in data:
                values = {k: tuple(v) if isinstance(v, list) else v for k, v in data[key].items()}
                data[key] = kind(**values)
        if "regions" in data:
            data["regions"] = tuple(data["regions"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "PortraitModelConfig":
        return cls.from_dict(json.loads(text))

    @classmethod
    def named(cls, name: str) -> "PortraitModelConfig":
        """A config shipped in pipelines/configs/<name>.json (e.g. 'sd15', 'tiny')."""
        if name not in shipped_configs():
            raise KeyError(f"unknown model config '{name}'; shipped configs: {shipped_configs()}")
        return cls.from_json((CONFIG_DIR / f"{name}.json").read_text())


def shipped_configs() -> list[str]:
    """Names of the configs in pipelines/configs/."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
