// One line at the bottom of a node about its last run, drawn in a canvas widget (not saved with the workflow, not
// sent with the prompt) whose line is reserved from the start, so the node keeps its size when the note arrives:
// GatedUNetSample shows the portrait size it sampled at (ui.gated_portrait_size), AudioEncode the size and
// precision of the audio features the host keeps cached (ui.gated_portrait_audio), VoiceAttributes what it measured
// (ui.gated_portrait_voice).
import { app } from "../../scripts/app.js";
import { addOnCreate, canvasWidget } from "./canvas_widget.js";

const EXTENSION = "GatedPortrait.RunNotes";
const NOTES = {
  GatedUNetSample: "gated_portrait_size", AudioEncode: "gated_portrait_audio", VoiceAttributes: "gated_portrait_voice",
};
const LINE_HEIGHT = 16;
const NOTE_WIDGET = "gated_portrait_run_note";

function noteLine() {
  return canvasWidget(NOTE_WIDGET, {
    computeLayoutSize() {
      return { minHeight: LINE_HEIGHT, maxHeight: LINE_HEIGHT, minWidth: 1 };
    },
    draw(ctx, node, width, y) {
      if (!node.gatedPortraitNote) return;
      ctx.save();
      ctx.font = "11px sans-serif";
      ctx.fillStyle = "#9ab";
      ctx.fillText(node.gatedPortraitNote, 8, y + LINE_HEIGHT - 4, width - 16);
      ctx.restore();
    },
  });
}

app.registerExtension({
  name: EXTENSION,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    const key = NOTES[nodeData.name];
    if (!key) return;

    addOnCreate(nodeType, noteLine);

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      const note = message?.[key]?.[0];
      if (typeof note === "string") {
        this.gatedPortraitNote = note;
        app.graph.setDirtyCanvas(true, false);
      }
      return result;
    };
  },
});
