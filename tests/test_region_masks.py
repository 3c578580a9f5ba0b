"""Region masks from landmarks: area sliders, feathering, Hallo's soft-mask identities, overrides, resizing, preview.

Faces here are synthetic landmark sets with known boxes; the real landmark model is tested in test_face_landmarks.py.
"""

import math

import numpy as np
import pytest
import torch

from pipelines.conditions import HALLO_REGIONS, LINGUALINKER_REGIONS
from pipelines.errors import PortraitInputError
from pipelines.face_landmarks import FaceLandmarks
from pipelines.mask_preview import REGION_COLOURS, USED_FACE_COLOUR, draw_region_preview
from pipelines.mask_resize import resize_region_masks
from pipelines.region_masks import (
    EYES_AND_BROWS,
    FACE_OVAL,
    HALLO_FACE_KERNEL,
    HALLO_GRID,
    HALLO_LIP_KERNEL,
    OUTER_LIPS,
    Box,
    RegionAreas,
    feature_boxes,
    hallo_boxes,
    hallo_layout,
    hallo_soft_mask,
    lingualinker_boxes,
    portrait_region_masks,
)


def ellipse(cx, cy, rx, ry, n):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def synthetic_face(cx=200.0, cy=150.0, size=100.0, image_size=(300, 400)) -> FaceLandmarks:
    """Face oval box (cx +- size/2, cy +- 0.6 size); lips box half as wide below the centre; eyes box above it."""
    points = np.tile([[cx, cy]], (468, 1)).astype(np.float64)
    points[list(FACE_OVAL)] = ellipse(cx, cy, size / 2, 0.6 * size, len(FACE_OVAL))
    points[list(OUTER_LIPS)] = ellipse(cx, cy + 0.3 * size, 0.2 * size, 0.08 * size, len(OUTER_LIPS))
    points[list(EYES_AND_BROWS)] = ellipse(cx, cy - 0.2 * size, 0.4 * size, 0.1 * size, len(EYES_AND_BROWS))
    box = (cx - size / 2, cy - 0.6 * size, size, 1.2 * size)
    return FaceLandmarks(points.astype(np.float32), box, image_size, source="synthetic")


def test_feature_boxes_are_the_landmark_boxes():
    boxes = feature_boxes(synthetic_face())
    assert boxes.face.x0 == pytest.approx(150) and boxes.face.x1 == pytest.approx(250)
    assert boxes.face.y0 == pytest.approx(90) and boxes.face.y1 == pytest.approx(210)
    assert boxes.lips.x1 - boxes.lips.x0 == pytest.approx(40, abs=1e-3)
    assert boxes.eyes.y1 == pytest.approx(140, abs=1e-3)


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0, 3.5])
def test_area_slider_scales_each_box_area_about_its_centre(factor):
    face = synthetic_face()
    base = feature_boxes(face)
    masks = portrait_region_masks([face], areas=RegionAreas(head=factor, mouth=factor, eyes=factor)).masks[0]
    for mask, box in zip(masks, (base.face, base.lips, base.eyes)):
        side = math.sqrt(factor)
        w, h = (box.x1 - box.x0) * side, (box.y1 - box.y0) * side
        # the covered area is the scaled box area (+-1 px per side)
        assert abs(mask.sum().item() - factor * box.area) <= (w + h) * 2 * 1.0
        ys, xs = torch.nonzero(mask > 0, as_tuple=True)
        assert abs((xs.max() - xs.min() + 1).item() - w) <= 2 and abs((ys.max() - ys.min() + 1).item() - h) <= 2
        weights = mask / mask.sum()
        grid_y, grid_x = torch.meshgrid(torch.arange(300) + 0.5, torch.arange(400) + 0.5, indexing="ij")
        assert (weights * grid_x).sum().item() == pytest.approx((box.x0 + box.x1) / 2, abs=0.5)
        assert (weights * grid_y).sum().item() == pytest.approx((box.y0 + box.y1) / 2, abs=0.5)


def test_boxes_are_exact_area_masks_with_fractional_edges():
    face = synthetic_face(cx=200.3, cy=150.7, size=91.3)
    masks = portrait_region_masks([face], areas=RegionAreas(1.0, 1.0, 1.0)).masks[0]
    base = feature_boxes(face)
    for mask, box in zip(masks, (base.face, base.lips, base.eyes)):
        assert mask.sum().item() == pytest.approx(box.area, rel=1e-4)
        assert mask.max() == 1 and mask.min() == 0


