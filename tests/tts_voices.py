"""The Piper voice the install step fetches (python -m scripts.fetch_tts_voices models/tts, run by make install)."""

from __future__ import annotations

import os

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPER_VOICE = os.environ.get("GATED_PORTRAIT_PIPER_VOICE",
                             os.path.join(REPO_ROOT, "models", "tts", "en_US-joe-medium.onnx"))
needs_piper_voice = pytest.mark.skipif(
    not os.path.isfile(PIPER_VOICE),
    reason=f"no Piper voice at {PIPER_VOICE}: run python -m scripts.fetch_tts_voices models/tts",
)
