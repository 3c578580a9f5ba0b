// Live region overlay on RegionMaskFromLandmarks: the portrait with the head / mouth / eyes (or Hallo's pose /
// expression / lip) regions tinted over it, redrawn from the node's last landmarks as its sliders move, without
// queueing a prompt. The node sends the landmarks (ui.gated_portrait_landmarks) and the untinted portrait
// (ui.gated_portrait_source) once per run; region_geometry.js gives the same boxes as pipelines/region_masks.py.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { canvasWidget } from "./canvas_widget.js";
import { regionBoxes } from "./region_geometry.js";

const EXTENSION = "GatedPortrait.RegionOverlay";
const NODE_TYPE = "RegionMaskFromLandmarks";
const WIDGET_NAME = "gated_portrait_regions";
// Widgets whose values change the overlay.
const SETTINGS = ["layout", "head_area", "mouth_area", "eyes_area", "feather", "face_expand_ratio"];
// Colours and opacity of pipelines/mask_preview.py: region channel 0 blue, 1 red, 2 green.
const COLOURS = [[51, 128, 255], [255, 64, 64], [64, 230, 77]];
const OPACITY = 0.45;
// Hallo's soft masks: Gaussian sigma of the face / lip kernels (51 / 31, OpenCV's rule) on its 64-cell grid.
const HALLO_GRID = 64;
const HALLO_SIGMAS = [8.0, 5.0];
const MIN_HEIGHT = 240;
const HINT = "Run the node once to see its regions here";

function settingsOf(node) {
  const values = {};
  for (const name of SETTINGS) values[name] = node.widgets?.find((w) => w.name === name)?.value;
  return values;
}

function rgba(colour) {
  return `rgba(${colour.join(",")},${OPACITY})`;
}

// Fill `rects` ([x0, y0, x1, y1] image pixels, even-odd: a hole per later rect) in `colour`, softened by `blur` px.
function fillRegion(ctx, toCanvas, rects, colour, blur) {
  ctx.save();
  ctx.filter = blur > 0 ? `blur(${blur}px)` : "none";
  ctx.fillStyle = rgba(colour);
  ctx.beginPath();
  for (const rect of rects) {
    const [x0, y0, x1, y1] = toCanvas(rect);
    ctx.rect(x0, y0, x1 - x0, y1 - y0);
  }
  ctx.fill("evenodd");
  ctx.restore();
}

// The regions of one face over its portrait, fitted into (x, y, width, height) of the node.
function drawOverlay(ctx, image, face, settings, x, y, width, height) {
  const [h, w] = face.image_size;
  const scale = Math.min(width / w, height / h);
  const left = x + (width - w * scale) / 2;
  const top = y + (height - h * scale) / 2;
  const toCanvas = ([x0, y0, x1, y1]) => [left + x0 * scale, top + y0 * scale, left + x1 * scale, top + y1 * scale];
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, w * scale, h * scale);
  ctx.clip();
  ctx.drawImage(image, left, top, w * scale, h * scale);
  const { layout, boxes } = regionBoxes(face, settings);
  if (layout === "hallo") {
    const [faceBox, lipBox] = boxes;
    const cell = (Math.min(w, h) * scale) / HALLO_GRID;
    fillRegion(ctx, toCanvas, [[0, 0, w, h], faceBox], COLOURS[0], HALLO_SIGMAS[0] * cell);
    fillRegion(ctx, toCanvas, [faceBox, lipBox], COLOURS[1], HALLO_SIGMAS[0] * cell);
    fillRegion(ctx, toCanvas, [lipBox], COLOURS[2], HALLO_SIGMAS[1] * cell);
  } else {
    boxes.forEach((box, i) => fillRegion(ctx, toCanvas, [box], COLOURS[i], (settings.feather ?? 0) * scale));
  }
  ctx.fillStyle = "#fff";
  for (const [px, py] of face.points) ctx.fillRect(left + px * scale - 0.5, top + py * scale - 0.5, 1, 1);
  ctx.restore();
}

function regionsWidget() {
  return canvasWidget(WIDGET_NAME, {
    computeLayoutSize: () => ({ minHeight: MIN_HEIGHT, minWidth: 1 }),
    draw(ctx, node, width, y) {
      const height = this.computedHeight ?? MIN_HEIGHT;
      const shown = node.gatedPortrait;
      const index = Math.min(node.imageIndex ?? 0, (shown?.faces.length ?? 1) - 1);
      const image = shown?.images[index];
      if (!image?.complete || !image.naturalWidth) {
        ctx.fillStyle = "#888";
        ctx.textAlign = "center";
        ctx.font = "12px sans-serif";
        ctx.fillText(HINT, width / 2, y + height / 2);
        return;
      }
      drawOverlay(ctx, image, shown.faces[index], settingsOf(node), 10, y, width - 20, height - 4);
    },
  });
}

function viewUrl({ filename, subfolder, type }) {
  const query = new URLSearchParams({ filename, subfolder: subfolder ?? "", type: type ?? "temp" });
  return api.apiURL(`/view?${query}`);
}

app.registerExtension({
  name: EXTENSION,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData.name !== NODE_TYPE) return;

    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      for (const widget of this.widgets ?? []) {
        if (!SETTINGS.includes(widget.name)) continue;
        const callback = widget.callback;
        widget.callback = function () {
          const answer = callback?.apply(this, arguments);
          app.graph.setDirtyCanvas(true, false);
          return answer;
        };
      }
      this.addCustomWidget(regionsWidget());
      return result;
    };

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      const faces = message?.gated_portrait_landmarks;
      const sources = message?.gated_portrait_source;
      if (faces?.length && sources?.length === faces.length) {
        const images = sources.map((source) => {
          const image = new Image();
          image.onload = () => app.graph.setDirtyCanvas(true, true);
          image.src = viewUrl(source);
          return image;
        });
        this.gatedPortrait = { faces, images };
      }
      return result;
    };
  },
});
