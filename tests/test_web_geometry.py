"""The front end's region geometry (web/region_geometry.js, run under node) gives the boxes of
pipelines/region_masks.py for real and synthetic landmarks, both layouts, every slider range."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipelines import region_masks
from pipelines.face_landmarks import FaceLandmarks
from pipelines.region_masks import RegionAreas, feature_boxes, hallo_boxes, lingualinker_boxes
from test_face_landmarks import astronaut, astronaut_face, face_model_dir  # noqa: F401

GEOMETRY_JS = Path(__file__).resolve().parents[1] / "web" / "region_geometry.js"
CONSTANTS = ("FACE_OVAL", "OUTER_LIPS", "EYES_AND_BROWS", "MANUAL_LIPS", "MANUAL_EYES", "HALLO_LIP_EXPAND")
#: The module's source followed by this runs as one ES module (no package.json or loader flags needed).
HARNESS = """
import { readFileSync } from "node:fs";
const cases = JSON.parse(readFileSync(0, "utf8"));
const constants = { %s };
const boxes = cases.map(({ face, settings }) => regionBoxes(face, settings).boxes);
process.stdout.write(JSON.stringify({ constants, boxes }));
""" % ", ".join(CONSTANTS)

SETTINGS = [
    {"layout": "lingualinker", "head_area": 2.0, "mouth_area": 2.0, "eyes_area": 1.5, "face_expand_ratio": 1.2},
    {"layout": "lingualinker", "head_area": 8.0, "mouth_area": 0.1, "eyes_area": 3.35, "face_expand_ratio": 1.2},
    {"layout": "lingualinker", "head_area": 0.1, "mouth_area": 8.0, "eyes_area": 0.45, "face_expand_ratio": 1.2},
    {"layout": "hallo", "head_area": 2.0, "mouth_area": 2.0, "eyes_area": 1.5, "face_expand_ratio": 1.2},
    {"layout": "hallo", "head_area": 2.0, "mouth_area": 2.0, "eyes_area": 1.5, "face_expand_ratio": 1.0},
    {"layout": "hallo", "head_area": 2.0, "mouth_area": 2.0, "eyes_area": 1.5, "face_expand_ratio": 4.0},
]


def run_js(cases: list[dict]) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed; `make apt` installs it")
    script = GEOMETRY_JS.read_text() + HARNESS
    done = subprocess.run([node, "--input-type=module", "-e", script], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def python_boxes(face_json: dict, settings: dict) -> list[list[float]]:
    """region_masks.py's boxes for the face exactly as the front end receives it (points rounded to 0.1 px)."""
    face = FaceLandmarks(np.array(face_json["points"], dtype=np.float64).reshape(-1, 2),
                         tuple(face_json["face_box"]), tuple(face_json["image_size"]))
    features = feature_boxes(face)
    if settings["layout"] == "hallo":
        boxes = hallo_boxes(features, face.image_size, settings["face_expand_ratio"])
    else:
        areas = RegionAreas(settings["head_area"], settings["mouth_area"], settings["eyes_area"])
        boxes = lingualinker_boxes(features, areas, face.image_size)
    return [[box.x0, box.y0, box.x1, box.y1] for box in boxes]


def synthetic_face(seed: int, image_size: tuple[int, int], centre: tuple[float, float], spread: float) -> dict:
    """468 points scattered about `centre` (some may leave the image), in FaceLandmarks.to_json() form."""
    points = np.asarray(centre) + spread * np.random.default_rng(seed).standard_normal((468, 2))
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return FaceLandmarks(points, (x0, y0, x1 - x0, y1 - y0), image_size).to_json()


@pytest.fixture(scope="module")
def faces(astronaut_face) -> list[dict]:  # noqa: F811
    half_pixels = synthetic_face(3, (64, 96), (40.0, 30.0), 6.0)
    half_pixels["points"] = [[round(x) + 0.5, round(y) + 0.5] for x, y in half_pixels["points"]]
    return [
        astronaut_face.to_json(),  # a real MediaPipe detection, 512 x 512
        synthetic_face(1, (300, 200), (100.0, 150.0), 30.0),
        synthetic_face(2, (120, 160), (10.0, 110.0), 25.0),  # face at the left/bottom edge: clipping, shifting
        half_pixels,  # hallo box sides at x.5: Python rounds halves to even
        FaceLandmarks(np.zeros((0, 2)), (20.0, 30.0, 90.0, 110.0), (160, 128)).to_json(),  # manual face_box
    ]


def test_js_constants_are_region_masks_constants(faces):
    constants = run_js([])["constants"]
    assert constants == {name: json.loads(json.dumps(getattr(region_masks, name))) for name in CONSTANTS}


def test_js_region_boxes_match_region_masks(faces):
    cases = [{"face": face, "settings": settings} for face in faces for settings in SETTINGS]
    js_boxes = run_js(cases)["boxes"]
    assert len(js_boxes) == len(cases)
    for case, js in zip(cases, js_boxes):
        expected = python_boxes(case["face"], case["settings"])
        assert np.asarray(js).shape == (len(expected), 4)
        np.testing.assert_allclose(js, expected, rtol=0, atol=1e-9, err_msg=json.dumps(case["settings"]))


def test_js_mouth_box_follows_the_mouth_area_slider(faces):
    """Area factor 4 doubles both sides of the (unclipped) real mouth box, as the overlay must show."""
    face = faces[0]
    small, large = run_js([{"face": face, "settings": {**SETTINGS[0], "mouth_area": a}} for a in (1.0, 4.0)])["boxes"]
    (sx0, sy0, sx1, sy1), (lx0, ly0, lx1, ly1) = small[1], large[1]
    assert lx1 - lx0 == pytest.approx(2 * (sx1 - sx0)) and ly1 - ly0 == pytest.approx(2 * (sy1 - sy0))
