"""Long-video window schedules: Sonic's time-aware position shift fusion and the two baselines it is compared with.

Paper 002 (Sonic), Section 3.3 and Algorithm 1: at every denoising step the whole latent sequence is cut into
ceil(N/f) non-overlapping clips of the model's clip length f, starting from an accumulated offset that grows by
alpha each step, so each step's clips straddle the previous step's clip borders. Eq. 5: ceil(N/f) * T clip
forwards in all. Baselines of Sonic's Table 4: overlapping windows blended with linear ramps (eq. 6) and Hallo's
motion frames (paper 001; Sonic eq. 7).

Everything here is index arithmetic over ints and LongTensors: no model, no host. The sampler gathers
`latents.index_select(2, window)` (far faster on CPU than `latents[:, :, window]`) together with the audio blocks
and masks at the same indices (so frame i always sees audio i), runs the model on each window and hands the
results to `fuse`.

Letters: b batch, c channels, f clip length (frames per window), h w latent size, k windows of one step,
n frames of the (padded) sequence, m motion frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from .errors import PortraitInputError

#: Seam modes of shift fusion: "silent_pad" pads with silent frames so the end never meets the start, "circular" wraps the
#: tail to the head as Sonic's released code does.
SEAMS = ("silent_pad", "circular")
#: Shift fusion's offset growth per denoising step, in frames (Sonic's alpha, 002 Algorithm 1).
SONIC_ALPHA = 7


@dataclass(frozen=True)
class WindowSchedule:
    """Per denoising step, the windows the model runs on, and how their results are fused.

    steps[i]: k f LongTensor of indices into the padded sequence of length padded_length; indices
    num_frames .. padded_length-1 are padding frames (silent audio) that the sampler trims at the end.
    A frame may appear several times in one step (circular seam with N % f != 0 or N < f; overlapping
    windows); `fuse` gives it the mean of its results, weighted by `blend` when set (f raw weights per
    window position, see `blend_weights`).
    """

    mode: str
    num_frames: int
    clip_length: int
    padded_length: int
    steps: tuple[torch.Tensor, ...]
    blend: torch.Tensor | None = None

    @property
    def clip_forwards(self) -> int:
        """Model forwards over all steps; ceil(N/f) * T for shift fusion (Sonic eq. 5)."""
        return sum(len(windows) for windows in self.steps)

    def visit_counts(self, step: int) -> torch.Tensor:
        """How often each padded frame appears in the windows of one step: -> n LongTensor."""
        return torch.bincount(self.steps[step].flatten(), minlength=self.padded_length)

    def fuse_step(self, step: int, window_outputs: torch.Tensor | Iterable[torch.Tensor]) -> torch.Tensor:
        """`fuse` with this step's windows and blend: k b c f h w (or k tensors b c f h w) -> b c n h w."""
        return fuse(window_outputs, self.steps[step], self.padded_length, self.blend)


def shift_fusion_schedule(
    num_frames: int, clip_length: int, num_steps: int, alpha: int = SONIC_ALPHA, seam: str = "silent_pad"
) -> WindowSchedule:
    """Sonic Algorithm 1: at step i, window k covers frames (f*k - alpha*i + j) mod L for j = 0 .. f-1.

    The accumulated offset alpha_sigma = alpha*i moves the window grid back by alpha every step; with
    alpha = 0 every step runs the consecutive clips [0, f), [f, 2f), ... Each step has exactly ceil(N/f)
    full-length windows.
    seam "circular": L = N, Sonic's released code. When N % f != 0 the last window wraps to the head, so
    some frames are in two windows of one step; when N < f the single window wraps over the sequence more
    than once and holds a frame several times. The model sees that tiled clip as is; `fuse` gives every
    frame the mean of all its appearances.
    seam "silent_pad": L = P, the sequence padded with silent-audio frames N .. P-1 (the sampler supplies
    them and trims them at the end), with at least f - 1 of them whenever the grid shifts (alpha % f != 0):
    P = ceil((N + f - 1) / f) * f, else P = ceil(N/f) * f. Every padded index is visited exactly once per
    step, and because a window holds f frames, the window that wraps P-1 -> 0 can hold real frames of the
    start or of the end but never of both: the end of the video never shares a window with its start.
    This costs one window per step more than eq. 5 unless N % f == 1 (or alpha % f == 0). A video of at
    most f frames is one unshifted window (padded to f).
    """
    _require_at_least(num_frames, 1, "num_frames", "give audio at least one video frame long")
    _require_at_least(clip_length, 1, "clip_length", "use the model's clip length (at least 1 frame)")
    _require_at_least(num_steps, 1, "num_steps", "use at least one denoising step")
    _require_at_least(alpha, 0, "alpha", f"use a shift offset of 0 or more frames (Sonic uses {SONIC_ALPHA})")
    if seam not in SEAMS:
        raise PortraitInputError("seam", f"unknown seam mode {seam!r}", f"choose one of {', '.join(SEAMS)}")
    if seam == "silent_pad" and num_frames <= clip_length:
        alpha = 0  # one window already holds the whole video: shifting would only split it
    shifts = alpha % clip_length != 0 and num_steps > 1
    padding = clip_length - 1 if seam == "silent_pad" and shifts else 0
    num_windows = math.ceil((num_frames + padding) / clip_length)
    padded_length = num_windows * clip_length if seam == "silent_pad" else num_frames
    grid = torch.arange(num_windows * clip_length).view(num_windows, clip_length)  # k f: f*k + j
    steps = tuple((grid - alpha * step) % padded_length for step in range(num_steps))
    return WindowSchedule(seam, num_frames, clip_length, padded_length, steps)


