// The pack's nodes keep their size: a new node is wide enough for its title, and the space of the preview a node
// shows after a run (the core's image preview, or its video player) is reserved from the start. When the preview
// arrives it takes that space and scales inside it, so the node does not grow over its neighbours.
import { app } from "../../scripts/app.js";

const EXTENSION = "GatedPortrait.NodeLayout";
const PACK_CATEGORY = "GatedPortrait";
// Node types that show a preview after a run -> the names of the front end's preview widgets they get.
const PREVIEW_WIDGETS = {
  RegionMaskFromLandmarks: ["$$canvas-image-preview"],
  VAEDecodeVideo: ["$$canvas-image-preview", "video-preview"],
};
// Height reserved for a preview (the core image preview's own minimum).
const PREVIEW_HEIGHT = 220;
const RESERVE_WIDGET = "gated_portrait_preview_space";

// Width the editor needs to draw `node`'s title uncut (LGraphNode.drawTitleText leaves a title height each side).
function titleWidth(node) {
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = node.titleFontStyle;
  return Math.ceil(measure.measureText(node.getTitle()).width) + 2 * LiteGraph.NODE_TITLE_HEIGHT;
}

// A widget holding PREVIEW_HEIGHT until one of `previewNames` is on the node; from then on it holds nothing and the
// preview is kept to that height (it scales inside: the image preview and the video player fit their widget).
function previewSpace(previewNames) {
  return {
    name: RESERVE_WIDGET,
    type: RESERVE_WIDGET,
    value: "",
    serialize: false,
    options: { serialize: false },
    computeLayoutSize(node) {
      const previews = (node.widgets ?? []).filter((w) => previewNames.includes(w.name));
      for (const preview of previews) {
        if (preview.gatedPortraitKept) continue;
        const own = preview.computeLayoutSize?.bind(preview);
        preview.computeLayoutSize = (target) => ({ ...(own?.(target) ?? {}), minHeight: PREVIEW_HEIGHT, maxHeight: PREVIEW_HEIGHT });
        preview.gatedPortraitKept = true;
      }
      const height = previews.length ? 0 : PREVIEW_HEIGHT;
      return { minHeight: height, maxHeight: height, minWidth: 1 };
    },
    draw() {},
  };
}

app.registerExtension({
  name: EXTENSION,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!nodeData.category?.startsWith(PACK_CATEGORY)) return;
    const previewNames = PREVIEW_WIDGETS[nodeData.name];

    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const result = onNodeCreated?.apply(this, arguments);
      if (previewNames) this.addCustomWidget(previewSpace(previewNames));
      const size = this.computeSize();
      this.setSize([Math.max(this.size[0], size[0], titleWidth(this)), Math.max(this.size[1], size[1])]);
      return result;
    };
  },
});
