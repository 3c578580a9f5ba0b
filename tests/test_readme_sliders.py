"""The README's slider tables ("For artists") name real node inputs and miss no widget of the nodes they describe.

Host-free: the inputs are read from the V3 schemas (define_schema) of the node classes in nodes/*.py with `ast` (the
node modules import ComfyUI, so they are not imported here).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## For artists: the nodes and their sliders"
#: V3 input types (`io.<Type>.Input`, and the pack's `Choice` dropdown) the editor shows as widgets; any other type
#: is a socket.
WIDGET_TYPES = {"Int", "Float", "String", "Boolean", "Combo"}


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


def string_constants(paths) -> dict[str, str]:
    """Module-level `NAME = "text"` assignments of the given files (input names kept as constants)."""
    found = {}
    for path in paths:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.update({target.id: node.value.value for target in node.targets if isinstance(target, ast.Name)})
    return found


def _input_call(call: ast.Call, helpers: dict[str, ast.FunctionDef]) -> ast.Call | None:
    """The `<type>.Input(...)` call an input entry makes, directly or through a module helper that returns it."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "Input" or getattr(call.func, "id", None) == "Choice":
        return call
    if isinstance(call.func, ast.Name) and call.func.id in helpers:
        (returned,) = [n.value for n in ast.walk(helpers[call.func.id]) if isinstance(n, ast.Return)]
        return returned if isinstance(returned, ast.Call) else None
    return None


def node_inputs() -> dict[str, dict[str, bool]]:
    """Node class -> {input name: shown as a widget} for every class with define_schema in nodes/*.py."""
    files = sorted((ROOT / "nodes").glob("*.py"))
    modules = [ast.parse(path.read_text()) for path in files]
    helpers = {f.name: f for module in modules for f in module.body if isinstance(f, ast.FunctionDef)}
    constants = string_constants([*files, *sorted((ROOT / "pipelines").rglob("*.py"))])
    found = {}
    for cls in (c for module in modules for c in module.body if isinstance(c, ast.ClassDef)):
        (schema,) = [f for f in cls.body if getattr(f, "name", None) == "define_schema"] or [None]
        if schema is None:
            continue
        inputs = found.setdefault(cls.name, {})
        entries = [n for n in ast.walk(schema) if isinstance(n, ast.keyword) and n.arg == "inputs"]
        for entry in (e for keyword in entries for e in keyword.value.elts):
            typed = _input_call(entry, helpers)
            if typed is None:
                continue
            # the name: a string in the Input call (also one inside a helper), else the helper's first argument
            name = typed.args[0] if isinstance(typed.args[0], ast.Constant) else entry.args[0]
            name = name.value if isinstance(name, ast.Constant) else constants[name.id]
            kind = getattr(typed.func.value, "attr", None) if isinstance(typed.func, ast.Attribute) else "Combo"
            inputs[name] = kind in WIDGET_TYPES
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
