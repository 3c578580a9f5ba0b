"""Reliability and security without a running host: file names from widgets stay inside the host's folders, a
30-minute track encodes in linear time and memory, and the region-mask builder keeps its invariants on random
boxes (issue 13).

The path tests use ComfyUI's own `folder_paths` (imported from the host tree in .venv/comfyui) and the pack's
resolvers in nodes/host.py, loaded by file location under a private name (the repository root stays off sys.path).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from pipelines.audio import embed_audio, load_audio_encoder
from pipelines.face_landmarks import FaceLandmarks
from pipelines.region_masks import Box, RegionAreas, box_mask, feature_boxes, hallo_boxes, portrait_region_masks
from scripts.tiny_encoders import save_tiny_encoder

REPO = Path(__file__).resolve().parents[1]
COMFY_DIR = REPO / ".venv" / "comfyui"
PROPERTY = settings(max_examples=60, deadline=None)


# --- path safety -------------------------------------------------------------------------------------------------


def _host_modules():
    """(folder_paths, the pack's nodes/host.py) from the real host tree; skip when the tree is absent."""
    if not (COMFY_DIR / "folder_paths.py").is_file():
        pytest.skip("no ComfyUI tree in .venv/comfyui")
    if str(COMFY_DIR) not in sys.path:
        sys.path.append(str(COMFY_DIR))
    from comfy.cli_args import args

    args.cpu = True
    import folder_paths

    name = "gated_portrait_host_adapters"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "nodes" / "host.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return folder_paths, sys.modules[name]


@pytest.fixture
def model_folders(tmp_path, monkeypatch):
    """A models dir with one model, encoder folder and .task file each, and the same kinds of files OUTSIDE it."""
    folder_paths, host = _host_modules()
    models, outside = tmp_path / "models", tmp_path / "outside"
    for sub in ("gated_portrait", "audio_encoders/enc", "face_landmarkers", "linked"):
        (models / sub).mkdir(parents=True)
    (outside / "enc").mkdir(parents=True)
    for folder in (models / "gated_portrait", outside):
        save_file({"w": torch.zeros(1)}, str(folder / "model.safetensors"))
    for folder in (models / "audio_encoders" / "enc", outside / "enc"):
        (folder / "config.json").write_text("{}")
    for folder in (models / "face_landmarkers", outside):
        (folder / "face.task").write_bytes(b"task")
    (models / "linked" / "up").symlink_to(outside, target_is_directory=True)
    registered = {
        "gated_portrait": ([str(models / "gated_portrait")], {".safetensors"}),
        "audio_encoders": ([str(models / "audio_encoders")], {".safetensors"}),
        "face_landmarkers": ([str(models / "face_landmarkers")], {".task"}),
    }
    for name, entry in registered.items():
        monkeypatch.setitem(folder_paths.folder_names_and_paths, name, entry)
    monkeypatch.setattr(folder_paths, "filename_list_cache", {})
    return folder_paths, host, models, outside


def _escapes(outside: Path, name: str) -> list[str]:
    """Widget values that try to reach `outside / name` from a model folder."""
    return [
        f"../../outside/{name}",
        f"../outside/{name}",
        str(outside / name),
        f"sub/../../../outside/{name}",
        f"..\\..\\outside\\{name}",
        f"../linked/up/{name}",
    ]


def test_model_file_names_outside_the_list_are_refused_naming_the_folder_and_the_fix(model_folders):
    folder_paths, host, models, outside = model_folders
    assert host.resolve_model_file("gated_portrait", "model.safetensors") == str(models / "gated_portrait" / "model.safetensors")
    for name in _escapes(outside, "model.safetensors"):
        with pytest.raises(FileNotFoundError) as refused:
            host.resolve_model_file("gated_portrait", name)
        message = str(refused.value)
        assert message.startswith("gated_portrait:") and name in message and "Fix:" in message


def test_face_landmarker_task_names_outside_the_list_are_refused(model_folders):
    folder_paths, host, models, outside = model_folders
    assert host.resolve_model_file("face_landmarkers", "face.task").startswith(str(models))
    for name in _escapes(outside, "face.task"):
        with pytest.raises(FileNotFoundError, match=r"^face_landmarkers:.*Fix:"):
            host.resolve_model_file("face_landmarkers", name)


def test_encoder_folder_names_outside_the_list_are_refused(model_folders):
    folder_paths, host, models, outside = model_folders
    assert host.list_model_dirs("audio_encoders") == ["enc"]
    assert host.resolve_model_dir("audio_encoders", "enc") == str(models / "audio_encoders" / "enc")
    for name in _escapes(outside, "enc") + ["..", "/", "enc/.."]:
        with pytest.raises(FileNotFoundError, match=r"^audio_encoders:.*Fix:"):
            host.resolve_model_dir("audio_encoders", name)


def test_a_link_the_owner_put_in_a_model_folder_is_listed_under_its_own_name_as_comfyui_does(model_folders):
    """ComfyUI lists model folders with followlinks=True (models on another drive); a prompt cannot create links,
    so a link is the machine owner's choice. The widget can name the link, never the target's own path."""
    folder_paths, host, models, outside = model_folders
    (models / "gated_portrait" / "shared.safetensors").symlink_to(outside / "model.safetensors")
    folder_paths.filename_list_cache.clear()
    assert sorted(folder_paths.get_filename_list("gated_portrait")) == ["model.safetensors", "shared.safetensors"]
    assert host.resolve_model_file("gated_portrait", "shared.safetensors") == str(models / "gated_portrait" / "shared.safetensors")
    with pytest.raises(FileNotFoundError):
        host.resolve_model_file("gated_portrait", str(outside / "model.safetensors"))


@pytest.mark.parametrize("prefix", ["../escaped", "../../escaped/take", "portraits/../../escaped", "/tmp/escaped"])
def test_save_prefixes_that_leave_the_output_folder_are_refused_by_the_host(tmp_path, prefix):
    folder_paths, _ = _host_modules()
    output = tmp_path / "output"
    output.mkdir()
    with pytest.raises(Exception, match="outside the output folder"):
        folder_paths.get_save_image_path(prefix, str(output), 64, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["output"] and not any(output.iterdir())
    folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path("portraits/take", str(output), 64, 64)
    assert (Path(folder), filename, counter, subfolder) == (output / "portraits", "take", 1, "portraits")


# --- a 30-minute track -------------------------------------------------------------------------------------------


def test_thirty_minutes_of_silence_encode_to_exact_frames_without_an_l_fold_copy(tmp_path):
    torch.set_num_threads(1)
    encoder = load_audio_encoder(save_tiny_encoder(str(tmp_path / "xlsr"), "xlsr_mean"), "xlsr_mean")
    seconds, fps, context = 30 * 60, 25.0, 5
    embeddings = embed_audio(encoder, torch.zeros(1, 1, 16000 * seconds), 16000, fps=fps, context_frames=context)
    blocks = embeddings.blocks
    width = encoder.feature_shape(context)[1]
    assert blocks.shape == (1, seconds * 25, context, width)
    assert embeddings.duration_s == seconds
    # the l context positions share one per-frame sequence (a strided view), not l copies of it
    per_frame_bytes = (seconds * 25 + context - 1) * width * blocks.element_size()
    assert blocks.untyped_storage().nbytes() <= per_frame_bytes
    assert torch.isfinite(blocks[0, :: 25 * 60]).all()
    # silence everywhere: a frame mid-track matches the block of 1 s of silence (up to the encoder's context)
    assert torch.allclose(blocks[0, seconds * 12], embeddings.silence, atol=5e-3)


# --- mask builder properties -------------------------------------------------------------------------------------

sizes = st.tuples(st.integers(8, 96), st.integers(8, 96))
fractions = st.floats(0.0, 1.0)
factors = st.floats(0.1, 8.0)


@st.composite
def face_boxes(draw):
    """(image size h w, x y w h face box) with the box at least 2 px wide and tall, possibly past the edges."""
    h, w = draw(sizes)
    bw, bh = draw(st.floats(2.0, 1.5 * w)), draw(st.floats(2.0, 1.5 * h))
    x, y = draw(st.floats(-0.5 * bw, w - 1.0)), draw(st.floats(-0.5 * bh, h - 1.0))
    return (h, w), (x, y, bw, bh)


def _manual_face(image_size, box) -> FaceLandmarks:
    return FaceLandmarks(np.zeros((0, 2), np.float32), box, image_size, source="face_box")


def _inside(box: Box, image_size) -> bool:
    h, w = image_size
    return 0 <= box.x0 <= box.x1 <= w and 0 <= box.y0 <= box.y1 <= h


@PROPERTY
@given(face_boxes(), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_box_mask_is_in_0_1_sums_to_the_clipped_area_and_stays_in_the_box(case, a, b, c, d):
    image_size, (x, y, bw, bh) = case
    box = Box(x + a * bw * 0.5, y + b * bh * 0.5, x + bw * (0.5 + c * 0.5), y + bh * (0.5 + d * 0.5))
    mask = box_mask(box, image_size)
    clipped = box.clipped(image_size)
    assert mask.shape == image_size and mask.min() >= 0 and mask.max() <= 1
    assert mask.sum().item() == pytest.approx(clipped.area, abs=1e-3 * max(1.0, clipped.area))
    outside = torch.ones(image_size, dtype=torch.bool)
    outside[math.floor(clipped.y0):math.ceil(clipped.y1), math.floor(clipped.x0):math.ceil(clipped.x1)] = False
    assert not mask[outside].any()


@PROPERTY
@given(face_boxes(), factors, factors, factors, st.floats(0.0, 6.0))
def test_lingualinker_masks_are_in_0_1_and_scale_area_by_the_factor_up_to_clipping(case, head, mouth, eyes, feather):
    image_size, box = case
    face = _manual_face(image_size, box)
    areas = RegionAreas(head, mouth, eyes)
    masks = portrait_region_masks([face], "lingualinker", areas).masks[0]
    assert masks.shape == (3, *image_size) and masks.min() >= 0 and masks.max() <= 1
    base = feature_boxes(face)
    for mask, feature, factor in zip(masks, (base.face, base.lips, base.eyes), (head, mouth, eyes)):
        scaled = feature.scaled(math.sqrt(factor))
        covered = mask.sum().item()
        assert covered <= factor * feature.area * (1 + 1e-4) + 1e-3
        assert covered == pytest.approx(scaled.clipped(image_size).area, rel=1e-4, abs=1e-3)
        if _inside(scaled, image_size):
            assert covered == pytest.approx(factor * feature.area, rel=1e-4, abs=1e-3)
    feathered = portrait_region_masks([face], "lingualinker", areas, feather_px=feather).masks[0]
    assert feathered.min() >= 0 and feathered.max() <= 1 + 1e-6


@PROPERTY
@given(face_boxes(), st.floats(0.5, 4.0))
def test_hallo_boxes_stay_inside_the_image_and_masks_are_in_0_1(case, ratio):
    image_size, box = case
    face = _manual_face(image_size, box)
    for part in hallo_boxes(feature_boxes(face), image_size, ratio):
        assert _inside(part, image_size)
    masks = portrait_region_masks([face], "hallo", face_expand_ratio=ratio).masks[0]
    assert masks.shape == (3, *image_size)
    assert masks.min() >= -1e-6 and masks.max() <= 1 + 1e-6


@pytest.mark.parametrize("sigma", [1e-300, 1e-200, 1e-3, 0.09])
def test_a_vanishing_feather_keeps_the_hard_masks_instead_of_nan(sigma):
    face = _manual_face((16, 16), (2.0, 2.0, 10.0, 10.0))
    hard = portrait_region_masks([face], "lingualinker").masks
    assert torch.equal(portrait_region_masks([face], "lingualinker", feather_px=sigma).masks, hard)


def test_input_errors_survive_pickling_for_worker_processes():
    import pickle

    from pipelines.errors import PortraitInputError

    error = pickle.loads(pickle.dumps(PortraitInputError("audio", "is empty", "load a longer clip")))
    assert (error.input_name, str(error)) == ("audio", "audio: is empty. Fix: load a longer clip")


def test_memory_guard_refuses_a_job_whose_sequence_cannot_fit_and_names_the_fix():
    import pytest

    from pipelines.errors import PortraitInputError
    from pipelines.memory_guard import require_memory, sampling_sequence_bytes

    ten_hours = sampling_sequence_bytes(10 * 3600 * 25, (4, 64, 64), 5 * 1024)
    ten_seconds = sampling_sequence_bytes(250, (4, 64, 64), 5 * 1024)
    assert ten_hours == 3600 * ten_seconds  # linear in length
    assert ten_seconds == 250 * 4 * (5 * 4 * 64 * 64 + 5 * 1024)
    require_memory(ten_seconds, 2**30, "a 10 s video")
    with pytest.raises(PortraitInputError, match=r"^audio: a 10 h video needs about 291.8 GB .* Fix: split the audio"):
        require_memory(ten_hours, 16 * 2**30, "a 10 h video")
