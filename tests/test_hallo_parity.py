"""The pack's Hallo path against Hallo's original inference code (8fd7c57), stored in tests/fixtures/ by
scripts/make_hallo_parity_fixture.py: same weights and inputs, fp32 on the CPU, outputs equal to float noise."""

from __future__ import annotations

import dataclasses
import json

import pytest

from scripts.hallo_parity import REVERTS, load_fixture, reverted
from pipelines.guidance import GuidanceScales
from pipelines.hallo_reference_rows import COND, UNCOND, motion_identities, reference_identities, row_identities

UNET_TOLERANCE = 1e-4
LATENT_TOLERANCE = 1e-3
RUNS = ("first", "later")  # first clip: the reference as motion frames, sliders 1; later: other frames, sliders != 1


@pytest.fixture(scope="module")
def fixture():
    return load_fixture()


@pytest.fixture(scope="module")
def model(fixture):
    return fixture.model()


@pytest.fixture(scope="module")
def faithful(fixture, model) -> float:
    """The pack's distance to Hallo's final latents of the later clip, everything as Hallo does it."""
    return fixture.final_difference(model)


def test_fixture_names_hallos_commit_and_the_environment_it_ran_in(fixture):
    assert fixture.metadata["hallo_commit"] == "8fd7c57"
    environment = json.loads(fixture.metadata["environment"])
    assert environment["diffusers"] == "0.27.2" and "torch" in environment
    assert fixture.settings == {**fixture.settings, "steps": 3, "cfg": 3.5, "frames": 8}


def test_hallos_reference_net_rows_pair_images_and_identities_as_its_code_does():
    assert row_identities(3, 2).tolist() == [[UNCOND, COND, UNCOND], [COND, UNCOND, COND]]  # (ref,u) (m1,c) (m2,u) ...
    assert motion_identities(0, 3, 2).tolist() == [COND, UNCOND]
    assert motion_identities(1, 3, 2).tolist() == [UNCOND, COND]
    assert reference_identities(1, 8, 3, 2).tolist() == [UNCOND, COND] * 4  # cond half: even frames see (ref, u)
    assert row_identities(3, 1).tolist() == [[COND] * 3]  # no CFG: one half, the face's identity everywhere


@pytest.mark.parametrize("run", RUNS)
def test_one_denoiser_forward_equals_hallos(fixture, model, run):
    uncond, cond = fixture.unet_halves(model, run)
    hallo_uncond, hallo_cond = fixture.runs[run]["unet_output"].chunk(2)
    assert float((uncond - hallo_uncond).abs().max()) <= UNET_TOLERANCE
    assert float((cond - hallo_cond).abs().max()) <= UNET_TOLERANCE
    assert float(hallo_cond.abs().max()) > 0.5  # the comparison is not between near-zero outputs


@pytest.mark.parametrize("run", RUNS)
def test_three_ddim_steps_equal_hallos_latents_after_every_step(fixture, model, run):
    steps = fixture.clip_latents(model, run)
    assert len(steps) == 3
    for index, latents in enumerate(steps):
        assert float((latents - fixture.runs[run][f"latents_{index}"]).abs().max()) <= LATENT_TOLERANCE, index


@pytest.mark.parametrize("name", REVERTS)
def test_each_reverted_hallo_behaviour_moves_the_latents_away_from_hallos(fixture, model, faithful, name):
    """fp16 banks move the final latents by less than the parity tolerance (README: measured sizes), so every revert
    is held to the same bar: at least twice the faithful path's distance to Hallo."""
    with reverted(name):
        assert fixture.final_difference(model) > 2 * faithful


def test_cond_identity_encoding_and_regional_guidance_each_break_parity(fixture, model):
    assert fixture.final_difference(fixture.model(reference_encoding="cond_identity")) > LATENT_TOLERANCE
    assert fixture.final_difference(model, guidance=GuidanceScales(3.5, 3.5, regional=True)) > LATENT_TOLERANCE


def test_eval_mode_temporal_modules_break_parity(fixture):
    plain = fixture.model(motion=dataclasses.replace(fixture.config.motion, skip_blocks=(), reference_motion_frames=0))
    assert fixture.final_difference(plain, run="first") > LATENT_TOLERANCE
