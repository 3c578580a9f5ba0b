"""ReferenceNet feature injection through spatial self-attention (000 §3.1, 001 §3.2).

The ReferenceNet stores the normed input of each spatial self-attention (`attn1`) once per video;
the denoiser's matching `attn1` attends over [frame tokens ; reference tokens]. Rows of the batch
without reference (the unconditional CFG branch) see plain self-attention: masked out of the reference tokens,
or, with `split_uncond` (speed_options.py) and those rows leading the batch, attended on their own without mask
(half the keys, and the unmasked SDPA kernels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from einops import rearrange


class ReferenceBank:
    """Reference tokens per attention layer, and how the current batch rows map onto them.

    features[name]: b t c for each ReferenceNet `attn1` (b = videos), or b i t c when the rows pick one of i
    encodings per frame (Hallo's CFG rows, hallo_reference_rows.py). `bind` says, per denoiser batch row group,
    which video it belongs to, whether it sees the reference and, for b i t c features, which encoding each frame reads.
    """

    def __init__(self):
        self.features: dict[str, torch.Tensor] = {}
        self.videos: torch.Tensor | None = None
        self.with_reference: torch.Tensor | None = None
        self.all_reference = True
        self.leading_uncond: int | None = 0
        self.frames = 1
        self.encodings: torch.Tensor | None = None
        self.split_uncond = False

    def bind(self, videos: torch.Tensor, with_reference: torch.Tensor, frames: int, encodings: torch.Tensor | None = None) -> None:
        """videos: B long (video of each batch item), with_reference: B bool, frames: frames per item,
        encodings: B f long, the encoding each frame reads from b i t c features (None for b t c features).

        Whether every row sees the reference is decided here, outside the UNet, so a compiled UNet needs no
        data-dependent branch (no graph break) in its attention layers.
        """
        self.videos, self.with_reference, self.frames, self.encodings = videos, with_reference, frames, encodings
        self.all_reference = bool(with_reference.all())
        leading = int((with_reference.cumsum(0) == 0).sum())  # items before the first one with reference
        self.leading_uncond = leading if 0 < leading < len(with_reference) and bool(with_reference[leading:].all()) else None

    def keys_for(self, name: str, rows: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Reference tokens (rows t c) for a layer, and a bool attention mask or None when all rows see them."""
        if self.encodings is None:
            ref = self.features[name][self.videos].repeat_interleave(self.frames, dim=0)
        else:
            ref = self.features[name][self.videos.repeat_interleave(self.frames), self.encodings.flatten()]
        if rows != ref.shape[0]:
            raise RuntimeError(f"reference bank bound to {ref.shape[0]} rows, the batch has {rows}")
        if self.all_reference:
            return ref, None
        keep = self.with_reference.repeat_interleave(self.frames).to(ref.device)
        return ref, keep


class ReferenceWriteProcessor:
    """ReferenceNet side: record the normed input of this self-attention, then attend as usual."""

    def __init__(self, bank: ReferenceBank, name: str):
        self.bank, self.name = bank, name

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None, **_):
        """hidden_states: b t c -> b t c."""
        self.bank.features[self.name] = hidden_states
        return attend(attn, hidden_states, hidden_states, None)


class ReferenceReadProcessor:
    """Denoiser side: self-attention whose keys/values are [own tokens ; reference tokens]."""

    def __init__(self, bank: ReferenceBank, name: str):
        self.bank, self.name = bank, name

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None, **_):
        """hidden_states: (b f) t c -> (b f) t c."""
        if self.name not in self.bank.features:
            return attend(attn, hidden_states, hidden_states, None)
        ref, keep = self.bank.keys_for(self.name, hidden_states.shape[0])
        if keep is not None and self.bank.split_uncond and self.bank.leading_uncond is not None:
            split = self.bank.leading_uncond * self.bank.frames
            plain, own = hidden_states[:split], hidden_states[split:]
            joined = attend(attn, own, torch.cat([own, ref[split:].to(own.dtype)], dim=1), None)
            return torch.cat([attend(attn, plain, plain, None), joined])
        context = torch.cat([hidden_states, ref.to(hidden_states.dtype)], dim=1)
        mask = None
        if keep is not None:
            own = torch.ones(hidden_states.shape[0], hidden_states.shape[1], dtype=torch.bool, device=keep.device)
            mask = torch.cat([own, keep[:, None].expand(-1, ref.shape[1])], dim=1)[:, None, None, :]
        return attend(attn, hidden_states, context, mask)


def attend(attn: Attention, queries: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Multi-head SDPA with the layer's projections. queries: n t c, context: n s c, mask: n 1 1 s bool."""
    q, k, v = (
        rearrange(proj(x), "n t (a d) -> n a t d", a=attn.heads)
        for proj, x in ((attn.to_q, queries), (attn.to_k, context), (attn.to_v, context))
    )
    out = rearrange(F.scaled_dot_product_attention(q, k, v, attn_mask=mask), "n a t d -> n t (a d)")
    return attn.to_out[1](attn.to_out[0](out))


def self_attention_layers(unet: torch.nn.Module) -> dict[str, Attention]:
    """The spatial self-attentions (`...transformer_blocks.N.attn1`) of a UNet, by module name."""
    return {name: m for name, m in unet.named_modules() if name.endswith(".attn1") and isinstance(m, Attention)}


def install_reference_processors(unet: torch.nn.Module, bank: ReferenceBank, write: bool) -> int:
    """Give every spatial self-attention of `unet` a write (ReferenceNet) or read (denoiser) processor."""
    kind = ReferenceWriteProcessor if write else ReferenceReadProcessor
    layers = self_attention_layers(unet)
    for name, layer in layers.items():
        layer.set_processor(kind(bank, name))
    return len(layers)
