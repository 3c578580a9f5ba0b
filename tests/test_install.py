"""install.py, the step ComfyUI-Manager runs after cloning: ComfyUI's folders found from the pack's place, the
templates' inputs copied without replacing a user's file, and a failing step reported in one line with its fix
while the others still run and the exit code stays 0 (ComfyUI starts anyway) unless --strict."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def install(monkeypatch):
    """install.py loaded by file location under a private name (the pack root stays off sys.path)."""
    spec = importlib.util.spec_from_file_location("gated_portrait_install", REPO / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "folder_paths", None)  # run as the Manager runs it: no ComfyUI importable
    return module


def test_folders_are_found_from_the_pack_inside_custom_nodes(install, monkeypatch, tmp_path):
    comfy = tmp_path / "ComfyUI"
    monkeypatch.setattr(install, "PACK_DIR", comfy / "custom_nodes" / "ComfyUI-GatedPortrait")
    assert install.comfy_folders() == (comfy / "models", comfy / "input")
    monkeypatch.setattr(install, "PACK_DIR", tmp_path / "elsewhere" / "ComfyUI-GatedPortrait")
    with pytest.raises(RuntimeError, match="not inside ComfyUI/custom_nodes. Fix: pass --models-dir"):
        install.comfy_folders()


def test_inputs_are_copied_once_and_a_users_file_is_kept(install, tmp_path):
    shipped = sorted(p.name for p in install.INPUT_FILES.iterdir())
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "speech.wav").write_bytes(b"the user's own speech")
    message = install.copy_inputs(tmp_path / "input")
    assert (tmp_path / "input" / "speech.wav").read_bytes() == b"the user's own speech"
    assert "speech.wav" not in message.split("copied ")[1].split(", ")
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == shipped
    assert install.copy_inputs(tmp_path / "input").endswith("already present")


def test_a_failing_step_prints_one_line_with_its_fix_and_the_rest_still_runs(install, monkeypatch, tmp_path, capsys):
    def offline(module, *args):
        raise RuntimeError("ERROR: No matching distribution found for mediapipe==0.10.21")

    monkeypatch.setattr(install, "run_module", offline)
    monkeypatch.setattr(install, "install_demo_model", lambda models_dir: "demo model: copied")
    args = ["--models-dir", str(tmp_path / "models"), "--input-dir", str(tmp_path / "input")]
    assert install.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    failed = [line for line in lines if "not installed" in line]
    assert len(failed) == 4 and all("No matching distribution" in line and "Fix: in " in line for line in failed)
    assert "`python -m scripts.fetch_face_models`" in failed[0] and "fetch_voice_models" in failed[1]
    assert f"`python -m scripts.fetch_tts_voices {tmp_path / 'models' / 'tts'}`" in failed[2]
    assert "convert_whisper_tiny" in failed[3]
    assert any("template inputs" in line and "copied" in line for line in lines)
    assert install.main([*args, "--strict"]) == 1
