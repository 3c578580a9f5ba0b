"""The README's slider tables ("For artists") name real node inputs and miss no widget of the nodes they describe.

Host-free: the inputs are read from the INPUT_TYPES of the node classes in nodes/*.py with `ast` (the node modules
import ComfyUI, so they are not imported here).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## For artists: the nodes and their sliders"
#: Input types the editor shows as widgets; any other type (or a list of choices, "COMBO") is a socket.
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


def readme_tables(readme: str) -> dict[str, list[str]]:
    """Node class -> the input names in the first column of the table under its **Name** heading in the section."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    tables, node = {}, None
    for line in section.splitlines():
        heading = re.match(r"\*\*(\w+)\*\*", line)
        if heading:
            node = tables.setdefault(heading.group(1), [])
        elif node is not None and line.startswith("| `"):
            node += re.findall(r"`(\w+)`", line.split("|")[1])
    return tables


def _input_type(spec: ast.expr, helpers: dict[str, ast.FunctionDef]) -> str:
    """The type of one INPUT_TYPES entry: its first element, through a module helper that returns the tuple."""
    if isinstance(spec, ast.Call) and getattr(spec.func, "id", None) in helpers:
        (returned,) = [n.value for n in ast.walk(helpers[spec.func.id]) if isinstance(n, ast.Return)]
        spec = returned
    first = spec.elts[0]
    return first.value if isinstance(first, ast.Constant) else "COMBO"


def node_inputs() -> dict[str, dict[str, bool]]:
    """Node class -> {input name: shown as a widget} for every class with INPUT_TYPES in nodes/*.py."""
    found = {}
    for path in sorted((ROOT / "nodes").glob("*.py")):
        module = ast.parse(path.read_text())
        helpers = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
        for cls in (c for c in module.body if isinstance(c, ast.ClassDef)):
            (input_types,) = [f for f in cls.body if getattr(f, "name", None) == "INPUT_TYPES"] or [None]
            if input_types is None:
                continue
            inputs = found.setdefault(cls.name, {})
            for sections in (n for n in ast.walk(input_types) if isinstance(n, ast.Dict)):
                for key, value in zip(sections.keys, sections.values):
                    if isinstance(key, ast.Constant) and key.value in ("required", "optional"):
                        for name, spec in zip(value.keys, value.values):
                            if isinstance(name, ast.Constant):
                                inputs[name.value] = _input_type(spec, helpers) in WIDGET_TYPES
    return found


def test_node_inputs_are_read_from_the_node_classes():
    inputs = node_inputs()
    assert inputs["GatedUNetSample"]["mouth_scale"] and not inputs["GatedUNetSample"]["regions"]
    assert inputs["RegionMaskFromLandmarks"]["layout"] and not inputs["RegionMaskFromLandmarks"]["head_mask"]
    assert not inputs["AudioEncode"]["vocals"] and inputs["VAEDecodeVideo"]["return_frames"]


def test_every_name_in_the_slider_tables_is_an_input_of_its_node():
    inputs = node_inputs()
    tables = readme_tables((ROOT / "README.md").read_text())
    assert {"GatedUNetSample", "RegionMaskFromLandmarks", "ShiftFusionLongVideo", "AudioEncode",
            "VAEDecodeVideo"} <= tables.keys()
    unknown = {node: [n for n in names if n not in inputs.get(node, {})] for node, names in tables.items()}
    assert not any(unknown.values()), f"README names inputs the nodes do not have: {unknown}"


def test_every_widget_of_a_described_node_is_in_its_table():
    inputs = node_inputs()
    tables = readme_tables((ROOT / "README.md").read_text())
    missing = {node: [name for name, widget in inputs[node].items() if widget and name not in names]
               for node, names in tables.items()}
    assert not any(missing.values()), f"add these widgets to the README's slider tables: {missing}"
