"""Red team, round 2, through the real host's HTTP API: phone-size photos, fast interrupts, no leftovers after a
kill -9, model-file errors in the pack's words, filename_prefix refused when queued, a 1x1 portrait, no network,
the size of the cached audio features. Every case asserts the error text (or the result), that the server still
answers, that nothing was written outside the output folder and that no partial file remains.

One server (the session's, with the demo models) serves every case but the crash: that one kills a second
server with SIGKILL while it streams an mp4 and starts a third on the same output folder.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import av
import pytest
import torch
from PIL import Image

from audio_speech import needs_whisper_tiny
from pipelines.model_files import save_portrait_model
from pipelines.output_files import PARTIAL_PREFIX
from pipelines.tiny_models import tiny_model
from scripts.comfy_host import ComfyHost, PromptFailed, PromptRejected
from scripts.demo_measures import enlarged_demo_portrait
from scripts.make_demo_models import DEMO_ENCODER, DEMO_VAE
from test_demo_workflow import _demo_prompt, _fail_message, _node_of, _silence_prompt, demo_host  # noqa: F401

PHONE = (4032, 3024)
#: A tiny-architecture model declared at 512 px: its model calls are long enough on a CPU to see where a cancel lands.
SLOW_MODEL = "tiny_at_512px.safetensors"
NETWORK_GUARD = '''
import os, socket, traceback
_log, _connect, _connect_ex, _lookup = os.environ["GATED_PORTRAIT_NET_LOG"], socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
_local = ("127.0.0.1", "::1", "localhost")
def _refuse(what):
    with open(_log, "a") as log:
        log.write(f"{what}\\n{''.join(traceback.format_stack())}\\n---\\n")
    raise OSError("network blocked by the red-team test")
def _guarded(original):
    def connect(self, address, *rest):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _local:
            _refuse(address)
        return original(self, address, *rest)
    return connect
def _getaddrinfo(host, *rest, **kw):
    if host not in _local and host is not None:
        _refuse(host)
    return _lookup(host, *rest, **kw)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = _guarded(_connect), _guarded(_connect_ex), _getaddrinfo
'''


class Payload:
    """Pickles into a command that leaves a file behind if any loader ever unpickled it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@dataclasses.dataclass
class RedTeam:
    host: ComfyHost
    outside_before: set[Path]  # files of the host's base folder outside output/ and temp/ before any case
    payload_marker: Path
    phone_face_box: str

    def outside_output(self) -> set[Path]:
        skip = (self.host.output_dir, self.host.temp_dir, self.host.base_dir / "user")
        return {p for p in _files(self.host.base_dir) if not any(p.is_relative_to(s) for s in skip) and p != self.host.log_path}

    def assert_clean(self) -> None:
        """The server answers; nothing new outside the output folder; no partial file; no payload ran."""
        assert self.host.get_json("/system_stats")["system"]
        assert self.outside_output() == self.outside_before
        assert [p for p in _files(self.host.output_dir) if p.name.startswith(PARTIAL_PREFIX) or ".partial." in p.name] == []
        assert not self.payload_marker.exists()


@pytest.fixture(scope="module")
def red_team(demo_host) -> RedTeam:
    host = demo_host
    marker = host.base_dir.parent / "payload_ran"
    phone_face_box = enlarged_demo_portrait(host.input_dir / "phone.jpg", PHONE)
    portrait = Image.open(host.input_dir / "demo_portrait.png").convert("RGB")
    portrait.resize((1, 1)).save(host.input_dir / "one_pixel.png")
    portrait.resize((256, 256), Image.BICUBIC).save(host.input_dir / "portrait_256.png")

    gated = host.models_dir / "gated_portrait"
    torch.save({"w": torch.zeros(2), "x": Payload(marker)}, gated / "payload.pth")
    torch.save({"w": torch.zeros(2), "x": Payload(marker)}, gated / "payload_renamed.safetensors")
    slow = tiny_model(alpha=0.2)
    slow.config = dataclasses.replace(slow.config, resolution=512)
    save_portrait_model(slow, gated / SLOW_MODEL)

    encoders = host.models_dir / "audio_encoders"
    pickled, broken = encoders / "payload_bin_encoder", encoders / "broken_json_encoder"
    for folder in (pickled, broken):
        shutil.copytree(encoders / DEMO_ENCODER, folder, dirs_exist_ok=True)
    (pickled / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(2), "x": Payload(marker)}, pickled / "pytorch_model.bin")
    (broken / "config.json").write_text('{\n  "model_type": "wav2vec2",\n  "hidden_size": 32,,\n}\n')
    team = RedTeam(host, set(), marker, phone_face_box)
    team.outside_before = team.outside_output()
    return team


