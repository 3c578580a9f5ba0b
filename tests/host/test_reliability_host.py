"""Hostile and odd inputs through the real host (issue 13): each fails naming the input, or works, and the next
prompt still succeeds; an interrupt ends sampling or a streaming save without leaving a file behind."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from scipy.io import wavfile

from scripts.comfy_host import PromptFailed, PromptRejected
from scripts.make_demo_models import COMFY_DIR, DEMO_VAE
from test_demo_workflow import _demo_prompt, _fail_message, _masks_prompt, _node_of, _silence_prompt, demo_host  # noqa: F401

WRONG_VAE = "taesd_16_channels.safetensors"


def _portrait(host) -> Image.Image:
    return Image.open(host.input_dir / "portrait.png").convert("RGB")


@pytest.fixture(scope="module")
def odd_inputs(demo_host):
    """Images and WAV files with odd shapes, rates and values in the host's input folder."""
    portrait = _portrait(demo_host)
    pair = Image.new("RGB", (384, 256), (128, 128, 128))
    pair.paste(portrait, (0, 0))
    pair.paste(portrait.resize((128, 128)), (256, 64))
    pair.save(demo_host.input_dir / "two_faces.png")
    wide = Image.new("RGB", (384, 256), (128, 128, 128))
    wide.paste(portrait, (64, 0))
    wide.save(demo_host.input_dir / "wide.png")
    portrait.resize((16, 16)).save(demo_host.input_dir / "tiny.png")
    rate = 16000
    speech = (0.3 * np.sin(np.linspace(0, 2 * np.pi * 220, rate))).astype(np.float32)
    audio = {
        "ten_ms.wav": (rate, speech[: rate // 100]),
        "silent.wav": (rate, np.zeros(rate, np.float32)),
        "clipped.wav": (rate, 4.0 * speech),
        "eight_khz.wav": (8000, speech[::2]),
        "six_channels.wav": (rate, np.stack([speech] * 6, axis=1)),
        "nan.wav": (rate, np.where(np.arange(rate) == 500, np.nan, speech).astype(np.float32)),
    }
    for name, (sample_rate, samples) in audio.items():
        wavfile.write(demo_host.input_dir / name, sample_rate, samples)
    return demo_host


def _landmarks(entry: dict) -> list[dict]:
    (found,) = [out["gated_portrait_landmarks"] for out in entry["outputs"].values() if "gated_portrait_landmarks" in out]
    return found


def test_images_non_square_rgba_two_faces_and_tiny(odd_inputs):
    host = odd_inputs
    (wide,) = _landmarks(host.run_prompt(_masks_prompt("wide.png")))
    assert wide["image_size"] == [256, 384] and 64 <= wide["face_box"][0] < 64 + 256

    (pair,) = _landmarks(host.run_prompt(_masks_prompt("two_faces.png")))
    x, y, w, h = pair["face_box"]
    assert x + w <= 256, "the larger (left) face is used"
    (other,) = pair["other_faces"]
    assert other[0] >= 256 and other[2] < w, "the smaller face is reported as another face"

    rgba = _masks_prompt("portrait.png")
    rgba["4"] = {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["1", 0], "alpha": ["1", 1]}}
    rgba["2"]["inputs"]["image"] = ["4", 0]
    (with_alpha,) = _landmarks(host.run_prompt(rgba))
    (plain,) = _landmarks(host.run_prompt(_masks_prompt("portrait.png")))
    assert with_alpha["face_box"] == pytest.approx(plain["face_box"], abs=1.0)

    try:
        (tiny,) = _landmarks(host.run_prompt(_masks_prompt("tiny.png")))
        assert tiny["image_size"] == [16, 16]
    except PromptFailed as failure:
        message = _fail_message(failure)
        assert message.startswith("image:") and "face" in message and "Fix:" in message
    assert host.run_prompt(_masks_prompt("portrait.png"))["status"]["status_str"] == "success"


def _encode_prompt(audio_name: str) -> dict:
    prompt = _silence_prompt(1.0)
    prompt["1"] = {"class_type": "LoadAudio", "inputs": {"audio": audio_name}}
    return prompt


@pytest.mark.parametrize("name", ["ten_ms.wav", "silent.wav", "clipped.wav", "eight_khz.wav", "six_channels.wav"])
def test_short_silent_clipped_8khz_and_6_channel_audio_encode(odd_inputs, name):
    entry = odd_inputs.run_prompt(_encode_prompt(name))
    assert any(p.suffix == ".png" for p in odd_inputs.output_paths(entry))  # the audio preview


def test_audio_with_nan_names_the_audio_and_the_next_prompt_succeeds(odd_inputs):
    with pytest.raises(PromptFailed) as failure:
        odd_inputs.run_prompt(_encode_prompt("nan.wav"))
    message = _fail_message(failure.value)
    assert message.startswith("audio:") and "NaN" in message and "Fix:" in message
    assert odd_inputs.run_prompt(_encode_prompt("silent.wav"))["status"]["status_str"] == "success"


def test_fps_and_steps_outside_the_widget_bounds_are_rejected_naming_each_input(odd_inputs):
    prompt = _demo_prompt(odd_inputs)
    _node_of(prompt, "AudioEncode")["inputs"]["fps"] = 0.0
    _node_of(prompt, "VAEDecodeVideo")["inputs"]["fps"] = 1000.0
    _node_of(prompt, "GatedUNetSample")["inputs"]["steps"] = 0
    with pytest.raises(PromptRejected) as rejected:
        odd_inputs.run_prompt(prompt)
    errors = rejected.value.answer["node_errors"]
    named = {(node["class_type"], e["extra_info"]["input_name"]) for node in errors.values() for e in node["errors"]}
    assert {("AudioEncode", "fps"), ("VAEDecodeVideo", "fps"), ("GatedUNetSample", "steps")} <= named
    assert odd_inputs.run_prompt(_masks_prompt("portrait.png"))["status"]["status_str"] == "success"


def test_regions_of_another_aspect_ratio_name_the_regions(odd_inputs):
    prompt = _demo_prompt(odd_inputs)
    masks = _node_of(prompt, "RegionMaskFromLandmarks")
    loader_id = "wide_image"
    prompt[loader_id] = {"class_type": "LoadImage", "inputs": {"image": "wide.png"}}
    masks["inputs"]["image"] = [loader_id, 0]
    _node_of(prompt, "GatedUNetSample")["inputs"]["steps"] = 1
    with pytest.raises(PromptFailed) as failure:
        odd_inputs.run_prompt(prompt)
    message = _fail_message(failure.value)
    assert message.startswith("regions:") and "384x256" in message and "Fix:" in message
    assert odd_inputs.run_prompt(_masks_prompt("portrait.png"))["status"]["status_str"] == "success"


def _taesd_weights(latent_channels: int) -> dict[str, torch.Tensor]:
    """ComfyUI's TAESD layout with another latent channel count (random weights: only the shapes matter)."""
    if str(COMFY_DIR) not in sys.path:
        sys.path.append(str(COMFY_DIR))
    from comfy.cli_args import args

    args.cpu = True
    from comfy.taesd.taesd import TAESD

    return {k: v.contiguous() for k, v in TAESD(latent_channels=latent_channels).state_dict().items() if k.startswith("taesd_")}


def _decode_prompt(vae: str, frames: int, prefix: str, chunk_size: int = 0, size: int = 64) -> dict:
    return {
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": vae}},
        "2": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": frames}},
        "3": {"class_type": "VAEDecodeVideo", "inputs": {
            "vae": ["1", 0], "latent": ["2", 0], "chunk_size": chunk_size, "fps": 25.0, "save_mp4": True,
            "filename_prefix": prefix, "return_frames": False, "background_stabilize": 0.0}},
    }


def _all_files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_a_vae_of_another_latent_width_and_an_escaping_prefix_are_refused(odd_inputs):
    host = odd_inputs
    save_file(_taesd_weights(16), str(host.models_dir / "vae" / WRONG_VAE))
    with pytest.raises(PromptFailed) as failure:
        host.run_prompt(_decode_prompt(WRONG_VAE, 2, "GatedPortrait/wrong_vae"))
    message = _fail_message(failure.value)
    assert message.startswith("latent:") and "4 channels" in message and "16" in message and "Fix:" in message

    before = {p.name for p in host.base_dir.iterdir()}
    for prefix in ("../escaped/take", "/tmp/gated_portrait_escaped/take"):
        with pytest.raises(PromptRejected) as rejected:  # refused when queued, before any node runs
            host.run_prompt(_decode_prompt(DEMO_VAE, 2, prefix))
        (error,) = rejected.value.answer["node_errors"]["3"]["errors"]
        message = error["details"]
        assert message.startswith("filename_prefix - filename_prefix:") and "outside the output folder" in message
        assert "Fix:" in message
    assert {p.name for p in host.base_dir.iterdir()} == before
    assert not Path("/tmp/gated_portrait_escaped").exists()

    entry = host.run_prompt(_decode_prompt(DEMO_VAE, 2, "reliability/ok"))
    (mp4,) = [p for p in host.output_paths(entry) if p.suffix == ".mp4"]
    assert mp4.parent == host.output_dir / "reliability" and mp4.stat().st_size > 0


def _assert_interrupted_cleanly(host, prompt: dict, node_id: str) -> None:
    before = _all_files(host.output_dir)
    seen = host.run_and_interrupt(prompt, node_id).types
    assert "execution_interrupted" in seen and "execution_success" not in seen
    assert _all_files(host.output_dir) == before, "no mp4 and no partial file is left"


def test_an_interrupt_during_encoding_sampling_or_a_streaming_save_leaves_nothing_and_the_next_prompt_runs(odd_inputs):
    host = odd_inputs
    _assert_interrupted_cleanly(host, _silence_prompt(300.0), "3")  # ten 30 s windows, cancel between them

    sampling = _demo_prompt(host)
    sampler_id = next(i for i, n in sampling.items() if n["class_type"] == "GatedUNetSample")
    _node_of(sampling, "GatedUNetSample")["inputs"]["steps"] = 200
    _assert_interrupted_cleanly(host, sampling, sampler_id)

    _assert_interrupted_cleanly(host, _decode_prompt(DEMO_VAE, 2000, "reliability/cancelled", chunk_size=1), "3")

    entry = host.run_prompt(_decode_prompt(DEMO_VAE, 3, "reliability/after_cancel"))
    assert [p.suffix for p in host.output_paths(entry)] == [".mp4"]
