"""Streaming mp4 output of the VAE video decode stage: H.264 video with the driving audio as AAC.

Frames reach the ffmpeg binary shipped by imageio-ffmpeg as raw rgb24 over stdin, one chunk at a
time, so a long video never sits in memory whole. The file is written under a hidden partial name in
the destination folder and renamed only when ffmpeg finished cleanly: a cancelled or failed save
leaves neither a partial mp4 nor a temporary file behind, and what a killed process leaves carries
output_files.PARTIAL_PREFIX, so the next start removes it.

Sizes: H.264 in yuv420p needs an even width and height. Frames with an odd side are padded by
one row and/or column that repeats the last one (edge replication), so the video is at most one
pixel wider/taller than the frames and nothing is cropped.

Letters: n frames of one chunk, c audio channels, t audio samples, h w spatial.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
import torch

from .errors import PortraitInputError
from .output_files import partial_path

#: x264 constant rate factor: 17-19 is visually near-lossless for portraits.
DEFAULT_CRF = 19
DEFAULT_PRESET = "medium"
AAC_BITRATE = "192k"


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary that imageio-ffmpeg ships (imported here so the pack loads without it)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def exact_rate(fps: float) -> str:
    """fps as the rational ffmpeg expects, e.g. 25 -> '25/1', 23.976 -> '2997/125'."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


def to_rgb24(frames: torch.Tensor) -> np.ndarray:
    """Frames n h w 3 in 0..1 -> uint8 n H W 3 with H, W even (odd sides edge-padded by one)."""
    rgb = (frames[..., :3].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    pad_h, pad_w = rgb.shape[1] % 2, rgb.shape[2] % 2
    if pad_h or pad_w:
        rgb = np.pad(rgb, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return rgb


def _ffmpeg_command(size: tuple[int, int], fps: float, out_path: str, audio: tuple[str, int, int] | None,
                    crf: int, preset: str) -> list[str]:
    """Command line: raw rgb24 frames of size (h, w) on stdin (+ raw f32le audio file) -> mp4."""
    height, width = size
    command = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", exact_rate(fps), "-i", "pipe:0",
    ]
    maps = ["-map", "0:v:0"]
    codecs = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
    if audio is not None:
        audio_path, sample_rate, channels = audio
        command += ["-f", "f32le", "-ar", str(sample_rate), "-ac", str(channels), "-i", audio_path]
        maps += ["-map", "1:a:0"]
        codecs += ["-c:a", "aac", "-b:a", AAC_BITRATE]
    return command + maps + codecs + ["-movflags", "+faststart", "-f", "mp4", out_path]


def _write_raw_audio(folder: str, waveform: torch.Tensor) -> str:
    """Write c t float audio as interleaved little-endian float32 samples to a hidden partial file; returns its path."""
    path = partial_path(folder, ".f32")
    with open(path, "xb") as file:
        waveform.detach().float().cpu().T.contiguous().numpy().astype("<f4", copy=False).tofile(file)
    return path


def _check_audio(waveform: torch.Tensor, sample_rate: int | None) -> None:
    if waveform.ndim != 2 or waveform.shape[0] < 1 or waveform.shape[1] < 1:
        raise PortraitInputError(
            "audio", f"has a waveform of shape {tuple(waveform.shape)}, expected channels x samples with sound",
            "connect a non-empty AUDIO (e.g. from LoadAudio)",
        )
    if not sample_rate or sample_rate <= 0:
        raise PortraitInputError("audio", f"has sample rate {sample_rate}", "connect an AUDIO with its sample rate")


def write_mp4(
    path: str,
    frames: Iterable[torch.Tensor],
    fps: float,
    waveform: torch.Tensor | None = None,
    sample_rate: int | None = None,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
) -> str:
    """Stream chunks of frames (each n h w 3 in 0..1) into an H.264 mp4 at `path`; returns `path`.

    waveform: c t audio (mono, stereo or more channels, any sample rate) muxed in full as AAC.
    An exception raised while iterating `frames` (a cancel) stops ffmpeg and removes every
    temporary file; nothing appears at `path`.
    """
    if waveform is not None:
        _check_audio(waveform, sample_rate)
    folder = os.path.dirname(os.path.abspath(path))
    partial = partial_path(folder, ".mp4")  # ffmpeg creates it
    audio_path = None
    process = None
    with tempfile.TemporaryFile() as log:
        try:
            if waveform is not None:
                audio_path = _write_raw_audio(folder, waveform)
                audio = (audio_path, int(sample_rate), waveform.shape[0])
            else:
                audio = None
            size = None
            for chunk in frames:
                rgb = to_rgb24(chunk)
                if process is None:
                    size = rgb.shape[1:3]
                    command = _ffmpeg_command(size, fps, partial, audio, crf, preset)
                    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
                elif rgb.shape[1:3] != size:
                    raise ValueError(f"frame size changed from {size} to {rgb.shape[1:3]} within one video")
                _send(process, log, np.ascontiguousarray(rgb).data)
            if process is None:
                raise ValueError("no frames to write")
            _send(process, log, None)
            if process.wait() != 0:
                raise RuntimeError(f"ffmpeg failed (exit {process.returncode}): {_read_log(log)}")
            os.replace(partial, path)
        except BaseException:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
            _remove(partial)
            raise
        finally:
            if process is not None:
                with contextlib.suppress(OSError):  # a killed ffmpeg cannot take the rest of the buffer
                    process.stdin.close()
            if audio_path is not None:
                _remove(audio_path)
    return path


def _send(process: subprocess.Popen, log, data: memoryview | None) -> None:
    """Write frame bytes to ffmpeg's stdin (None: close it, ending the video); a dead ffmpeg raises with its log."""
    try:
        if data is None:
            process.stdin.close()
        else:
            process.stdin.write(data)
    except BrokenPipeError:
        process.wait()
        raise RuntimeError(f"ffmpeg stopped while encoding: {_read_log(log)}") from None


def _read_log(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace").strip()


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
