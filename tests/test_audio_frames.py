"""Frame alignment: F = ceil(duration * fps), encoder positions per frame, edge-padded context blocks."""

import math
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.audio import embed_audio, frame_count, load_audio_encoder
from pipelines.audio.frame_alignment import (
    context_blocks,
    exact_fps,
    frame_positions,
    position_windows,
    sample_at,
)
from scripts.tiny_encoders import save_tiny_encoder

COMMON_FPS = [1, 8, 12, 15, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60, 120]


@pytest.fixture(scope="module")
def xlsr(tmp_path_factory):
    return load_audio_encoder(save_tiny_encoder(str(tmp_path_factory.mktemp("xlsr")), "xlsr_mean"), "xlsr_mean")


def test_ntsc_rates_are_exact():
    assert exact_fps(29.97) == Fraction(2997, 100)
    assert exact_fps(30000 / 1001) == Fraction(30000, 1001)
    assert exact_fps(25.0) == 25


@given(
    samples=st.integers(1, 48000 * 120),
    sample_rate=st.sampled_from([8000, 16000, 22050, 44100, 48000, 96000]),
    fps=st.sampled_from(COMMON_FPS),
)
def test_frame_count_is_the_ceiling_of_duration_times_fps(samples, sample_rate, fps):
    frames = frame_count(samples, sample_rate, fps)
    rate = exact_fps(fps)
    # every started 1/fps interval has a frame, and no frame starts after the audio ends
    assert Fraction(frames - 1) / rate < Fraction(samples, sample_rate) <= Fraction(frames) / rate
    assert frames == math.ceil(Fraction(samples, sample_rate) * rate)


def test_frame_count_at_exact_boundaries():
    assert frame_count(16000, 16000, 25) == 25  # 1 s at 25 fps: exactly 25 frames, not 26
    assert frame_count(16001, 16000, 25) == 26
    assert frame_count(1, 44100, 25) == 1
    assert frame_count(1001 * 48, 48000, 30000 / 1001) == 30  # 1.001 s of NTSC video is exactly 30 frames


def test_frame_positions_follow_hallos_corner_aligned_interpolation():
    features = torch.randn(1, 7, 3)
    for frames in (1, 2, 5, 7, 16):
        ours = sample_at(features, frame_positions(frames, 7))
        reference = F.interpolate(features.transpose(1, 2), size=frames, mode="linear", align_corners=True)
        if frames == 1:
            reference = features[:, :1].transpose(1, 2)  # a single frame reads the first position
        torch.testing.assert_close(ours, reference.transpose(1, 2))


def test_context_blocks_are_edge_padded_neighbours():
    sequence = torch.arange(6, dtype=torch.float32).reshape(1, 6, 1).repeat(2, 1, 3)  # b f c, value = frame index
    blocks = context_blocks(sequence, 5)
    assert blocks.shape == (2, 6, 5, 3)
    expected = torch.tensor([[0, 0, 0, 1, 2], [0, 0, 1, 2, 3], [0, 1, 2, 3, 4],
                             [1, 2, 3, 4, 5], [2, 3, 4, 5, 5], [3, 4, 5, 5, 5]], dtype=torch.float32)
    assert torch.equal(blocks[0, :, :, 0], expected)
    assert torch.equal(blocks[1, :, :, 2], expected)
    assert torch.equal(context_blocks(sequence, 1)[:, :, 0], sequence)
    assert torch.equal(context_blocks(sequence[:, :1], 3)[0, 0, :, 0], torch.zeros(3))


def test_context_blocks_keep_channels_with_their_frame():
    sequence = torch.randn(1, 9, 4)
    blocks = context_blocks(sequence, 3)
    for frame in range(9):
        for k, neighbour in enumerate(range(frame - 1, frame + 2)):
            assert torch.equal(blocks[0, frame, k], sequence[0, min(max(neighbour, 0), 8)])


def test_position_windows_clamp_at_both_ends():
    sequence = torch.arange(20, dtype=torch.float32).reshape(1, 20, 1)
    windows = position_windows(sequence, torch.tensor([0, 10, 19]), before=4, length=10)
    assert windows.shape == (1, 3, 10, 1)
    assert windows[0, 0, :, 0].tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 4, 5]
    assert windows[0, 1, :, 0].tolist() == list(range(6, 16))
    assert windows[0, 2, :, 0].tolist() == [15, 16, 17, 18, 19, 19, 19, 19, 19, 19]


@settings(max_examples=20, deadline=None)
@given(
    duration_ms=st.integers(1, 2500),
    sample_rate=st.sampled_from([8000, 16000, 44100, 48000]),
    fps=st.sampled_from(COMMON_FPS),
)
def test_embeddings_have_one_block_per_video_frame(xlsr, duration_ms, sample_rate, fps):
    samples = max(1, duration_ms * sample_rate // 1000)
    waveform = torch.randn(1, 1, samples, generator=torch.Generator().manual_seed(duration_ms)) * 0.1
    embeddings = embed_audio(xlsr, waveform, sample_rate, fps=fps)
    assert embeddings.frames == frame_count(samples, sample_rate, fps)
    assert embeddings.blocks.shape == (1, embeddings.frames, 5, 32)
    assert embeddings.duration_s == pytest.approx(samples / sample_rate)
    assert torch.isfinite(embeddings.blocks).all()
