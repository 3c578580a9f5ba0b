"""Write a same-name .jpg thumbnail next to each example workflow (ComfyUI shows them as template previews).

    .venv/bin/python -m scripts.make_workflow_thumbnails [--steps N] [example_workflows/x.json ...]

Every thumbnail comes from a real run in a headless host (scripts/comfy_host.py) on the demo models
(scripts/make_demo_models.py), the Piper voice (scripts/fetch_tts_voices.py) and the inputs in example_workflows/input/:
- workflows on the pack's own model (ReferenceNetLoad) run whole; the thumbnail is a strip of three frames of the
  mp4 they write (at 25 %, 50 % and 75 % of the video);
- workflows whose model files are not shipped (Hallo's checkpoints) run only their LoadImage ->
  RegionMaskFromLandmarks part; the thumbnail is the portrait with the region overlay;
- workflows on the user's own SD1.5 checkpoint (core CheckpointLoaderSimple) run only their voice part (up to
  ImaginePortrait); the thumbnail is a card with the voice's prompt, seed and attributes beside the painted portrait
  of the same voice.
Rerun it whenever a workflow or the demo model changes; it overwrites the .jpg files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import av
from PIL import Image, ImageDraw

from scripts.comfy_host import REPO_ROOT, ComfyHost
from scripts.fetch_tts_voices import link_tts_voices
from scripts.make_demo_models import write_demo_models
from scripts.workflow_to_api import convert

WORKFLOW_DIR = REPO_ROOT / "example_workflows"
INPUT_DIR = WORKFLOW_DIR / "input"
#: Height of one thumbnail panel in pixels.
PANEL = 256
#: Where in the video the strip's frames are taken (fractions of its length).
STRIP_AT = (0.25, 0.5, 0.75)
MASKS_NODE = "RegionMaskFromLandmarks"
MASKS_PREVIEW_SLOT = 5


def panel(image: Image.Image) -> Image.Image:
    """An image scaled to PANEL pixels high, aspect kept."""
    width = max(1, round(image.width * PANEL / image.height))
    return image.convert("RGB").resize((width, PANEL), Image.Resampling.LANCZOS)


def frame_strip(mp4: Path) -> Image.Image:
    """Frames at STRIP_AT of the video, side by side."""
    with av.open(str(mp4)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    panels = [panel(frames[min(len(frames) - 1, int(at * len(frames)))]) for at in STRIP_AT]
    strip = Image.new("RGB", (sum(p.width for p in panels), PANEL))
    x = 0
    for image in panels:
        strip.paste(image, (x, 0))
        x += image.width
    return strip


def masks_only(prompt: dict) -> dict:
    """The workflow's LoadImage -> RegionMaskFromLandmarks nodes, with the region preview saved."""
    (masks_id,) = [node_id for node_id, node in prompt.items() if node["class_type"] == MASKS_NODE]
    image_id = prompt[masks_id]["inputs"]["image"][0]
    return {
        image_id: prompt[image_id],
        masks_id: prompt[masks_id],
        "thumbnail": {"class_type": "SaveImage",
                      "inputs": {"images": [masks_id, MASKS_PREVIEW_SLOT], "filename_prefix": "thumbnail/regions"}},
    }


def upstream(prompt: dict, node_id: str) -> dict:
    """The node and every node it reads from, as a prompt."""
    needed, queue = {}, [node_id]
    while queue:
        current = queue.pop()
        needed[current] = prompt[current]
        queue += [value[0] for value in prompt[current]["inputs"].values() if isinstance(value, list)]
    return needed


def voice_card(host: ComfyHost, prompt: dict) -> Image.Image:
    """Run the workflow's voice part; the painted portrait beside its prompt, seed and voice attributes."""
    (imagine_id,) = [node_id for node_id, node in prompt.items() if node["class_type"] == "ImaginePortrait"]
    voice_id = prompt[imagine_id]["inputs"]["voice_attributes"][0]
    part = {**upstream(prompt, imagine_id),
            "portrait": {"class_type": "SaveImage", "inputs": {"images": [imagine_id, 0],
                                                               "filename_prefix": "thumbnail/voice"}},
            **{name: {"class_type": "PreviewAny", "inputs": {"source": source}}
               for name, source in (("summary", [voice_id, 1]), ("prompt", [imagine_id, 2]), ("seed", [imagine_id, 3]))}}
    entry = host.run_prompt(part)
    (portrait,) = [p for p in host.output_paths(entry) if p.is_relative_to(host.output_dir / "thumbnail")]
    text = {name: entry["outputs"][name]["text"][0] for name in ("summary", "prompt", "seed")}
    card = Image.new("RGB", (2 * PANEL, PANEL), (32, 36, 44))
    draw = ImageDraw.Draw(card)
    lines = ["Your SD1.5 checkpoint + KSampler:", f"seed {text['seed']}", "prompt:"]
    lines += textwrap.wrap(text["prompt"], 44) + [""] + textwrap.wrap(text["summary"], 44)
    for row, line in enumerate(lines[:16]):
        draw.text((10, 8 + 15 * row), line, fill=(220, 228, 236))
    painted = panel(Image.open(portrait))
    strip = Image.new("RGB", (painted.width + card.width, PANEL))
    strip.paste(painted, (0, 0))
    strip.paste(card, (painted.width, 0))
    return strip


def thumbnail(host: ComfyHost, workflow: Path, steps: int | None) -> Image.Image:
    """Run the workflow (or its masks part, see the module docstring) and build its thumbnail."""
    prompt = convert(json.loads(workflow.read_text()), host.object_info())
    classes = {node["class_type"] for node in prompt.values()}
    if "CheckpointLoaderSimple" in classes:
        return voice_card(host, prompt)
    if "ReferenceNetLoad" not in classes:
        entry = host.run_prompt(masks_only(prompt))
        (preview,) = [p for p in host.output_paths(entry) if p.is_relative_to(host.output_dir / "thumbnail")]
        return panel(Image.open(preview))
    for node in prompt.values():
        if node["class_type"] == "GatedUNetSample" and steps is not None:
            node["inputs"]["steps"] = steps
    entry = host.run_prompt(prompt, timeout=3600)
    (mp4,) = [p for p in host.output_paths(entry) if p.suffix == ".mp4"]
    return frame_strip(mp4)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflows", nargs="*", type=Path, help="default: every example_workflows/*.json")
    parser.add_argument("--steps", type=int, help="denoising steps instead of the workflow's own (quicker, rougher)")
    args = parser.parse_args(argv)
    workflows = args.workflows or sorted(WORKFLOW_DIR.glob("*.json"))
    with tempfile.TemporaryDirectory(prefix="gated-portrait-thumbnails-") as base:
        host = ComfyHost(Path(base) / "host")
        host.input_dir.mkdir(parents=True)
        for path in INPUT_DIR.iterdir():
            shutil.copy(path, host.input_dir / path.name)
        write_demo_models(host.models_dir)
        link_tts_voices(str(host.models_dir / "tts"))
        with host:
            for workflow in workflows:
                target = workflow.with_suffix(".jpg")
                thumbnail(host, workflow, args.steps).save(target, quality=88)
                print(target, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