def test_head_grows_into_background_and_is_clipped_at_the_image_edge():
    face = synthetic_face(cx=60, cy=70, size=100)
    head, mouth, eyes = lingualinker_boxes(feature_boxes(face), RegionAreas(head=8.0), face.image_size)
    assert head.x0 == 0 and head.y0 == 0 and head.x1 > 60 + 50 * math.sqrt(8) - 1
    mask = portrait_region_masks([face], areas=RegionAreas(head=8.0)).masks[0, 0]
    assert mask.sum().item() == pytest.approx(head.area, rel=1e-4)
    assert head.area < 8 * feature_boxes(face).face.area


def test_feather_softens_edges_and_keeps_area():
    face = synthetic_face()
    hard = portrait_region_masks([face]).masks
    soft = portrait_region_masks([face], feather_px=6.0).masks
    assert soft.min() >= 0 and soft.max() <= 1 + 1e-6
    assert torch.allclose(soft.sum((2, 3)), hard.sum((2, 3)), rtol=1e-3)
    head = soft[0, 0]
    assert head[150, 200] == pytest.approx(1.0, abs=1e-4)
    edge_row = head[150]
    assert ((edge_row > 0.05) & (edge_row < 0.95)).sum() >= 8, "a ramp several pixels wide at each edge"


def test_feather_wider_than_a_small_image_still_works():
    face = synthetic_face(cx=20, cy=15, size=20, image_size=(30, 40))
    soft = portrait_region_masks([face], feather_px=50.0).masks
    assert soft.shape == (1, 3, 30, 40) and torch.isfinite(soft).all() and soft.max() <= 1 + 1e-6


def test_non_positive_area_factor_names_the_slider():
    with pytest.raises(PortraitInputError) as caught:
        portrait_region_masks([synthetic_face()], areas=RegionAreas(mouth=0.0))
    assert caught.value.input_name == "mouth_area"


def test_hallo_boxes_are_lip_x2_and_face_x1_2_shifted_inside():
    face = synthetic_face()
    face_box, lip_box = hallo_boxes(feature_boxes(face), face.image_size, 1.2)
    assert (face_box.x1 - face_box.x0, face_box.y1 - face_box.y0) == pytest.approx((120, 144), abs=1)
    assert (lip_box.x1 - lip_box.x0, lip_box.y1 - lip_box.y0) == pytest.approx((80, 32), abs=1)
    near_edge = synthetic_face(cx=45, cy=150)
    shifted, _ = hallo_boxes(feature_boxes(near_edge), near_edge.image_size, 1.2)
    assert shifted.x0 == 0 and shifted.x1 - shifted.x0 == pytest.approx(120, abs=1), "moved, not shrunk"


def test_hallo_soft_masks_and_eq_8_to_10_identities_hold_exactly():
    face = synthetic_face()
    face_box, lip_box = hallo_boxes(feature_boxes(face), face.image_size, 1.2)
    face_soft = hallo_soft_mask(face_box, face.image_size, HALLO_FACE_KERNEL)
    lip_soft = hallo_soft_mask(lip_box, face.image_size, HALLO_LIP_KERNEL)
    assert face_soft.shape == lip_soft.shape == (HALLO_GRID, HALLO_GRID)
    for soft in (face_soft, lip_soft):
        assert soft.min() == 0 and soft.max() == 1, "min-max normalised"
    pose, expression, lip = hallo_layout(face_soft, lip_soft)
    assert torch.equal(lip, lip_soft)
    assert torch.equal(pose, 1 - face_soft)
    assert torch.equal(expression, torch.clamp(face_soft - lip_soft, min=0))
    inside = face_soft >= lip_soft
    assert torch.allclose((pose + expression + lip)[inside], torch.ones(int(inside.sum())), atol=1e-6)


def test_hallo_soft_mask_matches_opencv_as_hallo_computes_it():
    cv2 = pytest.importorskip("cv2")
    box, size = Box(130.0, 70.0, 271.0, 241.0), (300, 400)
    binary = np.zeros(size, np.float32)
    binary[70:241, 130:271] = 1
    small = cv2.resize(binary, (HALLO_GRID, HALLO_GRID))
    blurred = cv2.GaussianBlur(small, (HALLO_FACE_KERNEL, HALLO_FACE_KERNEL), 0)
    expected = cv2.normalize(blurred, None, 0, 1, cv2.NORM_MINMAX)
    ours = hallo_soft_mask(box, size, HALLO_FACE_KERNEL).numpy()
    assert np.abs(ours - expected).max() < 0.02


