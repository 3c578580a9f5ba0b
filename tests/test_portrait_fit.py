"""Portraits of any size reach the model at its resolution: scale, rounding crop around the face, masks alike."""

from __future__ import annotations

import pytest
import torch

from pipelines.conditions import RegionMasks
from pipelines.errors import PortraitInputError
from pipelines.portrait_fit import fit_image, fit_regions, mask_centre, plan_fit


def test_a_phone_photo_is_scaled_to_the_model_resolution_with_its_aspect():
    fit = plan_fit((3024, 4032), 512, 64)
    assert fit.size == (448, 576)  # 443 x 591 px at 512^2 pixels, rounded to multiples of 64
    top, left, crop_h, crop_w = fit.crop
    assert crop_h == pytest.approx(1.0) and crop_w == pytest.approx(3024 * 576 / 448 / 4032)
    assert left == pytest.approx((1 - crop_w) / 2)  # no face known: centred


def test_small_portraits_keep_their_pixels():
    fit = plan_fit((64, 64), 512, 16)
    assert fit.size == (64, 64) and fit.crop == (0.0, 0.0, 1.0, 1.0)
    image = torch.rand(1, 64, 64, 3)
    assert torch.equal(fit_image(image, fit), image)


def test_the_rounding_crop_keeps_the_face_and_the_masks_follow_the_image():
    height, width = 100, 160  # 16-px multiples: 96 x 160, the 4 rows left over come off away from the face
    image = torch.zeros(1, height, width, 3)
    masks = torch.zeros(1, 3, height, width)
    masks[:, :, 80:100, 60:100] = 1.0  # a face low in the picture
    image[:, 80:100, 60:100] = 1.0
    regions = RegionMasks(masks, ("head", "mouth", "eyes"), face_image=masks.clone())
    fit = plan_fit((height, width), 512, 16, mask_centre(masks))
    assert fit.size == (96, 160) and fit.crop[0] == pytest.approx(4 / 100)  # the top rows go, the face stays
    fitted_image, fitted = fit_image(image, fit), fit_regions(regions, fit)
    assert fitted_image.shape == (1, 96, 160, 3) and fitted.masks.shape == (1, 3, 96, 160)
    assert fitted_image[0, -20:, 60:100].min() == 1.0 and fitted.masks[0, 0, -20:, 60:100].min() == 1.0
    assert torch.equal(fitted.face_image, fitted.masks)
    assert fitted.names == regions.names


def test_masks_at_another_resolution_take_the_same_crop():
    fit = plan_fit((3000, 4000), 512, 64)
    masks = torch.rand(1, 3, 300, 400)
    fitted = fit_regions(RegionMasks(masks, ("head", "mouth", "eyes")), fit)
    height, width = fitted.masks.shape[-2:]
    assert height / width == pytest.approx(fit.size[0] / fit.size[1], rel=0.01)  # cropped alike, kept at 300 px


@pytest.mark.parametrize("size", [(1, 1), (8, 300)])
def test_a_portrait_smaller_than_the_model_takes_is_named_with_the_fix(size):
    with pytest.raises(PortraitInputError, match=r"^reference: the portrait is \d+x\d+ px, smaller than the 16 px .* Fix: use a portrait of at least 16x16 px"):
        plan_fit(size, 512, 16)
