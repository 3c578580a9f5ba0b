"""What a saved workflow relies on in a node's /object_info entry: id, display name, category, widget order and
defaults, socket types, output names and types. File lists (model folders) and tooltips are left out."""

from __future__ import annotations

#: Widget settings a saved workflow's values are read against.
WIDGET_KEYS = ("default", "min", "max", "step")
#: Inputs whose choices are the files in a model folder (they differ from one ComfyUI to the next).
FILE_LISTS = frozenset({"model_name", "sd15_unet", "motion_module", "net_file", "face_recognition", "encoder_folder",
                        "face_landmarker", "voice"})


def input_contract(spec: list) -> dict:
    """One input: its type ('COMBO' for a list of choices, either form) and widget settings; fixed choices kept."""
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    choices = kind if isinstance(kind, list) else options.get("options")
    contract = {"type": "COMBO", "choices": choices} if choices is not None else {"type": kind}
    contract.update({key: options[key] for key in WIDGET_KEYS if key in options})
    return contract


def node_contract(info: dict) -> dict:
    """One node's saved-workflow contract; the file-list inputs keep only their type."""
    inputs = {}
    for section in ("required", "optional"):
        for name in info["input_order"].get(section, []):
            entry = input_contract(info["input"][section][name])
            inputs[name] = {"section": section, **({"type": "COMBO"} if name in FILE_LISTS else entry)}
    return {
        "display_name": info["display_name"],
        "category": info["category"],
        "output_node": info["output_node"],
        "inputs": inputs,
        "input_order": [*info["input_order"]["required"], *info["input_order"].get("optional", [])],
        "outputs": list(zip(info["output"], info["output_name"])),
    }
