"""Output names: a bad filename_prefix is refused naming the input and the fix; partial files of a killed save carry
one prefix and are removed at the next start, only when older than that start, only under the output folder."""

from __future__ import annotations

import os
import time

import pytest

from pipelines.errors import PortraitInputError
from pipelines.output_files import PARTIAL_PREFIX, check_filename_prefix, partial_path, remove_stale_partials


@pytest.mark.parametrize("prefix", ["GatedPortrait", "portraits/take", "ä" * 120, "a" * 244 + "/" + "b" * 244])
def test_good_prefixes_pass(prefix):
    check_filename_prefix(prefix)


@pytest.mark.parametrize(("prefix", "problem"), [
    ("../escaped/take", "leads outside the output folder"),
    ("portraits/../../x", "leads outside the output folder"),
    ("/tmp/take", "absolute path, outside the output folder"),
    ("C:\\\\take", "absolute path"),
    ("take\0name", "NUL character"),
    ("take\nname", "line break"),
    ("take\x1bname", "control character"),
    ("a" * 245, "245 bytes"),
    ("é" * 123, "246 bytes"),
    ("", "is empty"),
])
def test_bad_prefixes_are_refused_naming_the_input_and_the_fix(prefix, problem):
    with pytest.raises(PortraitInputError) as error:
        check_filename_prefix(prefix)
    assert str(error.value).startswith("filename_prefix:") and problem in str(error.value) and "Fix:" in str(error.value)


def test_partial_names_are_short_and_hidden_whatever_the_final_name(tmp_path):
    name = os.path.basename(partial_path(str(tmp_path), ".mp4"))
    assert name.startswith(PARTIAL_PREFIX) and name.endswith(".mp4") and len(name.encode()) < 64


def test_only_old_partial_files_in_the_output_folder_are_removed(tmp_path):
    output, outside = tmp_path / "output", tmp_path / "elsewhere"
    (output / "sub").mkdir(parents=True)
    outside.mkdir()
    start = time.time()
    old = [output / f"{PARTIAL_PREFIX}a.mp4", output / "sub" / f"{PARTIAL_PREFIX}b.f32", outside / f"{PARTIAL_PREFIX}c.mp4"]
    kept = [output / "take_00001_.mp4", output / ".take.mp4.abc.partial.mp4", output / f"{PARTIAL_PREFIX}new.mp4"]
    for path in old + kept:
        path.write_bytes(b"x")
    for path in old + kept[:2]:
        os.utime(path, (start - 60, start - 60))
    (output / "link").symlink_to(outside, target_is_directory=True)
    removed = remove_stale_partials(str(output), start)
    assert sorted(removed) == sorted(str(p) for p in old[:2])
    assert all(p.exists() for p in kept + old[2:]) and not any(p.exists() for p in old[:2])
