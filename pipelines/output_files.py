"""Names of the files the pack writes into the output folder: the user's prefix checked before any work, and
the hidden partial files of a save in progress, recognisable so a later start removes what a crash left.

A prefix may hold sub-folders ('portraits/take'); each part must be a file name the system takes (at most 255
bytes with the '_00001_.mp4' the saver appends), without NUL, line breaks or other control characters, and
the whole must stay inside the output folder (no absolute path, no '..').
"""

from __future__ import annotations

import os
import re
import uuid

from .errors import PortraitInputError

#: Start of every partial file's name (a save in progress); nothing else in the output folder starts so.
PARTIAL_PREFIX = ".gated_portrait_partial_"
#: Longest file name (bytes) Linux, macOS and Windows file systems take.
MAX_NAME_BYTES = 255
#: What the saver appends to the prefix's last part: '_' + 5-digit counter + '_.mp4'.
SAVE_SUFFIX = "_00000_.mp4"
PREFIX_FIX = "use a file name, or a sub-folder inside the output folder such as 'portraits/take'"


def check_filename_prefix(prefix: str) -> None:
    """Raise PortraitInputError('filename_prefix', ...) when `prefix` cannot name a file inside the output folder."""
    shown = prefix if len(prefix) <= 40 else prefix[:40] + "..."
    if not prefix.strip():
        raise PortraitInputError("filename_prefix", "is empty", PREFIX_FIX)
    control = next((c for c in prefix if ord(c) < 32 or ord(c) == 127), None)
    if control is not None:
        what = "a NUL character" if control == "\0" else "a line break" if control in "\r\n" else "a control character"
        raise PortraitInputError(
            "filename_prefix", f"{shown!r} contains {what} (U+{ord(control):04X}), which no file name may hold",
            "remove it (type the name on one line)",
        )
    parts = re.split(r"[\\/]", prefix)
    if os.path.isabs(prefix) or re.match(r"^[A-Za-z]:", prefix) or prefix.startswith("\\"):
        raise PortraitInputError("filename_prefix", f"'{shown}' is an absolute path, outside the output folder", PREFIX_FIX)
    if ".." in parts:
        raise PortraitInputError("filename_prefix", f"'{shown}' leads outside the output folder ('..')", PREFIX_FIX)
    limit = MAX_NAME_BYTES - len(SAVE_SUFFIX)
    for part in parts:
        size = len(part.encode("utf-8"))
        if size > limit:
            raise PortraitInputError(
                "filename_prefix", f"the name '{part[:40]}...' is {size} bytes, file names take at most {limit} "
                f"before the '{SAVE_SUFFIX}' the saver appends", "shorten it (or split it into sub-folders with '/')",
            )


def partial_path(folder: str, suffix: str) -> str:
    """A fresh hidden partial file name in `folder`, short whatever the final name (e.g. '.mp4', '.f32')."""
    return os.path.join(folder, f"{PARTIAL_PREFIX}{uuid.uuid4().hex[:16]}{suffix}")


def remove_stale_partials(output_dir: str, older_than: float) -> list[str]:
    """Delete the partial files under `output_dir` last written before `older_than` (a Unix time: the server's
    start, so saves in progress are kept); only names starting with PARTIAL_PREFIX. -> the paths removed."""
    removed = []
    for root, _dirs, files in os.walk(output_dir):
        for name in files:
            path = os.path.join(root, name)
            if not name.startswith(PARTIAL_PREFIX) or os.path.islink(path):
                continue
            try:
                if os.path.getmtime(path) < older_than:
                    os.remove(path)
                    removed.append(path)
            except FileNotFoundError:
                pass
    return removed
