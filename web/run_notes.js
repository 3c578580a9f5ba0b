// One line under a node about its last run, drawn (not a widget, so saved workflows keep their widget values):
// GatedUNetSample shows the portrait size it sampled at (ui.gated_portrait_size), AudioEncode the size and
// precision of the audio features the host keeps cached (ui.gated_portrait_audio).
import { app } from "../../scripts/app.js";

const EXTENSION = "GatedPortrait.RunNotes";
const NOTES = { GatedUNetSample: "gated_portrait_size", AudioEncode: "gated_portrait_audio" };
const LINE_HEIGHT = 16;

app.registerExtension({
  name: EXTENSION,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    const key = NOTES[nodeData.name];
    if (!key) return;

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      const result = onExecuted?.apply(this, arguments);
      const note = message?.[key]?.[0];
      if (typeof note === "string") {
        const grow = this.gatedPortraitNote === undefined;
        this.gatedPortraitNote = note;
        if (grow) this.setSize([this.size[0], this.size[1] + LINE_HEIGHT]);
        app.graph.setDirtyCanvas(true, false);
      }
      return result;
    };

    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      const result = onDrawForeground?.apply(this, arguments);
      if (this.gatedPortraitNote && !this.flags?.collapsed) {
        ctx.save();
        ctx.font = "11px sans-serif";
        ctx.fillStyle = "#9ab";
        ctx.fillText(this.gatedPortraitNote, 8, this.size[1] - 5, this.size[0] - 16);
        ctx.restore();
      }
      return result;
    };
  },
});
