"""Streaming mp4 writer (pipelines/video_writer.py), checked with the ffmpeg binary of imageio-ffmpeg."""

import os
import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch

from pipelines.errors import PortraitInputError
from pipelines.video_writer import exact_rate, ffmpeg_exe, to_rgb24, write_mp4


def probe(path: str) -> str:
    """ffmpeg's stream description of a file (what ffprobe would print)."""
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True, text=True).stderr


def audio_samples(path: str, channels: int) -> int:
    """Number of decoded audio samples per channel in the file."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le", "-"], capture_output=True, check=True
    ).stdout
    return len(raw) // (4 * channels)


def chunks_of(frames: torch.Tensor, size: int):
    for start in range(0, len(frames), size):
        yield frames[start : start + size]


def test_exact_rate_is_a_rational():
    assert exact_rate(25) == "25/1"
    assert exact_rate(23.976) == "2997/125"
    assert exact_rate(12.5) == "25/2"


def test_odd_sizes_are_padded_by_edge_replication():
    frames = torch.rand(2, 5, 7, 3)
    rgb = to_rgb24(frames)
    assert rgb.shape == (2, 6, 8, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[:, 5, :7], rgb[:, 4, :7])
    np.testing.assert_array_equal(rgb[:, :, 7], rgb[:, :, 6])
    np.testing.assert_array_equal(rgb[:, :5, :7], (frames * 255).round().to(torch.uint8).numpy())
    assert to_rgb24(torch.rand(1, 4, 6, 3)).shape == (1, 4, 6, 3)


@pytest.mark.parametrize(
    ("channels", "sample_rate", "layout"), [(1, 16000, "mono"), (2, 44100, "stereo"), (2, 48000, "stereo")]
)
def test_mp4_has_all_frames_exact_fps_and_the_full_audio(tmp_path, channels, sample_rate, layout):
    fps, frame_count = 25.0, 37  # 37 is no multiple of the chunk of 8
    waveform = 0.1 * torch.randn(channels, round(sample_rate * frame_count / fps))
    path = str(tmp_path / "clip.mp4")

    assert write_mp4(path, chunks_of(torch.rand(frame_count, 32, 48, 3), 8), fps, waveform, sample_rate) == path

    assert imageio_ffmpeg.count_frames_and_secs(path)[0] == frame_count
    info = probe(path)
    assert re.search(r"Video: h264 .*yuv420p.*48x32.* 25 fps", info)
    assert re.search(rf"Audio: aac .*{sample_rate} Hz, {layout}", info)
    assert abs(audio_samples(path, channels) - waveform.shape[1]) <= sample_rate / fps
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


def test_mp4_without_audio_has_no_audio_stream_and_keeps_colours(tmp_path):
    path = str(tmp_path / "silent.mp4")
    colours = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.3, 0.9]])
    frames = colours[:, None, None, :].expand(3, 33, 31, 3)  # odd sizes
    write_mp4(path, chunks_of(frames, 2), 30.0)

    info = probe(path)
    assert "Audio:" not in info and re.search(r"32x34.* 30 fps", info)
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    decoded = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    assert len(decoded) == 3
    for frame, colour in zip(decoded, colours):
        np.testing.assert_allclose(frame.reshape(-1, 3).mean(0) / 255, colour.numpy(), atol=0.03)


def test_cancel_mid_stream_leaves_no_file_and_no_temp_file(tmp_path):
    def cancelled_after_two_chunks():
        yield torch.rand(4, 16, 16, 3)
        yield torch.rand(4, 16, 16, 3)
        raise InterruptedError("user cancelled")

    with pytest.raises(InterruptedError):
        write_mp4(str(tmp_path / "out.mp4"), cancelled_after_two_chunks(), 25.0, torch.zeros(2, 4800), 48000)
    assert os.listdir(tmp_path) == []


def test_cancel_before_the_first_frame_leaves_nothing(tmp_path):
    def cancelled_at_once():
        raise InterruptedError("user cancelled")
        yield

    with pytest.raises(InterruptedError):
        write_mp4(str(tmp_path / "out.mp4"), cancelled_at_once(), 25.0, torch.zeros(1, 4800), 48000)
    assert os.listdir(tmp_path) == []


def test_ffmpeg_failure_and_bad_input_leave_nothing(tmp_path):
    frames = [torch.rand(2, 16, 16, 3)]
    with pytest.raises(RuntimeError, match="ffmpeg"):
        write_mp4(str(tmp_path / "a.mp4"), frames, 25.0, preset="no-such-preset")
    with pytest.raises(ValueError, match="frame size changed"):
        write_mp4(str(tmp_path / "b.mp4"), [torch.rand(2, 16, 16, 3), torch.rand(2, 8, 8, 3)], 25.0)
    with pytest.raises(ValueError, match="no frames"):
        write_mp4(str(tmp_path / "c.mp4"), [], 25.0)
    with pytest.raises(PortraitInputError, match="^audio: has sample rate None"):
        write_mp4(str(tmp_path / "d.mp4"), frames, 25.0, torch.zeros(1, 10), None)
    assert os.listdir(tmp_path) == []
