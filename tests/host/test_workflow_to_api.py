"""UI-format workflow -> API prompt: widget mapping, muted/bypassed nodes, seeds, reroutes, primitives."""

import copy

import numpy as np
import pytest
from PIL import Image

from scripts.workflow_to_api import convert

INT = ["INT", {"default": 0, "min": 0, "max": 16384}]

#: The core node specs the workflows below use, as ComfyUI 0.3.75 declares them in /object_info (trimmed).
OBJECT_INFO = {
    "EmptyImage": {
        "input": {"required": {"width": INT, "height": INT, "batch_size": INT, "color": INT}},
        "input_order": {"required": ["width", "height", "batch_size", "color"]},
        "display_name": "EmptyImage",
    },
    "ImageAddNoise": {
        "input": {
            "required": {
                "image": ["IMAGE"],
                "seed": ["INT", {"default": 0, "control_after_generate": True}],
                "strength": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0}],
            }
        },
        "input_order": {"required": ["image", "seed", "strength"]},
        "display_name": "ImageAddNoise",
    },
    "ImageInvert": {"input": {"required": {"image": ["IMAGE"]}}, "display_name": "Invert Image"},
    "SaveImage": {
        "input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}},
        "input_order": {"required": ["images", "filename_prefix"]},
        "display_name": "Save Image",
    },
    "PreviewImage": {"input": {"required": {"images": ["IMAGE"]}}, "display_name": "Preview Image"},
    "JoinImageWithAlpha": {
        "input": {"required": {"image": ["IMAGE"], "alpha": ["MASK"]}},
        "display_name": "Join Image with Alpha",
    },
    "MaskToImage": {"input": {"required": {"mask": ["MASK"]}}, "display_name": "Convert Mask to Image"},
    "SolidMask": {
        "input": {"required": {"value": ["FLOAT", {"default": 1.0}], "width": INT, "height": INT}},
        "input_order": {"required": ["value", "width", "height"]},
        "display_name": "SolidMask",
    },
    "LoadImage": {"input": {"required": {"image": [["a.png", "b.png"], {"image_upload": True}]}}, "display_name": "Load Image"},
}


def ui_node(node_id, kind, widgets=(), inputs=(), mode=0, **extra):
    """A node as the editor saves it; `inputs` holds (name, type, link id or None[, widget name])."""
    slots = []
    for name, slot_type, link, *widget in inputs:
        slots.append({"name": name, "type": slot_type, "link": link, **({"widget": {"name": widget[0]}} if widget else {})})
    return {"id": node_id, "type": kind, "mode": mode, "inputs": slots, "outputs": [], "widgets_values": list(widgets), **extra}


#: EmptyImage (width from a PrimitiveNode) -> ImageAddNoise (seed + control value, strength 0) -> ImageInvert
#: (bypassed) -> Reroute -> SaveImage; a muted SaveImage and a Note beside it.
WORKFLOW = {
    "last_node_id": 8,
    "last_link_id": 6,
    "nodes": [
        ui_node(1, "EmptyImage", [8, 6, 1, 0x336699], inputs=[("width", "INT", 6, "width")]),
        ui_node(2, "ImageAddNoise", [123, "randomize", 0.0], inputs=[("image", "IMAGE", 1)]),
        ui_node(3, "ImageInvert", inputs=[("image", "IMAGE", 2)], mode=4),
        ui_node(4, "Reroute", inputs=[("", "*", 3)]),
        ui_node(5, "SaveImage", ["converted"], inputs=[("images", "IMAGE", 4)], title="Save the result"),
        ui_node(6, "SaveImage", ["muted"], inputs=[("images", "IMAGE", 5)], mode=2),
        ui_node(7, "Note", ["A note for the artist."]),
        ui_node(8, "PrimitiveNode", [8, "fixed"]),
    ],
    "links": [
        [1, 1, 0, 2, 0, "IMAGE"],
        [2, 2, 0, 3, 0, "IMAGE"],
        [3, 3, 0, 4, 0, "*"],
        [4, 4, 0, 5, 0, "IMAGE"],
        [5, 1, 0, 6, 0, "IMAGE"],
        [6, 8, 0, 1, 0, "INT"],
    ],
    "groups": [],
    "config": {},
    "extra": {},
    "version": 0.4,
}

EXPECTED_PROMPT = {
    "1": {
        "class_type": "EmptyImage",
        "inputs": {"width": 8, "height": 6, "batch_size": 1, "color": 0x336699},
        "_meta": {"title": "EmptyImage"},
    },
    "2": {
        "class_type": "ImageAddNoise",
        "inputs": {"seed": 123, "strength": 0.0, "image": ["1", 0]},
        "_meta": {"title": "ImageAddNoise"},
    },
    "5": {
        "class_type": "SaveImage",
        "inputs": {"filename_prefix": "converted", "images": ["2", 0]},
        "_meta": {"title": "Save the result"},
    },
}


