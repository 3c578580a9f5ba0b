"""Window schedules for long videos: Sonic Algorithm 1 / eq. 5 shift fusion, overlap blending, Hallo motion frames."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.errors import PortraitInputError
from pipelines.window_schedules import (
    SEAMS,
    blend_weights,
    frame_shares,
    fuse,
    motion_frame_clips,
    overlap_schedule,
    shift_fusion_schedule,
)

FRAMES = st.integers(1, 400)
CLIP = st.integers(1, 32)
ALPHA = st.integers(0, 20)
STEPS = st.integers(1, 6)
SEAM = st.sampled_from(SEAMS)
PROPERTY = settings(max_examples=80, deadline=None)


def gather_windows(sequence, windows):
    """What the sampler feeds the model: b c n h w -> k b c f h w."""
    return torch.stack([sequence.index_select(2, window) for window in windows])


def reference_fuse(window_outputs, windows, padded_length, weights=None):
    """Slow per-element loop: weighted mean of every frame's window results (None where no window covers it)."""
    totals = [None] * padded_length
    weight_sums = [0.0] * padded_length
    for output, window in zip(window_outputs, windows.tolist()):
        for position, frame in enumerate(window):
            weight = 1.0 if weights is None else float(weights[position])
            contribution = weight * output[:, :, position]
            totals[frame] = contribution if totals[frame] is None else totals[frame] + contribution
            weight_sums[frame] += weight
    return [None if total is None else total / weight_sums[frame] for frame, total in enumerate(totals)]


# ---- shift fusion (Sonic Algorithm 1) ----


def effective_alpha(frames, clip, alpha, seam):
    """silent_pad runs a video of at most one clip as one unshifted window."""
    return 0 if seam == "silent_pad" and frames <= clip else alpha


def windows_per_step(frames, clip, alpha, steps, seam):
    """ceil(N/f) (Sonic eq. 5); silent_pad adds f - 1 silent frames whenever the grid shifts."""
    shifts = effective_alpha(frames, clip, alpha, seam) % clip != 0 and steps > 1
    padding = clip - 1 if seam == "silent_pad" and shifts else 0
    return math.ceil((frames + padding) / clip)


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS, SEAM)
def test_every_step_runs_ceil_n_over_f_full_length_windows(frames, clip, alpha, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, seam)
    count = windows_per_step(frames, clip, alpha, steps, seam)
    assert len(schedule.steps) == steps
    for windows in schedule.steps:
        assert windows.shape == (count, clip)
        assert windows.dtype == torch.long
        assert 0 <= int(windows.min()) and int(windows.max()) < schedule.padded_length
    assert schedule.clip_forwards == count * steps  # Sonic eq. 5 for circular
    assert schedule.padded_length == (count * clip if seam == "silent_pad" else frames)
    assert schedule.mode == seam and schedule.num_frames == frames and schedule.blend is None


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS, SEAM)
def test_windows_follow_the_shift_formula(frames, clip, alpha, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, seam)
    length = schedule.padded_length
    alpha = effective_alpha(frames, clip, alpha, seam)
    for step, windows in enumerate(schedule.steps):
        expected = [
            [(clip * window - alpha * step + position) % length for position in range(clip)]
            for window in range(windows_per_step(frames, clip, alpha, steps, seam))
        ]
        assert windows.tolist() == expected


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS, SEAM)
def test_every_frame_is_covered_and_silent_pad_visits_each_exactly_once(frames, clip, alpha, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, seam)
    for step in range(steps):
        counts = schedule.visit_counts(step)
        assert counts.shape == (schedule.padded_length,)
        assert int(counts.sum()) == windows_per_step(frames, clip, alpha, steps, seam) * clip
        assert bool((counts[:frames] >= 1).all())
        if seam == "silent_pad" or frames % clip == 0:
            assert counts.tolist() == [1] * schedule.padded_length
        elif frames > clip:
            assert int(counts.max()) == 2  # the wrapped tail of the last window
        else:
            assert int(counts.max()) == math.ceil(clip / frames)  # one window tiles the short sequence


