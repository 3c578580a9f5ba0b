"""Picture of a workflow's node graph as the ComfyUI editor draws it (docs/graph_demo.png in the README).

    .venv/bin/python -m scripts.screenshot_workflow example_workflows/gated_portrait_demo.json docs/graph_demo.png

Starts a host serving the real front end with the demo models, the Hallo stand-ins and the inputs of
example_workflows/input/ in place (so every file widget shows its value and no missing-model dialog opens), loads the
workflow with the front end's own `app.loadGraphData`, hides the menus (focus mode), sizes the window to the graph's
aspect ratio plus a border, fits the view to the nodes and saves the canvas region they cover.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.hallo_checkpoint import convert_net_to_safetensors
from scripts.browser_page import FIRST_VISIT_DONE, FrontEndPage, front_end_page, save_settings
from scripts.comfy_host import REPO_ROOT, ComfyHost
from scripts.make_demo_models import write_demo_models
from scripts.make_hallo_models import write_hallo_models

INPUT_DIR = REPO_ROOT / "example_workflows" / "input"
#: Width of the picture in CSS pixels; its height follows the graph. Saved at DEVICE_SCALE x this size.
WIDTH = 1600
DEVICE_SCALE = 1.5
#: CSS pixels of window around the picture on every side, where the front end keeps its buttons.
PAD = 60

#: No canvas menu, minimap or fps counter over the graph.
HIDDEN_CHROME = {"Comfy.Graph.CanvasMenu": False, "Comfy.Graph.CanvasInfo": False, "Comfy.Minimap.Visible": False}
#: Graph units of canvas kept around the nodes.
MARGIN = 24
#: Seconds to wait for the nodes to settle (LoadImage grows once its preview has loaded).
SETTLE_S = 15

#: Loads the workflow like File > Open does and hides the menus (focus mode).
LOAD = """async ([workflow, name]) => {
  const app = window.comfyAPI.app.app;
  await app.loadGraphData(workflow, true, false, name);
  if (!document.body.classList.contains("focus-mode")) {
    await app.extensionManager.command.execute("Workspace.ToggleFocusMode");
  }
}"""

#: The nodes' bounds [x, y, w, h] in graph units, titles included, after a redraw.
BOUNDS = """async (margin) => {
  const app = window.comfyAPI.app.app;
  app.canvas.setDirty(true, true);
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const rects = app.graph.nodes.map((node) => node.boundingRect);
  const x0 = Math.min(...rects.map((r) => r[0])), y0 = Math.min(...rects.map((r) => r[1]));
  const x1 = Math.max(...rects.map((r) => r[0] + r[2])), y1 = Math.max(...rects.map((r) => r[1] + r[3]));
  return [x0 - margin, y0 - margin, x1 - x0 + 2 * margin, y1 - y0 + 2 * margin];
}"""

#: Fits the view to the bounds (once the canvas has followed a window resize) and returns their rectangle in page
#: pixels, once redrawn.
FIT = """async ([bounds, fill]) => {
  const app = window.comfyAPI.app.app;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  app.canvas.ds.fitToBounds(bounds, { zoom: fill });
  app.canvas.setDirty(true, true);
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const page = app.canvas.canvas.getBoundingClientRect();
  const [x0, y0] = app.canvas.ds.convertOffsetToCanvas([bounds[0], bounds[1]]);
  const [x1, y1] = app.canvas.ds.convertOffsetToCanvas([bounds[0] + bounds[2], bounds[1] + bounds[3]]);
  return { x: page.left + x0, y: page.top + y0, width: x1 - x0, height: y1 - y0 };
}"""


def settled_bounds(page) -> list[float]:
    """The nodes' bounds once two readings half a second apart agree (or after SETTLE_S)."""
    bounds = page.evaluate(BOUNDS, MARGIN)
    for _ in range(SETTLE_S * 2):
        time.sleep(0.5)
        bounds, previous = page.evaluate(BOUNDS, MARGIN), bounds
        if bounds == previous:
            break
    return bounds


@contextmanager
def demo_editor(width: int, height: int, scale: float = 1.0) -> Iterator[FrontEndPage]:
    """The editor, menus hidden, on a temporary host with the demo models, the Hallo stand-ins (net.safetensors) and
    the inputs of example_workflows/input/ in place, so every file widget shows its value and no dialog opens."""
    with tempfile.TemporaryDirectory(prefix="gated-portrait-editor-") as base:
        host = ComfyHost(Path(base) / "host", front_end=True)
        host.input_dir.mkdir(parents=True)
        for path in INPUT_DIR.iterdir():
            shutil.copy(path, host.input_dir / path.name)
        write_demo_models(host.models_dir)
        convert_net_to_safetensors(write_hallo_models(host.models_dir)["net"])
        with host:
            save_settings(host.url, FIRST_VISIT_DONE | HIDDEN_CHROME)
            with front_end_page(host.url, Path(base) / "profile", (width, height), scale) as opened:
                yield opened
                for problem in opened.extension_problems():
                    print(f"front end: {problem}", file=sys.stderr)


def screenshot_workflow(workflow: Path, out: Path, width: int = WIDTH) -> None:
    """Save the node graph of the UI-format `workflow` as a PNG at `out`."""
    graph = json.loads(workflow.read_text())
    with demo_editor(width, width, DEVICE_SCALE) as opened:
        opened.page.evaluate(LOAD, [graph, workflow.name])
        bounds = settled_bounds(opened.page)
        height = round(width * bounds[3] / bounds[2])
        opened.page.set_viewport_size({"width": width + 2 * PAD, "height": height + 2 * PAD})
        clip = opened.page.evaluate(FIT, [bounds, width / (width + 2 * PAD)])
        out.parent.mkdir(parents=True, exist_ok=True)
        opened.page.screenshot(path=out, clip=clip)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflow", type=Path, help="a UI-format workflow JSON, e.g. example_workflows/*.json")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=WIDTH, help="picture width in CSS pixels")
    args = parser.parse_args(argv)
    screenshot_workflow(args.workflow, args.out, args.width)
    print(args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
