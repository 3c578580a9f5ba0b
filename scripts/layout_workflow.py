"""Lay out example workflows as the editor sizes their nodes: columns side by side, nodes stacked, nothing overlapping.

    .venv/bin/python -m scripts.layout_workflow example_workflows/*.json

Columns come from the saved x positions (one column per distinct x, left to right), the order inside a column from
the saved y. Each node gets the size the editor gives a new node (`computeSize` with the pack's web extension, so
preview space is reserved, plus room for widget values) and at least the width its title needs; all nodes of a
column share the column's widest width; a note keeps its saved height. The view a workflow opens with shows the whole
graph. The workflow files are rewritten in place.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from scripts.screenshot_workflow import LOAD, demo_editor, settled_bounds

#: Graph units between columns, between stacked nodes (below the lower node's title bar) and around the graph.
COLUMN_GAP = 50
ROW_GAP = 40
ORIGIN = (40, 60)
NOTE_TYPES = ("Note", "MarkdownNote")
#: The view a template opens with: the whole graph in a 1600 x 1000 window, clear of the editor's side and top bars
#: (screen = (graph + offset) x scale).
OPENING_VIEW = {"scale": 0.7, "offset": [60, 90]}
#: Width added to a node with widgets so their values show (what the editor adds to a new node's computed width).
WIDGET_VALUE_ROOM = 60

#: Each node's id, the size the editor wants for it and the title bar height, in graph units.
SIZES = """(WIDGET_VALUE_ROOM) => {
  const app = window.comfyAPI.app.app;
  const measure = document.createElement("canvas").getContext("2d");
  return app.graph.nodes.map((node) => {
    measure.font = node.titleFontStyle;
    const title = Math.ceil(measure.measureText(node.getTitle()).width) + 2 * LiteGraph.NODE_TITLE_HEIGHT;
    const [width, height] = node.computeSize();
    const valuesRoom = node.widgets?.length ? WIDGET_VALUE_ROOM : 0;
    return { id: node.id, size: [Math.max(width + valuesRoom, title), height], titleHeight: LiteGraph.NODE_TITLE_HEIGHT };
  });
}"""


def columns(nodes: list[dict]) -> list[list[dict]]:
    """Nodes grouped by saved x (left to right), each column ordered by saved y."""
    by_x: dict[float, list[dict]] = {}
    for node in nodes:
        by_x.setdefault(node["pos"][0], []).append(node)
    return [sorted(by_x[x], key=lambda n: n["pos"][1]) for x in sorted(by_x)]


def lay_out(workflow: dict, sizes: dict[int, list[float]], title_height: float) -> None:
    """Set every node's pos and size in `workflow` (see the module docstring)."""
    x = ORIGIN[0]
    for column in columns(workflow["nodes"]):
        width = math.ceil(max(sizes[node["id"]][0] for node in column))
        y = ORIGIN[1]
        for node in column:
            height = math.ceil(node["size"][1] if node["type"] in NOTE_TYPES else sizes[node["id"]][1])
            node["pos"], node["size"] = [x, y], [width, height]
            y += height + ROW_GAP + title_height
        x += width + COLUMN_GAP


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflows", nargs="+", type=Path, help="UI-format workflow JSON files")
    args = parser.parse_args(argv)
    with demo_editor(1600, 1000) as opened:
        for path in args.workflows:
            workflow = json.loads(path.read_text())
            opened.page.evaluate(LOAD, [workflow, path.name])
            settled_bounds(opened.page)
            measured = opened.page.evaluate(SIZES, WIDGET_VALUE_ROOM)
            lay_out(workflow, {m["id"]: m["size"] for m in measured}, measured[0]["titleHeight"])
            workflow.setdefault("extra", {})["ds"] = OPENING_VIEW
            second_line = path.read_text().splitlines()[1]
            indent = len(second_line) - len(second_line.lstrip())  # the file's own indentation
            path.write_text(json.dumps(workflow, indent=indent) + "\n")
            print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
