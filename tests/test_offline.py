"""No network at run time: with every socket refused, the render command and the model loaders the nodes use run
from local files, a model-hub name is refused without a connection attempt, and every from_pretrained call in the
pack passes local_files_only=True."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest

from apps.render import main
from pipelines.audio import load_audio_encoder
from render_fixtures import write_render_inputs

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Every connect and name lookup raises; returns the list of attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] if args else kwargs)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    return attempts


def _arguments(inputs: dict[str, Path], out: Path, vae: str) -> list[str]:
    return ["--portrait", str(inputs["portrait.png"]), "--audio", str(inputs["speech.wav"]),
            "--model", str(inputs["model.safetensors"]), "--audio-encoder", str(inputs["encoder"]),
            "--vae", vae, "--output", str(out / "video.mp4"), "--face-box", "16,16,32,32", "--steps", "1"]


def test_render_runs_with_sockets_blocked_and_refuses_a_hub_name_without_trying(tmp_path, no_network, capsys):
    inputs = write_render_inputs(tmp_path)
    assert main(_arguments(inputs, tmp_path, str(inputs["vae"]))) == 0
    assert (tmp_path / "video.mp4").stat().st_size > 0
    assert load_audio_encoder(str(inputs["encoder"])) is not None  # the nodes' encoder loader
    assert no_network == []
    capsys.readouterr()
    assert main(_arguments(inputs, tmp_path / "hub", "stabilityai/sd-vae-ft-mse")) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: vae:") and "never downloaded" in error and "Fix:" in error
    assert no_network == [], "no connection was attempted"


def test_every_from_pretrained_in_the_pack_is_local_only():
    calls = []
    for folder in ("pipelines", "nodes", "scripts", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "from_pretrained":
                    local = any(k.arg == "local_files_only" and getattr(k.value, "value", None) is True for k in node.keywords)
                    calls.append((f"{path.relative_to(REPO)}:{node.lineno}", local))
    assert calls and [c for c in calls if not c[1]] == []