def test_workflow_converts_to_the_expected_prompt():
    assert convert(WORKFLOW, OBJECT_INFO) == EXPECTED_PROMPT


def test_seed_without_a_saved_control_value_keeps_the_next_widget():
    workflow = {"nodes": [ui_node(2, "ImageAddNoise", [7, 0.25], inputs=[("image", "IMAGE", None)])], "links": []}
    assert convert(workflow, OBJECT_INFO)["2"]["inputs"] == {"seed": 7, "strength": 0.25}


def test_values_after_the_last_widget_are_ignored():
    workflow = {"nodes": [ui_node(1, "LoadImage", ["b.png", "image"])], "links": []}
    assert convert(workflow, OBJECT_INFO)["1"]["inputs"] == {"image": "b.png"}


def test_widget_values_saved_by_name_are_read_by_name():
    workflow = {"nodes": [ui_node(5, "SaveImage", inputs=[("images", "IMAGE", None)])], "links": []}
    workflow["nodes"][0]["widgets_values"] = {"filename_prefix": "named", "stale": 1}
    assert convert(workflow, OBJECT_INFO)["5"]["inputs"] == {"filename_prefix": "named"}


def test_bypass_follows_the_bypassed_nodes_input_of_the_consumers_type():
    """Through a bypassed JoinImageWithAlpha: an IMAGE consumer gets its `image` source, a MASK one its `alpha`."""
    workflow = {
        "nodes": [
            ui_node(1, "EmptyImage", [4, 4, 1, 0]),
            ui_node(2, "SolidMask", [1.0, 4, 4]),
            ui_node(3, "JoinImageWithAlpha", inputs=[("image", "IMAGE", 1), ("alpha", "MASK", 2)], mode=4),
            ui_node(4, "PreviewImage", inputs=[("images", "IMAGE", 3)]),
            ui_node(5, "MaskToImage", inputs=[("mask", "MASK", 4)]),
        ],
        "links": [[1, 1, 0, 3, 0, "IMAGE"], [2, 2, 0, 3, 1, "MASK"], [3, 3, 0, 4, 0, "IMAGE"], [4, 3, 0, 5, 0, "MASK"]],
    }
    prompt = convert(workflow, OBJECT_INFO)
    assert "3" not in prompt
    assert prompt["4"]["inputs"] == {"images": ["1", 0]}
    assert prompt["5"]["inputs"] == {"mask": ["2", 0]}


def test_bypass_without_a_matching_input_drops_the_link():
    workflow = copy.deepcopy(WORKFLOW)
    workflow["nodes"][1]["mode"] = 4  # ImageAddNoise bypassed too: its IMAGE input leads back to EmptyImage
    assert convert(workflow, OBJECT_INFO)["5"]["inputs"]["images"] == ["1", 0]
    workflow["links"][0] = [1, 1, 0, 2, 0, "MASK"]
    workflow["nodes"][1]["inputs"][0]["type"] = "MASK"  # no IMAGE input on the bypassed node any more
    assert "images" not in convert(workflow, OBJECT_INFO)["5"]["inputs"]


def test_input_from_a_muted_node_is_dropped():
    workflow = copy.deepcopy(WORKFLOW)
    workflow["nodes"][1]["mode"] = 2
    prompt = convert(workflow, OBJECT_INFO)
    assert "2" not in prompt and prompt["5"]["inputs"] == {"filename_prefix": "converted"}


def test_unknown_node_type_names_the_node():
    workflow = {"nodes": [ui_node(9, "SomeMissingPackNode")], "links": []}
    with pytest.raises(ValueError, match="node 9 has type 'SomeMissingPackNode'"):
        convert(workflow, OBJECT_INFO)


def test_subgraphs_are_refused():
    workflow = {"nodes": [ui_node(3, "4f1c-subgraph")], "links": [], "definitions": {"subgraphs": [{"id": "4f1c-subgraph"}]}}
    with pytest.raises(ValueError, match="subgraph"):
        convert(workflow, OBJECT_INFO)


def test_the_host_agrees_with_the_specs_and_runs_the_converted_workflow(comfy_host):
    """The same prompt from the host's /object_info; running it saves the EmptyImage colour, not its inverse."""
    object_info = comfy_host.object_info()
    prompt = convert(WORKFLOW, object_info)
    assert {k: (v["class_type"], v["inputs"]) for k, v in prompt.items()} == {
        k: (v["class_type"], v["inputs"]) for k, v in EXPECTED_PROMPT.items()
    }
    (path,) = comfy_host.output_paths(comfy_host.run_prompt(prompt))
    assert path.name.startswith("converted")
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape == (6, 8, 3)
    assert (pixels == (0x33, 0x66, 0x99)).all()
