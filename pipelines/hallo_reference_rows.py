"""How Hallo's released inference pairs reference and motion-frame features with its CFG halves (001 as released).

Hallo's ReferenceNet runs once per clip on the images [reference, motion 1, ..., motion m] repeated for the two CFG
halves, while its identity tokens are the two halves' [uncond, cond] tokens repeated over the rows: row r of the
2 (1 + m) rows is image r mod (1 + m) encoded with identity r mod 2. Its denoiser then reads the features back by
half: half h's motion frames are the rows h (1 + m) + 1 ... of that batch, and the reference tokens are tiled over
the frames so that row j of the 2 f denoiser rows reads half (j mod 2)'s reference row. Without CFG there is one half
and every row uses the conditional identity. The features are held in fp16 (Hallo's bank casts them).

Identity indices here: 0 = unconditional tokens (projection of a zero face embedding), 1 = the face's tokens.
"""

from __future__ import annotations

import torch

UNCOND, COND = 0, 1
#: Hallo's feature bank dtype, whatever the weights' dtype.
BANK_DTYPE = torch.float16


def row_identities(images: int, halves: int) -> torch.Tensor:
    """halves x images: the identity each (half, image) row of the ReferenceNet batch is encoded with."""
    if halves == 1:
        return torch.full((1, images), COND)
    rows = torch.arange(halves * images).reshape(halves, images)
    return rows % 2


def motion_identities(half: int, images: int, halves: int) -> torch.Tensor:
    """m: the identity of each motion frame a denoiser half prepends to its temporal modules."""
    return row_identities(images, halves)[half, 1:]


def reference_identities(half: int, frames: int, images: int, halves: int) -> torch.Tensor:
    """f: the identity of the reference tokens each frame of a denoiser half attends to."""
    rows = half * frames + torch.arange(frames)
    return row_identities(images, halves)[rows % halves, 0]