def _phone_prompt(host, image: str, face_box: str, steps: int) -> dict:
    prompt = _demo_prompt(host)
    _node_of(prompt, "LoadImage")["inputs"]["image"] = image
    _node_of(prompt, "RegionMaskFromLandmarks")["inputs"]["face_box"] = face_box
    _node_of(prompt, "GatedUNetSample")["inputs"]["steps"] = steps
    _node_of(prompt, "VAEDecodeVideo")["inputs"]["filename_prefix"] = "red_team/phone"
    return prompt


def _tiny_prompt(host, image: str, face_box: str, steps: int) -> dict:
    """The demo graph on the tiny XLS-R encoder and the 512 px tiny model: runs without the Whisper folder."""
    prompt = _phone_prompt(host, image, face_box, steps)
    _node_of(prompt, "PortraitAudioEncoderLoader")["inputs"]["encoder_folder"] = DEMO_ENCODER
    _node_of(prompt, "ReferenceNetLoad")["inputs"]["model_name"] = SLOW_MODEL
    return prompt


def _sampler_ui(entry: dict, prompt: dict) -> list[str]:
    sampler_id = next(key for key, node in prompt.items() if node["class_type"] == "GatedUNetSample")
    return entry["outputs"][sampler_id]["gated_portrait_size"]