@PROPERTY
@given(FRAMES, CLIP, STEPS, SEAM)
def test_alpha_zero_runs_the_same_consecutive_clips_every_step(frames, clip, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha=0, seam=seam)
    windows_per_step = math.ceil(frames / clip)
    consecutive = torch.arange(windows_per_step * clip).view(windows_per_step, clip) % schedule.padded_length
    for windows in schedule.steps:
        assert torch.equal(windows, consecutive)


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS, SEAM)
def test_offset_grows_by_alpha_each_step(frames, clip, alpha, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, seam)
    length = schedule.padded_length
    alpha = effective_alpha(frames, clip, alpha, seam)
    for step, windows in enumerate(schedule.steps):
        assert int(windows[0, 0]) == (-alpha * step) % length
    for earlier, later in zip(schedule.steps, schedule.steps[1:]):
        assert torch.equal(later, (earlier - alpha) % length)


@PROPERTY
@given(st.integers(1, 12), CLIP, ALPHA, STEPS)
def test_seams_agree_when_frames_fill_whole_clips_and_the_grid_does_not_shift(clips, clip, alpha, steps):
    circular = shift_fusion_schedule(clips * clip, clip, steps, alpha, "circular")
    silent_pad = shift_fusion_schedule(clips * clip, clip, steps, alpha, "silent_pad")
    assert circular.padded_length == clips * clip
    if alpha % clip == 0 or steps == 1:
        assert silent_pad.padded_length == clips * clip
        assert all(torch.equal(a, b) for a, b in zip(circular.steps, silent_pad.steps))
    elif clips == 1:  # silent_pad keeps a one-clip video in one unshifted window
        assert silent_pad.padded_length == clip
        assert all(windows.tolist() == [list(range(clip))] for windows in silent_pad.steps)
    else:
        assert silent_pad.padded_length == (clips + 1) * clip


def test_circular_seam_wraps_the_tail_to_the_head_and_silent_pad_does_not():
    circular = shift_fusion_schedule(10, 4, num_steps=2, alpha=3, seam="circular")
    assert circular.steps[1].tolist() == [[7, 8, 9, 0], [1, 2, 3, 4], [5, 6, 7, 8]]
    silent_pad = shift_fusion_schedule(10, 4, num_steps=2, alpha=3, seam="silent_pad")
    assert silent_pad.padded_length == 16
    assert silent_pad.steps[1].tolist() == [[13, 14, 15, 0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS)
def test_silent_pad_never_puts_end_and_start_frames_in_one_window(frames, clip, alpha, steps):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, "silent_pad")
    for windows in schedule.steps:
        real = windows < frames
        wraps = windows[:, 0] > windows[:, -1]  # the window crossing index P-1 -> 0
        assert not bool((wraps & real[:, 0] & real[:, -1]).any())


def test_short_sequence_tiles_one_window_over_itself():
    schedule = shift_fusion_schedule(3, 8, num_steps=2, alpha=1, seam="circular")
    assert schedule.steps[0].tolist() == [[0, 1, 2, 0, 1, 2, 0, 1]]
    assert schedule.steps[1].tolist() == [[2, 0, 1, 2, 0, 1, 2, 0]]
    assert schedule.visit_counts(1).tolist() == [3, 2, 3]


@pytest.mark.parametrize(
    ("arguments", "input_name"),
    [
        ({"num_frames": 0}, "num_frames"),
        ({"clip_length": 0}, "clip_length"),
        ({"num_steps": 0}, "num_steps"),
        ({"alpha": -1}, "alpha"),
        ({"seam": "wrap"}, "seam"),
    ],
)
def test_shift_fusion_rejects_bad_inputs_naming_the_input(arguments, input_name):
    valid = {"num_frames": 10, "clip_length": 4, "num_steps": 2, "alpha": 7, "seam": "silent_pad"}
    with pytest.raises(PortraitInputError) as error:
        shift_fusion_schedule(**{**valid, **arguments})
    assert error.value.input_name == input_name
    assert "Fix:" in str(error.value)


# ---- fuse ----


@PROPERTY
@given(FRAMES, CLIP, ALPHA, STEPS, SEAM)
def test_gather_then_fuse_returns_each_frame_to_its_place(frames, clip, alpha, steps, seam):
    schedule = shift_fusion_schedule(frames, clip, steps, alpha, seam)
    frame_value = torch.arange(schedule.padded_length, dtype=torch.float64) * 1.5 + 0.25
    sequence = frame_value.view(1, 1, -1, 1, 1) + torch.tensor([0.0, 1000.0], dtype=torch.float64).view(1, 2, 1, 1, 1)
    sequence = sequence.expand(2, 2, -1, 3, 2)  # b c n h w, channel 1 offset by 1000
    for step in range(steps):
        fused = schedule.fuse_step(step, gather_windows(sequence, schedule.steps[step]))
        assert fused.shape == (2, 2, schedule.padded_length, 3, 2)
        torch.testing.assert_close(fused, sequence, rtol=0, atol=1e-9)


