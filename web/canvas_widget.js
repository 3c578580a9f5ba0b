// A node widget the pack draws on the canvas itself: not saved with the workflow, not sent with the prompt.
export function canvasWidget(name, parts) {
  return { name, type: name, value: "", serialize: false, options: { serialize: false }, ...parts };
}
