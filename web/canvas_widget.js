// A node widget the pack draws on the canvas itself: not saved with the workflow, not sent with the prompt.
export function canvasWidget(name, parts) {
  return { name, type: name, value: "", serialize: false, options: { serialize: false }, ...parts };
}

// Every new node of `nodeType` gets the widget `makeWidget()` returns, and grows to make room for it at once, so its
// size never changes later when the widget fills.
export function addOnCreate(nodeType, makeWidget) {
  const onNodeCreated = nodeType.prototype.onNodeCreated;
  nodeType.prototype.onNodeCreated = function () {
    const result = onNodeCreated?.apply(this, arguments);
    this.addCustomWidget(makeWidget());
    this.setSize([this.size[0], Math.max(this.size[1], this.computeSize()[1])]);
    return result;
  };
}