@PROPERTY
@given(st.integers(1, 60), st.integers(1, 12), ALPHA, SEAM, st.integers(0, 2**31 - 1))
def test_fuse_averages_duplicates_like_a_reference_loop(frames, clip, alpha, seam, seed):
    schedule = shift_fusion_schedule(frames, clip, 3, alpha, seam)
    windows = schedule.steps[2]
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(windows), 2, 3, clip, 2, 2, generator=generator, dtype=torch.float64)
    fused = fuse(outputs, windows, schedule.padded_length)
    for frame, expected in enumerate(reference_fuse(outputs, windows, schedule.padded_length)):
        torch.testing.assert_close(fused[:, :, frame], expected)


def test_fuse_gives_a_twice_visited_frame_the_mean_of_its_two_results():
    schedule = shift_fusion_schedule(6, 4, num_steps=1, alpha=0, seam="circular")  # [0 1 2 3] [4 5 0 1]
    outputs = torch.stack([torch.full((1, 1, 4, 1, 1), 2.0), torch.full((1, 1, 4, 1, 1), 6.0)])
    fused = fuse(outputs, schedule.steps[0], schedule.padded_length)
    assert fused.flatten().tolist() == [4.0, 4.0, 2.0, 2.0, 6.0, 6.0]


def test_fuse_streams_window_outputs_from_a_generator():
    schedule = shift_fusion_schedule(23, 5, num_steps=2, alpha=3, seam="circular")
    windows = schedule.steps[1]
    outputs = torch.randn(len(windows), 1, 2, 5, 3, 3)
    streamed = fuse((output for output in outputs), windows, schedule.padded_length)
    torch.testing.assert_close(streamed, fuse(outputs, windows, schedule.padded_length))
    with pytest.raises(ValueError):
        fuse(outputs[:-1], windows, schedule.padded_length)


def test_fuse_keeps_dtype_and_layout():
    schedule = shift_fusion_schedule(9, 4, num_steps=1, alpha=0, seam="silent_pad")
    outputs = torch.ones(3, 2, 4, 4, 5, 6, dtype=torch.bfloat16)
    fused = fuse(outputs, schedule.steps[0], schedule.padded_length)
    assert fused.dtype == torch.bfloat16
    assert fused.shape == (2, 4, 12, 5, 6)
    assert bool((fused == 1).all())


# ---- overlapping windows ----

OVERLAP_CASE = st.integers(1, 32).flatmap(lambda clip: st.tuples(FRAMES, st.just(clip), st.integers(0, clip - 1)))


@PROPERTY
@given(OVERLAP_CASE, STEPS)
def test_overlap_windows_are_full_length_stride_f_minus_o_and_end_at_the_last_frame(case, steps):
    frames, clip, overlap = case
    schedule = overlap_schedule(frames, clip, overlap, steps)
    windows = schedule.steps[0]
    assert schedule.mode == "overlap" and schedule.padded_length == frames
    assert len(schedule.steps) == steps and all(torch.equal(w, windows) for w in schedule.steps)
    assert windows.shape[1] == clip
    assert schedule.clip_forwards == len(windows) * steps
    assert bool((schedule.visit_counts(0) >= 1).all())
    if frames < clip:
        assert windows.tolist() == [[position % frames for position in range(clip)]]
        return
    starts = windows[:, 0]
    assert torch.equal(windows, starts[:, None] + torch.arange(clip))  # contiguous, no wrap
    assert int(starts[0]) == 0 and int(windows[-1, -1]) == frames - 1
    gaps = starts[1:] - starts[:-1]
    assert bool((gaps > 0).all()) and bool((gaps <= clip - overlap).all())
    assert len(windows) == 1 + math.ceil((frames - clip) / (clip - overlap))


