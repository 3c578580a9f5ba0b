// The pack's nodes keep their size after a run: the space of the preview a node shows (the core's image preview, or
// its video player) is reserved from the start. When the preview arrives it takes that space and scales inside it,
// so the node does not grow over its neighbours.
import { app } from "../../scripts/app.js";
import { addOnCreate, canvasWidget } from "./canvas_widget.js";

const EXTENSION = "GatedPortrait.NodeLayout";
// Node types that show a preview after a run -> the names of the front end's preview widgets they get.
const PREVIEW_WIDGETS = {
  RegionMaskFromLandmarks: ["$$canvas-image-preview"],
  VAEDecodeVideo: ["$$canvas-image-preview", "video-preview"],
};
// Height reserved for a preview (the core image preview's own minimum).
const PREVIEW_HEIGHT = 220;
const RESERVE_WIDGET = "gated_portrait_preview_space";

// A widget holding PREVIEW_HEIGHT until one of `previewNames` is on the node; from then on it holds nothing and the
// preview is kept to that height (it scales inside: the image preview and the video player fit their widget).
function previewSpace(previewNames) {
  return canvasWidget(RESERVE_WIDGET, {
    computeLayoutSize(node) {
      const previews = (node.widgets ?? []).filter((w) => previewNames.includes(w.name));
      for (const preview of previews) {
        if (preview.gatedPortraitKept) continue;
        const own = preview.computeLayoutSize?.bind(preview);
        preview.computeLayoutSize = (target) => ({
          ...(own?.(target) ?? {}), minHeight: PREVIEW_HEIGHT, maxHeight: PREVIEW_HEIGHT,
        });
        preview.gatedPortraitKept = true;
      }
      const height = previews.length ? 0 : PREVIEW_HEIGHT;
      return { minHeight: height, maxHeight: height, minWidth: 1 };
    },
    draw() {},
  });
}

app.registerExtension({
  name: EXTENSION,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    const previewNames = PREVIEW_WIDGETS[nodeData.name];
    if (!previewNames) return;

    addOnCreate(nodeType, () => previewSpace(previewNames));
  },
});
