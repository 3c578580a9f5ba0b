"""Audio stage: speech encoders of papers 000 §3.1 (XLS-R), 001 §3.2 (wav2vec2, Hallo) and 002 §3.1 (Whisper,
Sonic), frame-aligned into per-video-frame context blocks b f l c (`pipelines.conditions.AudioEmbeddings`)."""

from .embed import embed_audio
from .encoders import LAYOUTS, AudioEncoder, detect_layout, load_audio_encoder
from .frame_alignment import frame_count
from .preview import audio_preview

__all__ = ["LAYOUTS", "AudioEncoder", "audio_preview", "detect_layout", "embed_audio", "frame_count",
           "load_audio_encoder"]
