"""AudioEncode end to end: ComfyUI-style audio in, per-video-frame audio context blocks out (papers 000 §3.1,
001 §3.2, 002 §3.1).

validate -> (vocals instead of the mix, if given) -> downmix + resample to 16 kHz -> optional loudness
normalisation -> encoder input normalisation -> windowed encoding -> frame alignment into b f l c blocks.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..conditions import AudioEmbeddings
from ..errors import PortraitInputError
from .encoders import AudioEncoder
from .frame_alignment import frame_count
from .preprocess import ENCODER_SAMPLE_RATE, normalize_loudness, to_mono_16k, validate_audio
from .windowed import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, encode_windowed

#: Length of the silent clip whose middle frame gives the silence block.
SILENCE_S = 1.0


def validate_settings(fps: float, context_frames: int, uses_context_frames: bool = True) -> None:
    if not fps > 0:
        raise PortraitInputError("fps", f"{fps} is not a positive frame rate", "use the video's frame rate, e.g. 25")
    if uses_context_frames and (context_frames < 1 or context_frames % 2 == 0):
        raise PortraitInputError(
            "context_frames", f"{context_frames} is not an odd number >= 1",
            "use an odd window (5 = the frame +- 2, as LinguaLinker and Hallo)",
        )


def speech_source(
    waveform: torch.Tensor, sample_rate: int, vocals: tuple[torch.Tensor, int] | None, fps: float
) -> tuple[torch.Tensor, int]:
    """The track to encode: already-separated vocals when given (checked against the mix's length), else the mix."""
    if vocals is None:
        return waveform, sample_rate
    vocal_wave, vocal_rate = vocals
    validate_audio(vocal_wave, vocal_rate, "vocals")
    gap_s = abs(vocal_wave.shape[-1] / vocal_rate - waveform.shape[-1] / sample_rate)
    if gap_s > 1.0 / fps:
        raise PortraitInputError(
            "vocals", f"the vocals are {gap_s:.2f} s longer or shorter than the audio",
            "connect vocals separated from this same audio clip (or leave `vocals` unconnected)",
        )
    if vocal_wave.shape[0] != waveform.shape[0]:
        raise PortraitInputError(
            "vocals", f"batch of {vocal_wave.shape[0]} clips against {waveform.shape[0]} in audio",
            "separate the vocals of each audio clip",
        )
    return vocal_wave, vocal_rate


def silence_block(encoder: AudioEncoder, fps: float, context_frames: int) -> torch.Tensor:
    """The block of a video frame inside silence (for frames padded past the audio's end), cached per setting: l c."""
    key = (float(fps), context_frames)
    if key not in encoder.silence_blocks:
        samples = round(SILENCE_S * ENCODER_SAMPLE_RATE)
        frames = frame_count(samples, ENCODER_SAMPLE_RATE, fps)
        sequence = encode_windowed(encoder, encoder.prepare(torch.zeros(1, samples)), frames, fps)
        encoder.silence_blocks[key] = encoder.to_blocks(sequence, frames, context_frames)[0, frames // 2].contiguous()
    return encoder.silence_blocks[key]


def embed_audio(
    encoder: AudioEncoder,
    waveform: torch.Tensor,
    sample_rate: int,
    fps: float = 25.0,
    context_frames: int = 5,
    loudness: bool = False,
    vocals: tuple[torch.Tensor, int] | None = None,
    device: torch.device | str | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    overlap_s: float = DEFAULT_OVERLAP_S,
    callback: Callable[[int, int], None] | None = None,
) -> AudioEmbeddings:
    """Per-video-frame audio context blocks of waveform b c t: blocks b f l c with f = ceil(duration * fps).

    Also fills `silence` (l c, the blocks of silent audio). The encoder runs on `device` (default: where it is) and
    goes back to its previous device afterwards.
    """
    validate_audio(waveform, sample_rate, "audio")
    validate_settings(fps, context_frames, encoder.uses_context_frames)
    frames = frame_count(waveform.shape[-1], sample_rate, fps)
    speech, speech_rate = speech_source(waveform, sample_rate, vocals, fps)
    wave = to_mono_16k(speech, speech_rate)
    if loudness:
        wave = normalize_loudness(wave)
    home = encoder.device
    encoder.to(device if device is not None else home)
    try:
        sequence = encode_windowed(encoder, encoder.prepare(wave), frames, fps, window_s, overlap_s, callback)
        silence = silence_block(encoder, fps, context_frames)
    finally:
        encoder.to(home)
    return AudioEmbeddings(
        blocks=encoder.to_blocks(sequence, frames, context_frames),
        fps=float(fps),
        encoder=encoder.kind,
        duration_s=waveform.shape[-1] / sample_rate,
        silence=silence,
    )
