// Region boxes of RegionMaskFromLandmarks, computed in the browser from the landmarks the node sent once, with the
// geometry of pipelines/region_masks.py (tests/test_web_geometry.py runs this module under node and compares).
// Boxes are [x0, y0, x1, y1] in image pixels; imageSize is [h, w]. No imports: node and the front end both load it.

// MediaPipe face-mesh indices and manual-box fractions, as FACE_OVAL / OUTER_LIPS / EYES_AND_BROWS /
// MANUAL_LIPS / MANUAL_EYES in region_masks.py.
export const FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
  152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109];
export const OUTER_LIPS = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375];
export const EYES_AND_BROWS = [
  33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
  263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
  46, 53, 52, 65, 55, 70, 63, 105, 66, 107,
  276, 283, 282, 295, 285, 300, 293, 334, 296, 336,
];
export const MANUAL_LIPS = [0.30, 0.65, 0.70, 0.81];
export const MANUAL_EYES = [0.10, 0.15, 0.90, 0.36];
export const HALLO_LIP_EXPAND = 2.0;

function around(points, ids) {
  const xs = ids.map((i) => points[i][0]);
  const ys = ids.map((i) => points[i][1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function part([x0, y0, x1, y1], [fx0, fy0, fx1, fy1]) {
  const w = x1 - x0;
  const h = y1 - y0;
  return [x0 + fx0 * w, y0 + fy0 * h, x0 + fx1 * w, y0 + fy1 * h];
}

// Both sides multiplied by `side` about the centre (area x side^2).
function scaled([x0, y0, x1, y1], side) {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hw = ((x1 - x0) * side) / 2;
  const hh = ((y1 - y0) * side) / 2;
  return [cx - hw, cy - hh, cx + hw, cy + hh];
}

function clipped([x0, y0, x1, y1], [h, w]) {
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  return [clamp(x0, w), clamp(y0, h), clamp(x1, w), clamp(y1, h)];
}

// Moved (not shrunk) back inside the image where it sticks out, then clipped: Hallo's rule.
function shiftedInside([x0, y0, x1, y1], [h, w]) {
  const dx = Math.max(-x0, 0) - Math.max(x1 - w, 0);
  const dy = Math.max(-y0, 0) - Math.max(y1 - h, 0);
  return clipped([x0 + dx, y0 + dy, x1 + dx, y1 + dy], [h, w]);
}

// Python's round(): halves go to the even neighbour.
function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// {face, lips, eyes} boxes of one face (FaceLandmarks.to_json()); from the manual face box without points.
export function featureBoxes(face) {
  if (face.points.length === 0) {
    const [x, y, w, h] = face.face_box;
    const box = [x, y, x + w, y + h];
    return { face: box, lips: part(box, MANUAL_LIPS), eyes: part(box, MANUAL_EYES) };
  }
  return {
    face: around(face.points, FACE_OVAL),
    lips: around(face.points, OUTER_LIPS),
    eyes: around(face.points, EYES_AND_BROWS),
  };
}

// [head, mouth, eyes]: each feature box's AREA multiplied by its factor about its centre, clipped to the image.
export function lingualinkerBoxes(boxes, areas, imageSize) {
  return [[boxes.face, areas.head], [boxes.lips, areas.mouth], [boxes.eyes, areas.eyes]].map(
    ([box, factor]) => clipped(scaled(box, Math.sqrt(factor)), imageSize),
  );
}

// [face, lip] as Hallo draws them: sides x ratio (lip x2.0) about the centre, shifted inside, whole pixels.
export function halloBoxes(boxes, imageSize, faceExpandRatio) {
  return [[boxes.face, faceExpandRatio], [boxes.lips, HALLO_LIP_EXPAND]].map(
    ([box, ratio]) => shiftedInside(scaled(box, ratio), imageSize).map(roundHalfEven),
  );
}

// The boxes RegionMaskFromLandmarks builds for one face with the node's widget values
// ({layout, head_area, mouth_area, eyes_area, face_expand_ratio}): {layout, boxes}.
export function regionBoxes(face, settings) {
  const boxes = featureBoxes(face);
  if (settings.layout === "hallo") {
    return { layout: "hallo", boxes: halloBoxes(boxes, face.image_size, settings.face_expand_ratio) };
  }
  const areas = { head: settings.head_area, mouth: settings.mouth_area, eyes: settings.eyes_area };
  return { layout: "lingualinker", boxes: lingualinkerBoxes(boxes, areas, face.image_size) };
}
