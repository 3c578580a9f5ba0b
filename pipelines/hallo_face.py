"""Hallo's face conditions from the pack's landmarks (paper 001 §3.2, as its released preprocessing computes them).

- Face-box image for the FaceLocator: the binary face-oval box expanded by `face_expand_ratio` (1.2), as a
  3-channel 0/1 image at the portrait's resolution.
- Identity embedding: the RAW (not normalised) 512-d output of InsightFace's ArcFace `glintr100.onnx` (antelopev2
  pack) on the face aligned to ArcFace's 112 px five-point template, run with onnxruntime. Hallo finds the five
  points with SCRFD; the pack takes them from its MediaPipe landmarks (eye centres, nose tip, mouth corners), so no
  insightface package is needed. Without the onnx file the embedding is zeros (what Hallo itself uses when it finds
  no face) and a warning says so.

Letters: b batch, h w image height width, e embedding width.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .conditions import RegionMasks
from .errors import PortraitInputError
from .face_landmarks import FaceLandmarks, to_rgb_uint8
from .region_masks import HALLO_FACE_EXPAND, box_mask, feature_boxes, hallo_boxes

LOG = logging.getLogger(__name__)

#: ArcFace's alignment template (InsightFace `arcface_dst`), 112 x 112 px: right eye, left eye (as seen in the
#: image: left, right), nose tip, mouth corners.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32
)
ARCFACE_SIZE = 112
#: Input scaling of PyTorch-trained InsightFace recognition models such as glintr100: (rgb - 127.5) / 127.5.
ARCFACE_MEAN = 127.5
ARCFACE_STD = 127.5
EMBEDDING_DIM = 512
#: MediaPipe face-mesh points averaged into each of the five template points (eye contours, nose tip, mouth corners).
FIVE_POINT_GROUPS = ((33, 133, 159, 145), (263, 362, 386, 374), (1,), (61,), (291,))


def face_box_image(landmarks: FaceLandmarks, face_expand_ratio: float = HALLO_FACE_EXPAND, channels: int = 3) -> torch.Tensor:
    """Hallo's FaceLocator input: the expanded face box as a 0/1 image -> c h w."""
    size = landmarks.image_size
    face_box = hallo_boxes(feature_boxes(landmarks), size, face_expand_ratio)[0]
    return box_mask(face_box, size)[None].expand(channels, -1, -1).clone()


def five_points(landmarks: FaceLandmarks) -> np.ndarray:
    """ArcFace's five alignment points in image pixels -> 5 2; from the template's proportions for a manual box."""
    if len(landmarks.points) == 0:
        x, y, w, h = landmarks.face_box
        return (ARCFACE_TEMPLATE / ARCFACE_SIZE * np.array([w, h], np.float32) + np.array([x, y], np.float32)).astype(np.float32)
    return np.stack([landmarks.points[list(group)].mean(axis=0) for group in FIVE_POINT_GROUPS]).astype(np.float32)


def aligned_face(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Similarity-warp the face onto ArcFace's template: h w 3 uint8, 5 2 points -> 112 112 3 uint8."""
    import cv2  # OpenCV ships with mediapipe; only the Hallo identity path needs it

    matrix, _ = cv2.estimateAffinePartial2D(points, ARCFACE_TEMPLATE, method=cv2.LMEDS)
    if matrix is None:
        raise PortraitInputError("landmarks", "the five face points are degenerate", "use a portrait with a visible frontal face")
    return cv2.warpAffine(image, matrix, (ARCFACE_SIZE, ARCFACE_SIZE), borderValue=0.0)


class ArcFaceEmbedder:
    """InsightFace ArcFace recognition model (e.g. antelopev2's `glintr100.onnx`) run with onnxruntime on the CPU."""

    def __init__(self, onnx_path: str | Path):
        try:
            import onnxruntime  # only Hallo's identity embedding needs it
        except ImportError:
            raise PortraitInputError(
                "face_recognition", "onnxruntime is not installed", "pip install onnxruntime into ComfyUI's Python, or pick 'none'"
            ) from None
        path = Path(onnx_path)
        if not path.is_file():
            raise PortraitInputError("face_recognition", f"'{path}' does not exist", "pick glintr100.onnx from face_analysis/models")
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        """b 112 112 3 uint8 RGB aligned faces -> b e raw embeddings."""
        blob = (faces.astype(np.float32).transpose(0, 3, 1, 2) - ARCFACE_MEAN) / ARCFACE_STD
        return self.session.run(None, {self.input_name: blob})[0]


def face_embeddings(images: np.ndarray, landmarks: list[FaceLandmarks], embedder: ArcFaceEmbedder | None) -> torch.Tensor:
    """Raw ArcFace embedding of each portrait's face: b h w c float 0..1 -> b e (zeros without an embedder)."""
    if embedder is None:
        LOG.warning(
            "Hallo identity: no face-recognition model (glintr100.onnx), so the face embedding is zeros and the "
            "identity tokens carry no identity; put face_analysis/models/glintr100.onnx in models/hallo to fix."
        )
        return torch.zeros(len(landmarks), EMBEDDING_DIM)
    faces = np.stack([aligned_face(to_rgb_uint8(image), five_points(face)) for image, face in zip(images, landmarks)])
    return torch.from_numpy(np.ascontiguousarray(embedder(faces))).float()


def with_hallo_face(
    regions: RegionMasks,
    images: np.ndarray,
    landmarks: list[FaceLandmarks],
    embedder: ArcFaceEmbedder | None,
    face_expand_ratio: float = HALLO_FACE_EXPAND,
) -> RegionMasks:
    """The region masks with Hallo's face conditions added (face_image b 3 h w, face_embedding b e)."""
    if len(landmarks) != len(images):
        raise PortraitInputError("landmarks", f"{len(landmarks)} faces for {len(images)} images", "build them from the same image")
    face_image = torch.stack([face_box_image(face, face_expand_ratio) for face in landmarks])
    return replace(regions, face_image=face_image, face_embedding=face_embeddings(images, landmarks, embedder))
