"""Audio input checks and the encoders' common input: mono speech at 16 kHz (papers 000 §3.1, 001 §3.2, 002 §3.1).

All three seed encoders (Wav2Vec2-XLS-R, wav2vec2-base-960h, Whisper-tiny) were trained on 16 kHz mono speech.
Letters: b batch, c channels, t samples.
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF

from ..errors import PortraitInputError

#: Sample rate every supported encoder expects.
ENCODER_SAMPLE_RATE = 16000
#: Sample rates outside this range are treated as a wiring mistake, not as audio.
SAMPLE_RATE_RANGE = (1000, 768000)
#: Integrated loudness that `normalize_loudness` brings speech to (EBU R128 programme level).
TARGET_LUFS = -23.0


def validate_audio(waveform: torch.Tensor, sample_rate: int, input_name: str = "audio") -> None:
    """Raise PortraitInputError naming `input_name` unless waveform b c t at `sample_rate` is usable audio.

    Silence is usable (it encodes as the embeddings of silence); empty, non-finite or mis-shaped audio is not.
    """
    if not isinstance(waveform, torch.Tensor) or waveform.dim() != 3:
        shape = tuple(waveform.shape) if isinstance(waveform, torch.Tensor) else type(waveform).__name__
        raise PortraitInputError(
            input_name, f"expected a waveform of shape [batch, channels, samples], got {shape}",
            "connect the AUDIO output of a LoadAudio (or another audio) node",
        )
    if not isinstance(sample_rate, (int, float)) or not (SAMPLE_RATE_RANGE[0] <= sample_rate <= SAMPLE_RATE_RANGE[1]):
        raise PortraitInputError(
            input_name, f"sample rate {sample_rate!r} Hz is outside {SAMPLE_RATE_RANGE[0]}..{SAMPLE_RATE_RANGE[1]} Hz",
            "load the file with LoadAudio, which reports the file's real sample rate",
        )
    if int(sample_rate) != sample_rate:
        raise PortraitInputError(
            input_name, f"sample rate {sample_rate!r} Hz is not a whole number", "use an integer sample rate"
        )
    batch, channels, samples = waveform.shape
    if batch == 0 or channels == 0 or samples == 0:
        raise PortraitInputError(
            input_name, f"the audio is empty (shape {tuple(waveform.shape)})",
            "connect a clip with at least one sample; for a silent video use a clip of silence of the wanted length",
        )
    if not waveform.is_floating_point():
        raise PortraitInputError(
            input_name, f"samples are {waveform.dtype}, not floating point",
            "connect ComfyUI AUDIO (float samples in -1..1)",
        )
    if not torch.isfinite(waveform).all():
        raise PortraitInputError(
            input_name, "the waveform contains NaN or infinite samples",
            "re-export the audio file, or check the node that produced this audio",
        )


def to_mono_16k(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Downmix (channel mean) and resample to 16 kHz: b c t -> b t'."""
    mono = waveform.float().mean(dim=1)  # b t
    if int(sample_rate) == ENCODER_SAMPLE_RATE:
        return mono
    return AF.resample(mono, int(sample_rate), ENCODER_SAMPLE_RATE)


def normalize_loudness(wave: torch.Tensor, target_lufs: float = TARGET_LUFS) -> torch.Tensor:
    """Gain each item of 16 kHz mono b t to `target_lufs` (ITU-R BS.1770); silence and clips < 0.4 s stay as is."""
    if wave.shape[-1] < 0.4 * ENCODER_SAMPLE_RATE:
        return wave
    measured = AF.loudness(wave.unsqueeze(1), ENCODER_SAMPLE_RATE)  # b
    gains = [
        10.0 ** ((target_lufs - lufs) / 20.0) if math.isfinite(lufs) else 1.0 for lufs in measured.tolist()
    ]
    return wave * torch.tensor(gains, dtype=wave.dtype, device=wave.device).unsqueeze(1)
