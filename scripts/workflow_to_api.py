"""Convert a UI-format ComfyUI workflow (what the editor saves, what example_workflows/ holds) to an API prompt.

Only the ComfyUI front end does this conversion; this is a small stand-in for tests and the demo. Widget values
are matched to input names with the host's /object_info (inputs in `input_order`, widget types only).
The front end's rules that are followed here:
- muted nodes (mode 2) are left out, and so is any input linked to one;
- bypassed nodes (mode 4) are left out and each link through one goes on to the bypassed node's input of the
  same type (the input in the same slot first, then the others in order); no such input means no link;
- the extra `control_after_generate` value ("fixed", "randomize", ...) after a seed widget is skipped;
- Reroute nodes are followed; a PrimitiveNode's value is already in its target's widgets_values, so the
  target keeps that widget value; Note and MarkdownNote are dropped;
- values after the last widget (e.g. LoadImage's "image" upload button) are ignored.
Subgraphs and other front-end-only nodes are not supported: they raise ValueError.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

MUTED, BYPASSED = 2, 4
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize"})
SEED_NAMES = frozenset({"seed", "noise_seed"})
DROPPED_TYPES = frozenset({"Note", "MarkdownNote"})
REROUTE, PRIMITIVE = "Reroute", "PrimitiveNode"


def widget_inputs(node_info: dict) -> list[tuple[str, list]]:
    """(name, spec) of a node's widget inputs, in the order the front end creates the widgets."""
    declared = {**node_info["input"].get("required", {}), **node_info["input"].get("optional", {})}
    order = node_info.get("input_order") or {k: list(node_info["input"].get(k, {})) for k in ("required", "optional")}
    names = [*order.get("required", []), *order.get("optional", [])]
    return [(name, declared[name]) for name in names if is_widget(declared[name])]


def is_widget(spec: list) -> bool:
    """True when an input spec is drawn as a widget (combo, number, text, toggle) rather than a socket."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    return (isinstance(spec[0], list) or spec[0] in WIDGET_TYPES) and not options.get("forceInput", False)


def has_control_value(name: str, spec: list) -> bool:
    """True when the front end adds a control_after_generate widget after this input."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    return bool(options.get("control_after_generate")) or (spec[0] == "INT" and name in SEED_NAMES)


def widget_values(node: dict, node_info: dict) -> dict:
    """Input name -> value for a node's widgets, from its widgets_values (a list, or a dict by name)."""
    saved = node.get("widgets_values") or []
    widgets = widget_inputs(node_info)
    if isinstance(saved, dict):
        return {name: saved[name] for name, _ in widgets if name in saved}
    values, position = {}, 0
    for name, spec in widgets:
        if position >= len(saved):
            break
        values[name] = saved[position]
        position += 1
        if has_control_value(name, spec) and position < len(saved) and saved[position] in CONTROL_VALUES:
            position += 1
    return values


class _Graph:
    """Nodes and links of a UI workflow, with the link resolution the front end applies."""

    def __init__(self, workflow: dict):
        self.nodes = {node["id"]: node for node in workflow["nodes"]}
        self.links = {}
        for link in workflow.get("links", []):
            if isinstance(link, dict):
                link = [link[k] for k in ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")]
            self.links[link[0]] = link

    def source(self, link_id: int | None, input_type: str):
        """[origin node id, output slot] feeding a link, PRIMITIVE for a PrimitiveNode, or None for no source."""
        while link_id is not None and link_id in self.links:
            _, origin_id, origin_slot = self.links[link_id][:3]
            if origin_id not in self.nodes:
                raise ValueError(f"link {link_id} starts at node {origin_id}, which is not in the workflow")
            origin = self.nodes[origin_id]
            if origin["type"] == PRIMITIVE:
                return PRIMITIVE
            if origin["type"] == REROUTE:
                link_id = (origin.get("inputs") or [{}])[0].get("link")
            elif origin.get("mode") == MUTED:
                return None
            elif origin.get("mode") == BYPASSED:
                link_id = self._link_through_bypass(origin, origin_slot, input_type)
            else:
                return [str(origin_id), origin_slot]
        return None

    @staticmethod
    def _link_through_bypass(node: dict, slot: int, input_type: str) -> int | None:
        inputs = node.get("inputs", [])
        slots = ([slot] if slot < len(inputs) else []) + list(range(len(inputs)))
        for index in slots:
            if inputs[index].get("type") == input_type:
                return inputs[index].get("link")
        return None


def convert(workflow: dict, object_info: dict) -> dict:
    """API-format prompt {node id: {"class_type", "inputs", "_meta"}} from a UI-format workflow."""
    subgraphs = {graph["id"] for graph in (workflow.get("definitions") or {}).get("subgraphs") or []}
    graph = _Graph(workflow)
    prompt = {}
    for node_id, node in graph.nodes.items():
        kind = node["type"]
        if node.get("mode") in (MUTED, BYPASSED) or kind in DROPPED_TYPES or kind in (REROUTE, PRIMITIVE):
            continue
        if kind in subgraphs:
            raise ValueError(f"node {node_id} is a subgraph; unpack it in the editor before converting")
        if kind not in object_info:
            raise ValueError(f"node {node_id} has type {kind!r}, which the host does not offer (a missing custom node?)")
        inputs = widget_values(node, object_info[kind])
        for slot in node.get("inputs", []):
            source = graph.source(slot.get("link"), slot.get("type"))
            if source is not None and source is not PRIMITIVE:
                inputs[slot["name"]] = source
        title = node.get("title") or object_info[kind].get("display_name", kind)
        prompt[str(node_id)] = {"class_type": kind, "inputs": inputs, "_meta": {"title": title}}
    return prompt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflow", type=Path, help="UI-format workflow JSON")
    parser.add_argument("object_info", help="a running host's URL (http://127.0.0.1:8188) or a saved /object_info JSON file")
    args = parser.parse_args(argv)
    if args.object_info.startswith("http"):
        with urllib.request.urlopen(args.object_info.rstrip("/") + "/object_info") as answer:
            object_info = json.load(answer)
    else:
        object_info = json.loads(Path(args.object_info).read_text())
    json.dump(convert(json.loads(args.workflow.read_text()), object_info), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
