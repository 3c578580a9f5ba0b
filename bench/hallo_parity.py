"""How close the pack's Hallo path is to Hallo's original inference, and how much each Hallo behaviour and each
remaining difference moves the result, on tests/fixtures/hallo_parity.safetensors (fp32, CPU).

    OMP_NUM_THREADS=1 .venv/bin/python -m bench.hallo_parity

Every number is a max abs difference of latents: `parity` the pack against Hallo (one denoiser forward per CFG half,
the final latents after 3 DDIM steps); `hallo_behaviours` the pack's final latents of the later clip (the first clip
for the eval-mode temporal modules) against Hallo's with that behaviour switched off; `remaining_differences` the
pack's final latents against Hallo's run on Hallo's own version of an input the pack prepares differently. One JSON
object to stdout and bench/results/hallo_parity.json.
"""

from __future__ import annotations

import dataclasses

import torch

from bench.report import report
from pipelines.guidance import GuidanceScales
from scripts.hallo_parity import REVERTS, load_fixture, reverted


def rounded(value: float) -> float:
    return float(f"{value:.3g}")


def main() -> None:
    torch.manual_seed(0)
    fixture = load_fixture()
    model = fixture.model()
    parity = {}
    for run in fixture.runs:
        halves = [float((ours - theirs).abs().max()) for ours, theirs in zip(fixture.unet_halves(model, run), fixture.runs[run]["unet_output"].chunk(2))]
        parity[run] = {
            "unet_uncond": rounded(halves[0]), "unet_cond": rounded(halves[1]),
            "final_latents": rounded(fixture.final_difference(model, run)),
        }
    behaviours = {}
    for name in REVERTS:
        with reverted(name):
            behaviours[name] = rounded(fixture.final_difference(model))
    behaviours["cond_identity encoding"] = rounded(fixture.final_difference(fixture.model(reference_encoding="cond_identity")))
    behaviours["regional guidance on"] = rounded(fixture.final_difference(model, guidance=GuidanceScales(3.5, 3.5, regional=True)))
    eval_mode = dataclasses.replace(fixture.config.motion, skip_blocks=(), reference_motion_frames=0)
    behaviours["eval-mode temporal modules (first clip)"] = rounded(fixture.final_difference(fixture.model(motion=eval_mode), run="first"))
    remaining = {
        "masks resized by area (Hallo: bilinear)": rounded(fixture.final_difference(model, hallo="later_bilinear_masks")),
        "motion frames as latents (Hallo: decoded and re-encoded by the fixture's tiny random VAE)": rounded(
            fixture.final_difference(model, hallo="later_vae_roundtrip")
        ),
    }
    scale = float(fixture.runs["later"][f"latents_{fixture.settings['steps'] - 1}"].abs().max())
    report("hallo_parity", {
        "fixture": "tests/fixtures/hallo_parity.safetensors", "hallo_commit": fixture.metadata["hallo_commit"],
        "settings": fixture.settings, "final_latents_max_abs": rounded(scale),
        "parity": parity, "hallo_behaviours": behaviours, "remaining_differences": remaining,
    })


if __name__ == "__main__":
    main()