def test_hallo_layout_masks_at_image_resolution():
    face = synthetic_face()
    regions = portrait_region_masks([face, face], layout="hallo")
    assert regions.names == HALLO_REGIONS and regions.masks.shape == (2, 3, 300, 400)
    pose, expression, lip = regions.masks[0]
    assert pose[5, 5] == pytest.approx(1, abs=1e-3) and pose[150, 200] == pytest.approx(0, abs=0.05)
    assert lip[180, 200] > 0.9 and lip[20, 20] == pytest.approx(0, abs=1e-6)
    assert expression[120, 200] > 0.5 and expression[180, 200] < 0.1
    assert regions.masks.min() >= 0 and regions.masks.max() <= 1 + 1e-6


def test_masks_keep_their_area_fraction_at_latent_resolutions():
    regions = portrait_region_masks([synthetic_face(cx=201.0, cy=149.0, size=97.0, image_size=(512, 512))])
    fractions = regions.masks.mean((2, 3))
    for size in [(64, 64), (32, 32), (16, 16), (8, 8)]:
        small = resize_region_masks(regions.masks, size)
        assert torch.allclose(small.mean((2, 3)), fractions, atol=1e-6)


def test_painted_masks_replace_their_region_only():
    face = synthetic_face()
    painted = torch.zeros(1, 150, 200)
    painted[:, 10:40, 20:80] = 1
    base = portrait_region_masks([face, face])
    regions = portrait_region_masks([face, face], overrides=(None, painted, None))
    assert regions.names == LINGUALINKER_REGIONS
    assert torch.equal(regions.masks[:, [0, 2]], base.masks[:, [0, 2]])
    expected = resize_region_masks(painted[:, None], (300, 400))[:, 0]
    assert torch.allclose(regions.masks[:, 1], expected.expand(2, -1, -1))
    assert regions.channel("mouth")[0, 50, 100] == 1 and regions.channel("mouth")[0, 250, 200] == 0


def test_painted_mask_batch_mismatch_names_the_input():
    with pytest.raises(PortraitInputError) as caught:
        portrait_region_masks([synthetic_face()] * 2, overrides=(torch.zeros(3, 300, 400),))
    assert caught.value.input_name == "head_mask"


def test_unknown_layout_names_the_widget():
    with pytest.raises(PortraitInputError) as caught:
        portrait_region_masks([synthetic_face()], layout="sonic")
    assert caught.value.input_name == "layout"


def test_manual_face_box_gives_nested_regions():
    manual = FaceLandmarks(np.zeros((0, 2), np.float32), (100.0, 50.0, 120.0, 150.0), (300, 400), source="face_box")
    boxes = feature_boxes(manual)
    assert boxes.face == Box(100.0, 50.0, 220.0, 200.0)
    face = boxes.face
    for inner in (boxes.lips, boxes.eyes):
        assert face.x0 < inner.x0 < inner.x1 < face.x1 and face.y0 < inner.y0 < inner.y1 < face.y1
    assert boxes.lips.y0 > boxes.eyes.y1
    assert portrait_region_masks([manual], layout="hallo").masks.shape == (1, 3, 300, 400)


def test_preview_tints_regions_and_frames_the_face_used():
    face = synthetic_face()
    face.other_faces = ((300.0, 40.0, 60.0, 60.0),)
    image = torch.full((1, 300, 400, 3), 0.5)
    regions = portrait_region_masks([face])
    preview = draw_region_preview(image, regions, [face])
    assert preview.shape == (1, 300, 400, 3) and preview.min() >= 0 and preview.max() <= 1
    assert torch.allclose(preview[0, 290, 10], torch.tensor([0.5, 0.5, 0.5]), atol=1 / 255), "outside every region"
    inside_mouth_only = preview[0, 180, 200]  # in head and mouth, below the eyes
    assert inside_mouth_only[0] > inside_mouth_only[2], f"mouth tint {REGION_COLOURS[1]} on top"
    x, y, _, _ = face.face_box
    frame = (preview[0, round(y), round(x) + 20] * 255).round()
    assert torch.equal(frame, torch.tensor(USED_FACE_COLOUR, dtype=torch.float32))
    grey = (preview[0, 40, 330] * 255).round()
    assert grey[0] == grey[1] == grey[2] and grey[0] != 128