@PROPERTY
@given(OVERLAP_CASE)
def test_overlap_blend_shares_sum_to_one_per_frame(case):
    frames, clip, overlap = case
    schedule = overlap_schedule(frames, clip, overlap, 1)
    shares = frame_shares(schedule.steps[0], frames, schedule.blend)
    per_frame = torch.zeros(frames, dtype=torch.float64).index_add_(0, schedule.steps[0].flatten(), shares.flatten())
    torch.testing.assert_close(per_frame, torch.ones(frames, dtype=torch.float64))


@PROPERTY
@given(OVERLAP_CASE, st.integers(0, 2**31 - 1))
def test_overlap_fuse_matches_weighted_reference_and_keeps_frame_values(case, seed):
    frames, clip, overlap = case
    schedule = overlap_schedule(frames, clip, overlap, 1)
    windows = schedule.steps[0]
    sequence = torch.arange(frames, dtype=torch.float64).view(1, 1, -1, 1, 1).expand(1, 2, -1, 2, 1)
    torch.testing.assert_close(schedule.fuse_step(0, gather_windows(sequence, windows)), sequence)
    if frames > 60:
        return  # the per-element reference is slow; small cases cover it
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(windows), 1, 2, clip, 2, 1, generator=generator, dtype=torch.float64)
    fused = fuse(outputs, windows, frames, schedule.blend)
    for frame, expected in enumerate(reference_fuse(outputs, windows, frames, schedule.blend)):
        torch.testing.assert_close(fused[:, :, frame], expected)


def test_blend_hands_over_with_linear_ramps():
    assert blend_weights(8, 2).tolist() == [1, 2, 3, 3, 3, 3, 2, 1]
    assert blend_weights(5, 0).tolist() == [1, 1, 1, 1, 1]
    schedule = overlap_schedule(20, 8, 2, 1)  # windows start at 0, 6, 12
    assert schedule.steps[0][:, 0].tolist() == [0, 6, 12]
    shares = frame_shares(schedule.steps[0], 20, schedule.blend)
    torch.testing.assert_close(shares[0, 6:], torch.tensor([2 / 3, 1 / 3], dtype=torch.float64))
    torch.testing.assert_close(shares[1, :2], torch.tensor([1 / 3, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(shares[0, :6], torch.ones(6, dtype=torch.float64))


def test_overlap_zero_equals_consecutive_clips():
    schedule = overlap_schedule(12, 4, 0, 2)
    assert schedule.steps[1].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert schedule.visit_counts(1).tolist() == [1] * 12


@pytest.mark.parametrize("overlap", [-1, 4, 9])
def test_overlap_must_be_shorter_than_a_clip(overlap):
    with pytest.raises(PortraitInputError) as error:
        overlap_schedule(20, 4, overlap, 1)
    assert error.value.input_name == "overlap"


# ---- Hallo motion frames ----

MOTION_CASE = st.integers(1, 32).flatmap(lambda clip: st.tuples(FRAMES, st.just(clip), st.integers(0, clip)))


@PROPERTY
@given(MOTION_CASE)
def test_motion_frame_clips_make_every_frame_new_exactly_once(case):
    frames, clip, motion = case
    clips = motion_frame_clips(frames, clip, motion)
    assert clips.padded_length == math.ceil(frames / clip) * clip
    assert len(clips) == math.ceil(frames / clip) and clips.new_frames.shape == (len(clips), clip)
    new = torch.cat([new for new, _ in clips])
    assert torch.bincount(new, minlength=clips.padded_length).tolist() == [1] * clips.padded_length
    assert new.tolist() == list(range(clips.padded_length))  # generated in order


@PROPERTY
@given(MOTION_CASE)
def test_each_clip_is_conditioned_on_the_last_frames_of_the_previous_clip(case):
    frames, clip, motion = case
    clips = motion_frame_clips(frames, clip, motion)
    pairs = list(clips)
    assert pairs[0][1].numel() == 0  # the first clip has only the reference image
    for (previous_new, _), (_, context) in zip(pairs, pairs[1:]):
        assert context.tolist() == previous_new[clip - motion :].tolist()
        assert bool((context < frames).all())  # context never includes silent padding


@pytest.mark.parametrize("motion", [-1, 5])
def test_motion_frames_must_fit_a_clip(motion):
    with pytest.raises(PortraitInputError) as error:
        motion_frame_clips(20, 4, motion)
    assert error.value.input_name == "motion_frames"
