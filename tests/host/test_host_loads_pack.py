"""The pack inside a real ComfyUI 0.3.75 host: registration, documentation, and error handling that keeps it up."""

import json

import numpy as np
import pytest
from PIL import Image

from scripts.comfy_host import (
    PACK_FOLDER_NAME,
    PACK_PYTHON_MODULE,
    PromptFailed,
    PromptRejected,
    import_traceback,
    pack_import_failure,
)

PACK_NODE_IDS = (
    "AudioEncode",
    "RegionMaskFromLandmarks",
    "ReferenceNetLoad",
    "GatedUNetSample",
    "ShiftFusionLongVideo",
    "VAEDecodeVideo",
)


def solid_image_prompt(prefix: str) -> dict:
    """A valid graph of core nodes: an 8x6 image of one colour, saved under `prefix` (so no run is cached)."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 6, "batch_size": 1, "color": 0x336699}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def missing_docs(node_info: dict) -> list[str]:
    """What a node's /object_info entry lacks: 'description' and/or 'tooltip of <input>' per undocumented input."""
    missing = [] if node_info.get("description", "").strip() else ["description"]
    for section in ("required", "optional"):
        for name, spec in node_info["input"].get(section, {}).items():
            options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if not options.get("tooltip", "").strip():
                missing.append(f"tooltip of {name}")
    return missing


def assert_solid_image_saved(host, entry, prefix):
    (path,) = host.output_paths(entry)
    assert path.name.startswith(prefix)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape == (6, 8, 3)
    assert (pixels == (0x33, 0x66, 0x99)).all()


def test_the_six_nodes_are_registered_by_this_pack(comfy_host):
    object_info = comfy_host.object_info()
    modules = {node_id: object_info.get(node_id, {}).get("python_module") for node_id in PACK_NODE_IDS}
    assert modules == dict.fromkeys(PACK_NODE_IDS, PACK_PYTHON_MODULE)


def test_the_pack_imported_without_failure(comfy_host):
    log = comfy_host.log_text()
    assert pack_import_failure(log) is None
    timing_lines = [line for line in log.splitlines() if line.rstrip().endswith(f"custom_nodes/{PACK_FOLDER_NAME}")]
    assert len(timing_lines) == 1 and " seconds: " in timing_lines[0], log


def test_import_failure_and_its_traceback_are_found_in_the_host_log():
    pack = f"/tmp/x/custom_nodes/{PACK_FOLDER_NAME}"
    other_traceback = "Traceback (most recent call last):\n  File 'a.py'\nValueError: an earlier, unrelated error\n"
    pack_traceback = "Traceback (most recent call last):\n  File 'nodes/__init__.py'\nModuleNotFoundError: No module named 'x'"
    cannot_import = f"Cannot import {pack} module for custom nodes: No module named 'x'"
    timings = f"Import times for custom nodes:\n   0.0 seconds (IMPORT FAILED): /tmp/x/custom_nodes/SomeOtherPack\n"
    failed = f"   0.1 seconds (IMPORT FAILED): {pack}"
    log = f"{other_traceback}{pack_traceback}\n\n{cannot_import}\n\n{timings}{failed}\n"
    assert pack_import_failure(log) == failed.strip()
    assert import_traceback(log) == f"{pack_traceback}\n\n{cannot_import}"
    assert pack_import_failure(timings) is None


def test_every_pack_node_has_a_description_and_input_tooltips(comfy_host):
    undocumented = {name: missing_docs(info) for name, info in comfy_host.pack_nodes().items()}
    assert {name: gaps for name, gaps in undocumented.items() if gaps} == {}


def test_the_docs_check_catches_an_undocumented_node(comfy_host):
    load_image = comfy_host.object_info()["LoadImage"]
    assert missing_docs(load_image) == ["description", "tooltip of image"]


def test_unknown_node_is_rejected_and_the_host_runs_the_next_prompt(comfy_host):
    with pytest.raises(PromptRejected) as rejected:
        comfy_host.run_prompt({"1": {"class_type": "NoSuchNode", "inputs": {}}})
    assert "NoSuchNode" in json.dumps(rejected.value.answer)
    assert_solid_image_saved(comfy_host, comfy_host.run_prompt(solid_image_prompt("after_rejected")), "after_rejected")


def test_a_node_error_is_reported_and_the_host_runs_the_next_prompt(comfy_host):
    (comfy_host.input_dir / "not_an_image.png").write_bytes(b"these bytes are no PNG")
    broken = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "not_an_image.png"}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }
    with pytest.raises(PromptFailed) as failed:
        comfy_host.run_prompt(broken)
    (error,) = failed.value.errors
    assert (error["node_id"], error["node_type"]) == ("1", "LoadImage")
    assert "not_an_image.png" in error["exception_message"]
    assert comfy_host.is_running()
    assert_solid_image_saved(comfy_host, comfy_host.run_prompt(solid_image_prompt("after_failed")), "after_failed")