def overlap_schedule(num_frames: int, clip_length: int, overlap: int, num_steps: int) -> WindowSchedule:
    """Overlapping windows (Sonic eq. 6 baseline): full-length windows every f - o frames, blended.

    Windows start at 0, f-o, 2(f-o), ...; the last one is moved back to end at frame N-1, so it may overlap
    its neighbour by more than o. The same windows serve every step. For N < f the one window wraps over
    the sequence (indices j mod N), as the circular shift-fusion seam does.
    """
    _require_at_least(num_frames, 1, "num_frames", "give audio at least one video frame long")
    _require_at_least(clip_length, 1, "clip_length", "use the model's clip length (at least 1 frame)")
    _require_at_least(num_steps, 1, "num_steps", "use at least one denoising step")
    if not 0 <= overlap < clip_length:
        raise PortraitInputError(
            "overlap", f"{overlap} frames does not fit a clip of {clip_length}", f"use 0 .. {clip_length - 1}"
        )
    stride = clip_length - overlap
    last_start = max(num_frames - clip_length, 0)
    starts = torch.arange(0, last_start + stride, stride).clamp(max=last_start)
    windows = (starts[:, None] + torch.arange(clip_length)) % num_frames  # k f
    steps = (windows,) * num_steps
    return WindowSchedule("overlap", num_frames, clip_length, num_frames, steps, blend_weights(clip_length, overlap))


def blend_weights(clip_length: int, overlap: int) -> torch.Tensor:
    """Raw blend weight of each window position, min(j+1, f-j, o+1): -> f float.

    Normalised per frame (`frame_shares`), two windows overlapping by o frames hand over with linear ramps:
    the outgoing window's share falls o/(o+1) .. 1/(o+1) while the incoming one's rises, summing to 1.
    With o = 0 every weight is 1 (a plain mean).
    """
    position = torch.arange(clip_length)
    return torch.minimum(torch.minimum(position + 1, clip_length - position), torch.tensor(overlap + 1)).float()


def frame_shares(windows: torch.Tensor, padded_length: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Each window position's share of the frame it covers; the shares of every visited frame sum to 1.

    windows: k f indices; weights: f raw weights per position (None: equal, i.e. the mean of duplicates)
    -> k f float64.
    """
    raw = torch.ones(windows.shape, dtype=torch.float64)
    if weights is not None:
        raw = raw * weights.to(torch.float64)
    totals = torch.zeros(padded_length, dtype=torch.float64).index_add_(0, windows.flatten(), raw.flatten())
    return raw / totals[windows]


def fuse(
    window_outputs: torch.Tensor | Iterable[torch.Tensor],
    windows: torch.Tensor,
    padded_length: int,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scatter window results back into the sequence; a frame covered several times gets their (weighted) mean.

    window_outputs: k b c f h w, or an iterable of k tensors b c f h w (a generator lets the sampler stream
    the windows, keeping one window result alive); windows: k f; weights: f or None -> b c n h w, with
    n = padded_length (frames no window covers stay 0). Accumulates with index_add_ one window at a time.
    """
    shares = frame_shares(windows, padded_length, weights)
    fused = None
    for window, share, output in zip(windows, shares, window_outputs, strict=True):
        if fused is None:
            batch, channels, _, height, width = output.shape
            fused = output.new_zeros(batch, channels, padded_length, height, width)
        fused.index_add_(2, window.to(output.device), output * share.to(output).view(-1, 1, 1))
    return fused


@dataclass(frozen=True)
class MotionFrameClips:
    """Hallo's sequential clips (paper 001): clip k denoises new_frames[k] given the m frames made just before.

    new_frames: k f LongTensor, the padded sequence [0, P) cut into consecutive clips, P = ceil(N/f)*f (the last
    clip is filled to full length with silent-audio frames N .. P-1, trimmed by the sampler). Iterating yields
    (new frames f, context frames m) per clip; clip 0 has no context (Hallo conditions it on the reference image).
    """

    num_frames: int
    padded_length: int
    motion_frames: int
    new_frames: torch.Tensor

    def __len__(self) -> int:
        return len(self.new_frames)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for clip, new in enumerate(self.new_frames):
            yield new, self.context_frames(clip)

    def context_frames(self, clip: int) -> torch.Tensor:
        """The last m frames of the previous clip, empty for clip 0: -> m LongTensor."""
        start = int(self.new_frames[clip, 0])
        return torch.arange(max(start - self.motion_frames, 0), start)


def motion_frame_clips(num_frames: int, clip_length: int, motion_frames: int) -> MotionFrameClips:
    """Cut N frames into consecutive full-length clips, each conditioned on the previous clip's last m frames."""
    _require_at_least(num_frames, 1, "num_frames", "give audio at least one video frame long")
    _require_at_least(clip_length, 1, "clip_length", "use the model's clip length (at least 1 frame)")
    if not 0 <= motion_frames <= clip_length:
        raise PortraitInputError(
            "motion_frames",
            f"{motion_frames} motion frames do not fit a clip of {clip_length}",
            f"use 0 .. {clip_length}",
        )
    num_clips = math.ceil(num_frames / clip_length)
    new_frames = torch.arange(num_clips * clip_length).view(num_clips, clip_length)
    return MotionFrameClips(num_frames, num_clips * clip_length, motion_frames, new_frames)


def _require_at_least(value: int, minimum: int, input_name: str, fix: str) -> None:
    """Raise PortraitInputError naming the input when value < minimum."""
    if value < minimum:
        raise PortraitInputError(input_name, f"{value} is below {minimum}", fix)
