"""How much the demo video's mouth follows the speech, and a frame strip of it for the README.

    python -m scripts.demo_measures output/GatedPortrait/demo_00001_.mp4 [--strip docs/demo_frames.png]

Prints the correlation between mouth darkening (an open mouth is dark) and the speech loudness per frame, and the
motion inside the mouth mask vs outside the head mask; the host demo test uses the same measures.
"""

from __future__ import annotations

import argparse
import json
import wave
from pathlib import Path

import av
import numpy as np
import torch
import torchvision
from PIL import Image

from pipelines.face_landmarks import FaceLandmarks
from pipelines.region_masks import portrait_region_masks
from pipelines.train.speech import speech_envelope

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "example_workflows" / "gated_portrait_demo.json"
DEMO_SPEECH = REPO / "example_workflows" / "input" / "speech.wav"
DEMO_PORTRAIT = REPO / "example_workflows" / "input" / "demo_portrait.png"


def read_frames(mp4: Path) -> np.ndarray:
    """f h w 3 frames in 0..1."""
    with av.open(str(mp4)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)]).astype(np.float32) / 255


def mouth_darkening_and_motion(frames: np.ndarray, face_box: str) -> tuple[np.ndarray, float, float]:
    """Per frame, how much darker the mouth mask is than in the first frame (f,), and the std over frames (0..1)
    averaged inside the mouth mask and outside the head mask that the face box 'x,y,w,h' gives."""
    box = tuple(float(v) for v in face_box.split(","))
    head, mouth, _ = portrait_region_masks([FaceLandmarks(np.zeros((0, 2)), box, frames.shape[1:3])]).masks[0].numpy() > 0.5
    luminance = frames.mean(axis=-1)  # f h w
    darkening = luminance[0, mouth].mean() - luminance[:, mouth].mean(axis=1)
    motion = frames.std(axis=0).mean(axis=-1)  # h w
    return darkening, float(motion[mouth].mean()), float(motion[~head].mean())


def speech_level(path: Path, frames: int, fps: float = 25.0) -> np.ndarray:
    """Loudness level 0..1 of each video frame of a 16-bit wav (the training data's mouth driver)."""
    with wave.open(str(path)) as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), np.int16).astype(np.float32) / 32768
        rate = handle.getframerate()
    return speech_envelope(torch.from_numpy(samples), rate, fps).level.numpy()[:frames]


def demo_face_box() -> str:
    """The face box the demo workflow gives RegionMaskFromLandmarks."""
    (node,) = [n for n in json.loads(DEMO.read_text())["nodes"] if n["type"] == "RegionMaskFromLandmarks"]
    return next(v for v in node["widgets_values"] if isinstance(v, str) and v.count(",") == 3)


def enlarged_demo_portrait(path: Path, size: tuple[int, int]) -> str:
    """The demo portrait scaled up to fill the height of a w x h grey canvas (a phone photo's size), saved at
    `path` (JPEG or PNG by its suffix); returns the face box of the demo workflow in the new pixels."""
    width, height = size
    portrait = Image.open(DEMO_PORTRAIT).convert("RGB")
    canvas = Image.new("RGB", size, (120, 120, 120))
    canvas.paste(portrait.resize((height, height), Image.BICUBIC), ((width - height) // 2, 0))
    canvas.save(path, quality=90)
    scale = height / portrait.height
    x, y, w, h = (float(v) for v in demo_face_box().split(","))
    return f"{x * scale + (width - height) / 2:.1f},{y * scale:.1f},{w * scale:.1f},{h * scale:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mp4", type=Path)
    parser.add_argument("--speech", type=Path, default=DEMO_SPEECH)
    parser.add_argument("--face-box", default=None, help="'x,y,w,h' (default: the demo workflow's)")
    parser.add_argument("--strip", type=Path, help="write 10 evenly spaced frames, doubled in size, as a PNG")
    args = parser.parse_args()
    frames = read_frames(args.mp4)
    darkening, mouth, background = mouth_darkening_and_motion(frames, args.face_box or demo_face_box())
    correlation = float(np.corrcoef(darkening, speech_level(args.speech, len(frames)))[0, 1])
    print(json.dumps({"frames": len(frames), "mouth_darkening_vs_loudness_corr": round(correlation, 3),
                      "mouth_motion": round(mouth, 4), "background_motion": round(background, 4)}))
    if args.strip:
        picks = np.linspace(0, len(frames) - 1, 10).round().astype(int)
        chosen = torch.from_numpy(frames[picks]).permute(0, 3, 1, 2)
        torchvision.utils.save_image(torch.nn.functional.interpolate(chosen, scale_factor=2, mode="nearest"), args.strip, nrow=10)


if __name__ == "__main__":
    main()
