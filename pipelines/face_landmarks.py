"""Face landmarks of the portrait: the "off-the-shelf toolbox MediaPipe" step of Hallo (paper 001, sec. 3.2)
that places the lip / expression boxes, reused for LinguaLinker's head / mouth / eyes regions (paper 000, sec. 3.1).

Two offline back-ends, both giving landmarks in image pixels:
- the pack default, MediaPipe FaceMesh's own recipe run from raw `.tflite` files: `face_detection_short_range.tflite`
  (through the Tasks `FaceDetector`) finds the faces; `face_landmark.tflite` (through ai-edge-litert) places 468
  points in a square crop 1.5x the detected box, turned so the eyes are level, resized to 192x192;
- a user FaceLandmarker `.task` file (e.g. Hallo's `face_landmarker_v2_with_blendshapes.task`): 478 points.

Models are local files only: `scripts/fetch_face_models.py` puts the default pair in place at install time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import PortraitInputError

DETECTOR_FILE = "face_detection_short_range.tflite"
LANDMARK_FILE = "face_landmark.tflite"

#: FaceMesh region of interest: the detected box enlarged 1.5x, made square (side = the longer side).
CROP_SCALE = 1.5
#: Input side of `face_landmark.tflite`, px.
CROP_SIZE = 192
#: Faces a `.task` FaceLandmarker may return (the largest is used).
MAX_FACES = 8
#: Outer eye corners (right, left) whose line sets the crop rotation of the refining pass (FaceMesh's rule).
EYE_CORNERS = (33, 263)
#: Minimum detector score and face-mesh presence probability for a face to count.
MIN_CONFIDENCE = 0.5

#: (x, y, w, h) in image pixels.
BoxXYWH = tuple[float, float, float, float]


@dataclass
class FaceLandmarks:
    """Landmarks of the face that a portrait's region masks are built from.

    points: n 2 (x, y) image pixels (468 from the pack models, 478 from a `.task` file, 0 for a manual `face_box`);
    face_box: (x, y, w, h) pixels of that face; image_size: (h, w); other_faces: boxes of faces found but not used.
    """

    points: np.ndarray
    face_box: BoxXYWH
    image_size: tuple[int, int]
    other_faces: tuple[BoxXYWH, ...] = ()
    source: str = ""

    def to_json(self) -> dict:
        """Plain lists and numbers (points rounded to 0.1 px), for the front end."""
        return {
            "points": np.round(self.points, 1).tolist(),
            "face_box": [round(float(v), 1) for v in self.face_box],
            "image_size": list(self.image_size),
            "other_faces": [[round(float(v), 1) for v in box] for box in self.other_faces],
            "source": self.source,
        }


def points_box(points: np.ndarray) -> BoxXYWH:
    """(x, y, w, h) bounding box of n 2 points."""
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def landmark_roi(points: np.ndarray) -> tuple[tuple[float, float], float, float]:
    """(centre, side, angle) crop around face-mesh points: their box enlarged 1.5x, square, eye line level."""
    x, y, w, h = points_box(points)
    (ax, ay), (bx, by) = points[EYE_CORNERS[0]], points[EYE_CORNERS[1]]
    return (x + w / 2, y + h / 2), CROP_SCALE * max(w, h), math.atan2(by - ay, bx - ax)


def square_windows(h: int, w: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of the whole image and of squares of its short side, half a side apart along the long side."""
    short, long = min(h, w), max(h, w)
    starts = sorted({*range(0, long - short, max(short // 2, 1)), long - short}) if long > short else []
    squares = [(s, 0, s + short, h) if w > h else (0, s, w, s + short) for s in starts]
    return [(0, 0, w, h), *squares]


def overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def default_model_paths(model_dir: str) -> tuple[str, str]:
    """(detector, landmark) `.tflite` paths in `model_dir`; names the install step when they are missing."""
    paths = tuple(os.path.join(model_dir, name) for name in (DETECTOR_FILE, LANDMARK_FILE))
    missing = [os.path.basename(p) for p in paths if not os.path.isfile(p)]
    if missing:
        raise PortraitInputError(
            "face_landmarker",
            f"the pack's default face models {missing} are not in {model_dir}",
            "run `python -m scripts.fetch_face_models` in the pack folder (or `make install`), "
            "or pick a FaceLandmarker .task file in models/face_landmarkers",
        )
    return paths


class FaceMeshTflite:
    """MediaPipe's short-range face detector + 468-point face mesh, run from the raw `.tflite` files."""

    def __init__(self, model_dir: str):
        from ai_edge_litert.interpreter import Interpreter
        from mediapipe.tasks.python import BaseOptions, vision

        detector_path, landmark_path = default_model_paths(model_dir)
        self.source = LANDMARK_FILE
        self._detector = vision.FaceDetector.create_from_options(
            vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=detector_path), min_detection_confidence=MIN_CONFIDENCE
            )
        )
        self._mesh = Interpreter(model_path=landmark_path)
        self._mesh.allocate_tensors()
        self._mesh_input = self._mesh.get_input_details()[0]["index"]
        # outputs: 1404 = 468 x (x, y, z) in crop pixels, and a one-value face-presence logit
        outputs = sorted(self._mesh.get_output_details(), key=lambda d: -int(np.prod(d["shape"])))
        self._mesh_points, self._mesh_presence = (d["index"] for d in outputs)

    def faces(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks of every face found: h w 3 uint8 -> list of (468 2) pixel arrays."""
        found = []
        for roi in self._detections(rgb):
            first = self._mesh_in_crop(rgb, *roi)
            # FaceMesh's tracking rule, applied once: the crop re-cut around the first landmarks is tighter
            # and better turned than the detector's coarse box and eye keypoints
            refined = None if first is None else self._mesh_in_crop(rgb, *landmark_roi(first))
            if refined is not None:
                found.append(refined)
        return found

    def _detections(self, rgb: np.ndarray) -> list[tuple[tuple[float, float], float, float]]:
        """(centre, side, angle) crops of the faces found in the image and in its short-side square windows
        (the detector sees a 128 px view, so windows find faces small next to a long side); duplicates merged."""
        import mediapipe as mp

        found = []  # (score, box x0 y0 x1 y1, roi)
        for x0, y0, x1, y1 in square_windows(*rgb.shape[:2]):
            window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
            for detection in self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=window)).detections:
                box = detection.bounding_box
                right_eye, left_eye = detection.keypoints[:2]
                angle = math.atan2((left_eye.y - right_eye.y) * (y1 - y0), (left_eye.x - right_eye.x) * (x1 - x0))
                left, top = x0 + box.origin_x, y0 + box.origin_y
                corners = (left, top, left + box.width, top + box.height)
                roi = ((left + box.width / 2, top + box.height / 2), CROP_SCALE * max(box.width, box.height), angle)
                found.append((detection.categories[0].score, corners, roi))
        kept = []
        for score, box, roi in sorted(found, key=lambda item: -item[0]):
            if all(overlap(box, other) < 0.3 for _, other, _ in kept):
                kept.append((score, box, roi))
        return [roi for _, _, roi in kept]

    def _mesh_in_crop(self, rgb: np.ndarray, centre, side: float, angle: float) -> np.ndarray | None:
        """468 2 image-pixel landmarks from a square crop (side px, turned by angle rad), None if no face there."""
        # crop pixel (u, v) <-> image point origin + u * ex + v * ey (unit axes along and across the eye line),
        # cut at native scale, then resized (antialiased) to CROP_SIZE
        n = max(1, round(side))
        ex, ey = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
        origin = np.asarray(centre) - (ex + ey) * n / 2
        affine = (ex[0], ey[0], origin[0], ex[1], ey[1], origin[1])
        crop = Image.fromarray(rgb).transform((n, n), Image.Transform.AFFINE, affine, Image.Resampling.BILINEAR)
        crop = crop.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.BILINEAR)
        self._mesh.set_tensor(self._mesh_input, (np.asarray(crop, dtype=np.float32) / 255.0)[None])
        self._mesh.invoke()
        presence = 1.0 / (1.0 + math.exp(-float(self._mesh.get_tensor(self._mesh_presence).reshape(-1)[0])))
        if presence < MIN_CONFIDENCE:
            return None
        uv = self._mesh.get_tensor(self._mesh_points).reshape(-1, 3)[:, :2] * (n / CROP_SIZE)
        return (origin + uv[:, :1] * ex + uv[:, 1:] * ey).astype(np.float32)

    def close(self) -> None:
        self._detector.close()


class FaceLandmarkerTask:
    """A user-supplied MediaPipe FaceLandmarker `.task` model (478 points per face)."""

    def __init__(self, task_file: str):
        from mediapipe.tasks.python import BaseOptions, vision

        self.source = os.path.basename(task_file)
        self._landmarker = vision.FaceLandmarker.create_from_options(
            vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=task_file),
                num_faces=MAX_FACES,
                min_face_detection_confidence=MIN_CONFIDENCE,
                min_face_presence_confidence=MIN_CONFIDENCE,
            )
        )

    def faces(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks of every face found: h w 3 uint8 -> list of (478 2) pixel arrays."""
        import mediapipe as mp

        h, w = rgb.shape[:2]
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        return [np.array([[p.x * w, p.y * h] for p in face], dtype=np.float32) for face in result.face_landmarks]

    def close(self) -> None:
        self._landmarker.close()


@contextmanager
def open_face_model(model_dir: str, task_file: str | None = None):
    """The `.task` FaceLandmarker when `task_file` is given, else the pack's tflite pair in `model_dir`."""
    model = FaceLandmarkerTask(task_file) if task_file else FaceMeshTflite(model_dir)
    try:
        yield model
    finally:
        model.close()


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """h w c float 0..1 (c = 3, or 4 with alpha dropped) -> contiguous h w 3 uint8."""
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise PortraitInputError(
            "image", f"expected an RGB or RGBA image, got shape {tuple(image.shape)}", "connect a colour image"
        )
    return np.ascontiguousarray(np.clip(np.rint(image[..., :3] * 255.0), 0, 255).astype(np.uint8))


def largest_face(faces: list[np.ndarray], image_size: tuple[int, int], source: str) -> FaceLandmarks:
    """The face with the largest landmark box; the others are kept as boxes for the preview."""
    if not faces:
        raise PortraitInputError(
            "image",
            "no face was found in the portrait",
            "crop the image closer to one frontal face, set face_box to 'x,y,w,h' pixels, "
            "or connect painted head/mouth/eyes masks",
        )
    boxes = [points_box(points) for points in faces]
    order = sorted(range(len(faces)), key=lambda i: boxes[i][2] * boxes[i][3], reverse=True)
    return FaceLandmarks(
        points=faces[order[0]],
        face_box=boxes[order[0]],
        image_size=image_size,
        other_faces=tuple(boxes[i] for i in order[1:]),
        source=source,
    )


def parse_face_box(text: str, image_size: tuple[int, int]) -> BoxXYWH | None:
    """'x,y,w,h' pixels -> box (None for an empty string); must lie at least partly inside the image."""
    if not text.strip():
        return None
    try:
        x, y, w, h = (float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise PortraitInputError(
            "face_box", f"'{text}' is not four numbers", "write the face box as x,y,w,h in pixels, e.g. 180,80,100,110"
        ) from None
    height, width = image_size
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise PortraitInputError(
            "face_box",
            f"{text} does not cover any of the {width}x{height} image",
            "give x,y (top-left) and w,h (size) in pixels of the image",
        )
    return x, y, w, h


def find_face_landmarks(
    images: np.ndarray, model_dir: str, task_file: str | None = None, face_box: str = ""
) -> list[FaceLandmarks]:
    """Landmarks of the largest face in each image: b h w c float 0..1 -> b FaceLandmarks.

    A non-empty `face_box` ('x,y,w,h' pixels) replaces detection: the masks then follow the box's proportions.
    """
    image_size = tuple(images.shape[1:3])
    manual = parse_face_box(face_box, image_size)
    if manual is not None:
        return [FaceLandmarks(np.zeros((0, 2), np.float32), manual, image_size, source="face_box") for _ in images]
    with open_face_model(model_dir, task_file) as model:
        return [largest_face(model.faces(to_rgb_uint8(image)), image_size, model.source) for image in images]
