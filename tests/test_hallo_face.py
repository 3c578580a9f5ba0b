"""Hallo's face conditions from the pack's landmarks: face-box image, five-point alignment, raw ArcFace embedding."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from pipelines.conditions import RegionMasks
from pipelines.errors import PortraitInputError
from pipelines.face_landmarks import FaceLandmarks, find_face_landmarks
from pipelines.hallo_face import (
    ARCFACE_SIZE,
    ARCFACE_TEMPLATE,
    ArcFaceEmbedder,
    aligned_face,
    face_box_image,
    face_embeddings,
    five_points,
    with_hallo_face,
)
from scripts.make_hallo_models import TinyRecognition, export_recognition

FACE_MODELS = Path(__file__).resolve().parents[1] / "models" / "face"


@pytest.fixture(scope="module")
def astronaut_face():
    if not (FACE_MODELS / "face_landmark.tflite").is_file():
        pytest.skip("the pack's face models are installed by scripts/fetch_face_models.py (test_face_landmarks fetches them)")
    image = data.astronaut().astype(np.float32) / 255
    return image, find_face_landmarks(image[None], str(FACE_MODELS))[0]


def test_face_box_image_is_hallos_expanded_binary_face_box():
    face = FaceLandmarks(np.zeros((0, 2), np.float32), (100.0, 120.0, 200.0, 160.0), (512, 512))
    image = face_box_image(face, 1.2)
    assert image.shape == (3, 512, 512)
    assert set(image.unique().tolist()) == {0.0, 1.0}
    rows, cols = image[0].nonzero(as_tuple=True)
    assert (cols.min(), cols.max() + 1, rows.min(), rows.max() + 1) == (80, 320, 104, 296)  # sides x1.2 about the centre


def test_astronaut_five_points_land_on_the_arcface_template(astronaut_face):
    image, face = astronaut_face
    points = five_points(face)
    assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]  # image-left eye and mouth corner first
    assert points[:2, 1].max() < points[2, 1] < points[3:, 1].min()  # eyes above nose above mouth
    markers = np.zeros((*image.shape[:2], 3), np.uint8)
    for x, y in np.rint(points).astype(int):
        markers[y - 2 : y + 3, x - 2 : x + 3] = 255
    warped = aligned_face(markers, points)
    assert warped.shape == (ARCFACE_SIZE, ARCFACE_SIZE, 3)
    # a similarity fit cannot match every face exactly (mesh points are not SCRFD's): eyes within 4 px, all within 9
    for (x, y), reach in zip(np.rint(ARCFACE_TEMPLATE).astype(int), (4, 4, 9, 9, 9)):
        assert warped[y - reach : y + reach + 1, x - reach : x + reach + 1].max() > 100, (x, y)


def test_arcface_onnx_gives_the_raw_embedding_of_the_aligned_face(tmp_path, astronaut_face):
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package (test requirement)")
    pytest.importorskip("onnxruntime", reason="Hallo's face embedding runs on onnxruntime (runtime requirement)")
    twin = TinyRecognition().eval()
    path = tmp_path / "glintr100.onnx"
    export_recognition(twin, path)
    image, face = astronaut_face
    embedding = face_embeddings(image[None], [face], ArcFaceEmbedder(path))
    aligned = aligned_face(np.rint(image * 255).astype(np.uint8), five_points(face))
    with torch.no_grad():
        expected = twin((torch.from_numpy(aligned).float().permute(2, 0, 1)[None] - 127.5) / 127.5)
    assert embedding.shape == (1, 512)
    assert torch.allclose(embedding, expected, atol=1e-4)
    assert abs(float(embedding.norm()) - 1.0) > 0.1  # raw, not normalised


def test_missing_face_model_gives_a_zero_embedding_and_a_warning(caplog):
    face = FaceLandmarks(np.zeros((0, 2), np.float32), (10.0, 10.0, 40.0, 40.0), (64, 64))
    regions = RegionMasks(torch.rand(1, 3, 64, 64), ("pose", "expression", "lip"))
    with caplog.at_level(logging.WARNING):
        out = with_hallo_face(regions, np.zeros((1, 64, 64, 3), np.float32), [face], None)
    assert "glintr100.onnx" in caplog.text
    assert torch.equal(out.face_embedding, torch.zeros(1, 512))
    assert torch.equal(out.masks, regions.masks) and out.names == regions.names
    assert out.face_image.shape == (1, 3, 64, 64)


def test_a_missing_onnx_file_names_the_input(tmp_path):
    with pytest.raises(PortraitInputError, match="face_recognition.*glintr100"):
        ArcFaceEmbedder(tmp_path / "nothing.onnx")