@needs_whisper_tiny
def test_a_phone_photo_is_sampled_at_the_model_resolution_and_the_node_shows_the_size(red_team):
    prompt = _phone_prompt(red_team.host, "phone.jpg", red_team.phone_face_box, steps=2)
    entry = red_team.host.run_prompt(prompt, timeout=300)
    # the demo model works at 64 px: 4032x3024 -> 74x55 at 64^2 pixels -> 80x48 in multiples of 16, face kept
    assert _sampler_ui(entry, prompt) == ["portrait 4032x3024 px, sampled at 80x48 px"]
    (mp4,) = [p for p in red_team.host.output_paths(entry) if p.suffix == ".mp4"]
    with av.open(str(mp4)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (80, 48)
    red_team.assert_clean()


def test_a_one_pixel_portrait_names_the_reference_and_the_fix(red_team):
    prompt = _tiny_prompt(red_team.host, "one_pixel.png", "0,0,1,1", steps=1)
    with pytest.raises(PromptFailed) as failure:
        red_team.host.run_prompt(prompt)
    message = _fail_message(failure.value)
    assert message.startswith("reference: the portrait is 1x1 px") and "Fix: use a portrait of at least" in message
    red_team.assert_clean()


def test_an_interrupt_lands_inside_the_running_model_call(red_team):
    """Windows run 4 per model call on the CPU: the sampler reports them in bursts of 4 after each call. The
    interrupt is POSTed when the second burst arrived, so a call is running; it must stop well before that call
    could finish (in under half the time one call took), and the server runs the next prompt."""
    host = red_team.host
    prompt = _tiny_prompt(host, "portrait_256.png", "56,35,125,155", steps=50)
    sampler_id = next(key for key, node in prompt.items() if node["class_type"] == "GatedUNetSample")
    run = host.run_and_interrupt(prompt, sampler_id, after_progress=8)
    assert "execution_interrupted" in run.types and "execution_success" not in run.types
    progress = run.progress_times(sampler_id)
    assert len(progress) == 8, "no window finished after the interrupt"
    one_call = progress[7] - progress[3]
    assert run.latency_s < one_call / 2, (run.latency_s, one_call)
    red_team.assert_clean()
    assert host.run_prompt(_silence_prompt(0.5))["status"]["status_str"] == "success"


@pytest.mark.parametrize(("prefix", "problem"), [
    ("../../escaped/take", "leads outside the output folder"),
    ("/tmp/gated_portrait_escaped/take", "absolute path"),
    ("take\0name", "NUL character"),
    ("take\nname", "line break"),
    ("a" * 245, "245 bytes"),
])
def test_a_bad_filename_prefix_is_refused_when_queued_before_anything_runs(red_team, prefix, problem):
    prompt = _tiny_prompt(red_team.host, "portrait_256.png", "56,35,125,155", steps=1)
    _node_of(prompt, "VAEDecodeVideo")["inputs"]["filename_prefix"] = prefix
    with pytest.raises(PromptRejected) as rejected:
        red_team.host.run_prompt(prompt)
    errors = [e for node in rejected.value.answer["node_errors"].values() for e in node["errors"]]
    assert [e["extra_info"]["input_name"] for e in errors] == ["filename_prefix"]
    assert problem in errors[0]["details"] and "Fix:" in errors[0]["details"]
    red_team.assert_clean()
    assert not Path("/tmp/gated_portrait_escaped").exists()


def test_a_235_character_prefix_saves_under_its_own_name(red_team):
    prompt = _streaming_save_prompt("red_team/" + "a" * 235)
    prompt["2"]["inputs"]["batch_size"], prompt["3"]["inputs"]["duration"] = 3, 0.12
    (mp4,) = [p for p in red_team.host.output_paths(red_team.host.run_prompt(prompt)) if p.suffix == ".mp4"]
    assert mp4.name == "a" * 235 + "_00001_.mp4" and mp4.stat().st_size > 0
    red_team.assert_clean()


def test_model_files_that_cannot_load_are_named_with_the_fix_and_never_unpickled(red_team):
    host = red_team.host
    listed = host.object_info()["ReferenceNetLoad"]["input"]["required"]["model_name"][0]
    assert "payload.pth" not in listed and SLOW_MODEL in listed  # a .pth this loader cannot read is not offered

    prompt = _demo_prompt(host)
    _node_of(prompt, "ReferenceNetLoad")["inputs"]["model_name"] = "payload_renamed.safetensors"
    with pytest.raises(PromptFailed) as failure:
        host.run_prompt(prompt)
    message = _fail_message(failure.value)
    assert "payload_renamed.safetensors: is a PyTorch pickle" in message and "never unpickles" in message
    assert "Fix:" in message and "header too large" not in message

    for folder, expected in (("payload_bin_encoder", "pytorch_model.bin: refused"),
                             ("broken_json_encoder", "config.json: broken JSON at line 3")):
        encode = _silence_prompt(0.5)
        encode["2"]["inputs"]["encoder_folder"] = folder
        with pytest.raises(PromptFailed) as failure:
            host.run_prompt(encode)
        message = _fail_message(failure.value)
        assert expected in message and "Fix:" in message and "weights_only" not in message, message
    red_team.assert_clean()


def test_the_cached_audio_features_report_their_size_and_precision(red_team):
    entry = red_team.host.run_prompt(_silence_prompt(2.0))
    (held,) = entry["outputs"]["3"]["gated_portrait_audio"]
    # 50 frames of 5 x 32 values (the tiny XLS-R encoder) in float32: the host's CPU model reads float32
    assert held == f"50 frames of audio features held: {50 * 5 * 32 * 4 / 2**20:.1f} MB (float32)"
    red_team.assert_clean()


def _streaming_save_prompt(prefix: str) -> dict:
    return {
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": DEMO_VAE}},
        "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 3000}},
        "3": {"class_type": "EmptyAudio", "inputs": {"duration": 120.0, "sample_rate": 16000, "channels": 1}},
        "4": {"class_type": "VAEDecodeVideo", "inputs": {
            "vae": ["1", 0], "latent": ["2", 0], "chunk_size": 1, "audio": ["3", 0], "fps": 25.0, "save_mp4": True,
            "filename_prefix": prefix, "return_frames": False, "background_stabilize": 0.0}},
    }


def _wait_for_writers(output_dir: Path, timeout: float = 60.0) -> None:
    """Until no process (the killed server's ffmpeg finishing its input) writes under `output_dir`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        writers = []
        for proc in Path("/proc").iterdir():
            try:
                if str(output_dir) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    writers.append(proc)
            except OSError:
                continue
        if not writers:
            return
        time.sleep(0.5)
    raise AssertionError(f"processes still write under {output_dir}")


def test_a_killed_save_leaves_only_marked_partials_that_the_next_start_removes_and_no_network_is_used(
    red_team, tmp_path
):
    shared = red_team.host
    output = tmp_path / "output"
    kept = output / "red_team" / "finished_00001_.mp4"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"a finished video")
    os.utime(kept, (time.time() - 3600,) * 2)
    folders = {"models_dir": shared.models_dir, "input_dir": shared.input_dir, "output_dir": output}
    crashed = ComfyHost(tmp_path / "crashed", **folders).start()
    try:
        crashed.run_and_interrupt(_streaming_save_prompt("red_team/killed"), "4", after_progress=20, kill=True)
    finally:
        crashed.stop()
    _wait_for_writers(output)
    leftovers = {p for p in _files(output) if p.name.startswith(".")}
    assert leftovers, "the kill left the save's hidden files"
    assert all(p.name.startswith(PARTIAL_PREFIX) and len(p.name.encode()) < 64 for p in leftovers), leftovers
    assert {p.suffix for p in leftovers} >= {".f32"}

    net_log = tmp_path / "network_attempts.log"
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    env = {"PYTHONPATH": str(guard), "GATED_PORTRAIT_NET_LOG": str(net_log)}
    with ComfyHost(tmp_path / "restarted", **folders, env=env) as restarted:
        assert [p for p in _files(output) if p.name.startswith(".")] == []
        assert kept.read_bytes() == b"a finished video"
        entry = restarted.run_prompt(_silence_prompt(0.5))  # the pack's loader and encoder with the network blocked
        assert entry["status"]["status_str"] == "success"
    attempts = net_log.read_text() if net_log.exists() else ""
    assert "GatedPortrait" not in attempts and "pipelines/" not in attempts, attempts
    red_team.assert_clean()
