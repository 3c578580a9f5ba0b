"""Saved workflows keep loading: every node of the pack shows the host the same id, display name, category, widget
order, widget defaults and ranges, choices, socket types and outputs as the contract recorded from the nodes
before their move to ComfyUI's V3 schema (tests/fixtures/node_contract.json)."""

import json
from pathlib import Path

from node_contract import node_contract

CONTRACT = Path(__file__).resolve().parents[1] / "fixtures" / "node_contract.json"


def test_every_node_keeps_its_saved_workflow_contract(comfy_host):
    recorded = json.loads(CONTRACT.read_text())
    served = json.loads(json.dumps({node_id: node_contract(info) for node_id, info in comfy_host.pack_nodes().items()}))
    assert sorted(served) == sorted(recorded)
    changed = {node_id: {key: (recorded[node_id][key], served[node_id][key])
                         for key in recorded[node_id] if served[node_id][key] != recorded[node_id][key]}
               for node_id in recorded}
    assert not any(changed.values()), f"recorded vs served: {changed}"


def test_the_contract_tells_a_moved_widget_apart():
    info = {"display_name": "N", "category": "c", "output_node": False, "output": ["INT"], "output_name": ["n"],
            "input": {"required": {"a": ["INT", {"default": 1}], "b": [["x", "y"], {"default": "x"}]}},
            "input_order": {"required": ["a", "b"]}}
    moved = {**info, "input_order": {"required": ["b", "a"]}}
    v3_combo = {**info, "input": {"required": {"a": ["INT", {"default": 1}],
                                               "b": ["COMBO", {"default": "x", "options": ["x", "y"]}]}}}
    assert node_contract(moved) != node_contract(info)
    assert node_contract(v3_combo) == node_contract(info)


def test_every_dropdown_is_served_as_its_list_of_choices(comfy_host):
    """The form in which the host checks a queued value against the choices (a V3 'COMBO' goes unchecked there)."""
    served = [(node_id, name, spec[0]) for node_id, info in comfy_host.pack_nodes().items()
              for section in ("required", "optional") for name, spec in info["input"].get(section, {}).items()
              if "options" in (spec[1] if len(spec) > 1 else {})]
    assert len(served) >= 12
    assert [(node_id, name) for node_id, name, kind in served if not isinstance(kind, list)] == []
