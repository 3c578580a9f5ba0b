"""The front-end extension (web/) in a real headless Chromium against the real host serving the ComfyUI front end:
it loads without errors, RegionMaskFromLandmarks shows the regions of a real face after one run, and moving the
mouth_area slider redraws them (the mouth region grows) without queueing a prompt."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.face_landmarks import FaceLandmarks
from pipelines.region_masks import Box, RegionAreas, feature_boxes, lingualinker_boxes
from scripts.browser_page import CHROMIUM, FIRST_VISIT_DONE, front_end_page, save_settings
from scripts.comfy_host import ComfyHost

pytestmark = pytest.mark.host

PORTRAIT = Path(__file__).resolve().parents[2] / "example_workflows" / "input" / "portrait.png"

#: LoadImage -> RegionMaskFromLandmarks built in the page's graph, queued through the front end (app.queuePrompt).
BUILD_AND_RUN = """async (portrait) => {
  const app = window.comfyAPI.app.app;
  app.graph.clear();
  const load = LiteGraph.createNode("LoadImage");
  load.pos = [20, 20];
  app.graph.add(load);
  load.widgets.find((w) => w.name === "image").value = portrait;
  const masks = LiteGraph.createNode("RegionMaskFromLandmarks");
  masks.pos = [360, 20];
  app.graph.add(masks);
  masks.setSize([400, 900]);
  load.connect(0, masks, masks.findInputSlot("image"));
  await app.queuePrompt(0);
  return masks.id;
}"""

#: Resolves when the node received its landmarks and the portrait they belong to has loaded.
OVERLAY_READY = """(id) => {
  const node = window.comfyAPI.app.app.graph.getNodeById(id);
  const image = node?.gatedPortrait?.images[0];
  return Boolean(image?.complete && image.naturalWidth);
}"""

#: The overlay widget's rectangle in page pixels, after bringing the node into view at zoom 1 and redrawing until
#: the node's layout has settled (it grows once the portrait and the core preview images have loaded; on a busy
#: machine that can take a while after the overlay's own image is ready).
OVERLAY_RECT = """async (id) => {
  const app = window.comfyAPI.app.app;
  const node = app.graph.getNodeById(id);
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [120 - node.pos[0], 100 - node.pos[1]];
  const widget = node.widgets.find((w) => w.name === "gated_portrait_regions");
  let last = "", unchanged = 0;
  for (let frame = 0; frame < 1200 && unchanged < 15; frame++) {
    app.canvas.setDirty(true, true);
    await new Promise((done) => requestAnimationFrame(done));
    const layout = JSON.stringify([node.size, widget.last_y, widget.computedHeight]);
    unchanged = layout === last ? unchanged + 1 : 0;
    last = layout;
  }
  const bounds = app.canvas.canvas.getBoundingClientRect();
  const [x, y] = app.canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] + widget.last_y]);
  return { x: bounds.left + x, y: bounds.top + y, width: node.size[0], height: widget.computedHeight };
}"""

#: The documented way a slider moves: new value, then the widget's callback.
MOVE_SLIDER = """([id, name, value]) => {
  const app = window.comfyAPI.app.app;
  const node = app.graph.getNodeById(id);
  const widget = node.widgets.find((w) => w.name === name);
  widget.value = value;
  widget.callback?.(value, app.canvas, node, app.canvas.graph_mouse);
}"""


def changed_pixels(before: Path, after: Path) -> tuple[np.ndarray, np.ndarray]:
    """(mask h w of pixels that changed, after - before h w 3) of two screenshots."""
    a, b = (np.asarray(Image.open(shot).convert("RGB")).astype(int) for shot in (before, after))
    assert a.shape == b.shape, f"the overlay changed size between the screenshots: {a.shape} -> {b.shape}"
    return np.abs(b - a).max(axis=-1) > 12, b - a


def mouth_box(face: dict, mouth_area: float) -> Box:
    """region_masks.py's mouth box for the landmarks the node sent to the page."""
    landmarks = FaceLandmarks(np.array(face["points"]), tuple(face["face_box"]), tuple(face["image_size"]))
    return lingualinker_boxes(feature_boxes(landmarks), RegionAreas(2.0, mouth_area, 1.5), landmarks.image_size)[1]


@pytest.fixture(scope="module")
def browser_host(tmp_path_factory):
    """One host serving the real front end (comfyui-frontend-package), with the demo portrait as input."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing; `make apt` installs Debian's chromium (apt-get install chromium)")
    with ComfyHost(tmp_path_factory.mktemp("browser_host"), front_end=True) as host:
        shutil.copy(PORTRAIT, host.input_dir / PORTRAIT.name)
        save_settings(host.url, FIRST_VISIT_DONE)
        yield host


def test_overlay_follows_the_mouth_slider_without_a_prompt(browser_host, tmp_path):
    with front_end_page(browser_host.url, tmp_path / "profile") as opened:
        page = opened.page
        node_id = page.evaluate(BUILD_AND_RUN, PORTRAIT.name)
        page.wait_for_function(OVERLAY_READY, arg=node_id, timeout=120_000)

        shots = {}
        for step, mouth_area in (("before", None), ("after", 6.0)):
            if mouth_area is not None:
                page.evaluate(MOVE_SLIDER, [node_id, "mouth_area", mouth_area])
            shots[step] = tmp_path / f"overlay_{step}.png"
            page.screenshot(path=shots[step], clip=page.evaluate(OVERLAY_RECT, node_id))
        page.screenshot(path=tmp_path / "page.png")
    print(f"screenshots: {tmp_path}")

    assert opened.extension_problems() == [], opened.extension_problems()
    history = browser_host.get_json("/history")
    assert len(history) == 1, "moving the slider queued no prompt"
    (entry,) = history.values()
    ((face,),) = [out["gated_portrait_landmarks"] for out in entry["outputs"].values()
                  if "gated_portrait_landmarks" in out]
    small, large = mouth_box(face, 2.0), mouth_box(face, 6.0)
    assert small.x0 > 0 and small.y0 > 0 and large.x1 < face["image_size"][1] and large.y1 < face["image_size"][0]

    # the grown mouth box minus the old one turns red: a frame whose outline is the new box, 2/3 of its area
    changed, delta = changed_pixels(shots["before"], shots["after"])
    ys, xs = np.nonzero(changed)
    assert len(ys) > 200, f"the overlay did not change when mouth_area moved ({len(ys)} px)"
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    expected_aspect = (large.x1 - large.x0) / (large.y1 - large.y0)
    assert width / height == pytest.approx(expected_aspect, rel=0.15)
    assert len(ys) / (width * height) == pytest.approx(1 - small.area / large.area, abs=0.12)
    assert delta[changed][:, 0].mean() > 15 and delta[changed][:, 2].mean() < -15, "the added region is tinted red"
