"""The synthetic talking-portrait dataset: shapes, determinism, motion that follows the audio, region semantics."""

from __future__ import annotations

import math

import numpy as np
import torch

from pipelines.audio.frame_alignment import frame_count
from pipelines.face_landmarks import FaceLandmarks
from pipelines.region_masks import portrait_region_masks
from pipelines.train.face_measures import FaceMeter, blink_count, pearson
from pipelines.train.face_render import FaceMotion, feature_boxes, random_style, render_frames
from pipelines.train.motion_tracks import blink_starts, face_motion
from pipelines.train.speech import Utterance, speech_envelope
from pipelines.train.synthetic import SCALE_CHOICES, SyntheticTalkingPortraits, random_portraits, region_masks

RATE = 16000


def burst_speech(seconds: float = 3.0, seed: int = 0) -> Utterance:
    """Noise bursts of varying loudness with two long pauses: speech-like energy without espeak-ng."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * RATE)) / RATE
    syllables = 0.5 + 0.5 * torch.sin(2 * math.pi * 4.0 * t) ** 2
    pauses = ((t % 1.5) < 1.1).float()
    wave = 0.3 * torch.randn(t.shape[0], generator=g) * syllables * pauses
    return Utterance(wave, RATE, "noise", "bursts")


def test_envelope_has_one_value_per_video_frame_and_sees_the_pauses():
    speech = burst_speech()
    envelope = speech_envelope(speech.wave, RATE, 25.0)
    assert envelope.level.shape == (frame_count(speech.wave.shape[0], RATE, 25.0),)
    assert float(envelope.level.min()) == 0.0 and float(envelope.level.max()) == 1.0
    assert envelope.level[30:36].max() == 0  # 1.2 .. 1.44 s is a pause
    assert blink_starts(envelope.level)[:2] == [28, 65]  # first wholly silent frames after speech (1.1 s, 2.6 s)


def test_clips_are_deterministic_and_shaped():
    data = SyntheticTalkingPortraits([burst_speech(seed=0), burst_speech(seed=1)], size=64, clip_frames=8, seed=3)
    a, b, other = data.clip(5), data.clip(5), data.clip(6)
    assert a.frames.shape == (8, 3, 64, 64) and a.reference.shape == (3, 64, 64) and a.masks.shape == (3, 64, 64)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.scales, b.scales) and a.start == b.start
    assert not torch.equal(a.reference, other.reference)  # a new person per clip
    assert 0 <= float(a.frames.min()) and float(a.frames.max()) <= 1
    assert set(a.scales.tolist()) <= set(SCALE_CHOICES)


def test_region_scale_zero_keeps_that_region_at_rest():
    speech = burst_speech()
    style = random_style(torch.Generator().manual_seed(2))
    envelope = speech.envelope(25.0)
    still = render_frames(style, face_motion(envelope, {"head": 0.0, "mouth": 0.0, "eyes": 0.0}, 64, 25.0, torch.Generator()))
    rest = render_frames(style, FaceMotion.still(1))
    assert torch.equal(still, rest.expand_as(still))
    talking = face_motion(envelope, {"head": 0.0, "mouth": 1.0, "eyes": 0.0}, 64, 25.0, torch.Generator())
    assert talking.head_dx.abs().max() == 0 and talking.eye_closure.max() == 0 and talking.mouth_open.max() > 0.5


def test_painted_mouth_follows_the_loudness_and_the_eyes_blink_in_pauses():
    speech = burst_speech(seconds=4.0)
    envelope = speech.envelope(25.0)
    style = random_style(torch.Generator().manual_seed(4))
    motion = face_motion(envelope, {"head": 1.0, "mouth": 1.0, "eyes": 1.0}, 64, 25.0, torch.Generator().manual_seed(0))
    frames = render_frames(style, motion)
    meter = FaceMeter(style, 64)
    offsets = meter.head_offsets(frames)
    assert (offsets - torch.stack([motion.head_dx, motion.head_dy], dim=1)).abs().mean() < 0.25
    aligned = meter.aligned(frames)
    assert pearson(meter.mouth_opening(aligned), envelope.level) > 0.8
    assert blink_count(meter.eye_closure(aligned)) == blink_count(motion.eye_closure) == len(blink_starts(envelope.level)) >= 2


def test_masks_follow_the_region_mask_node_rules_for_a_face_box():
    """The painter's exact masks and RegionMaskFromLandmarks' masks from the same face box nearly coincide."""
    style = random_style(torch.Generator().manual_seed(7))
    exact = region_masks(style, 64)
    face = feature_boxes(style).face
    box = (face.x0, face.y0, face.x1 - face.x0, face.y1 - face.y0)
    node = portrait_region_masks([FaceLandmarks(np.zeros((0, 2)), box, (64, 64))]).masks[0]
    for region in range(3):
        overlap = torch.minimum(exact[region], node[region]).sum() / torch.maximum(exact[region], node[region]).sum()
        assert overlap > 0.9, region


def test_random_portraits_vary():
    images, masks = random_portraits(torch.Generator().manual_seed(0), 4)
    assert images.shape == (4, 3, 64, 64)
    assert masks.shape == (4, 3, 64, 64)
    eyes = masks[:, 2].flatten(1).sum(1)
    assert (eyes > 20).all() and (eyes < masks[:, 0].flatten(1).sum(1)).all()  # every face has eyes, inside its head
    assert (images[0] - images[1]).abs().mean() > 0.05


def test_portrait_command_paints_the_person_of_a_seed_and_prints_its_face_box(tmp_path, capsys):
    from PIL import Image

    from apps.train import main

    main(["portrait", "--seed", "123458", "--out", str(tmp_path / "face.png")])
    written = torch.tensor(np.array(Image.open(tmp_path / "face.png"))).permute(2, 0, 1).float() / 255
    style = random_style(torch.Generator().manual_seed(123458), 64)
    assert (written - render_frames(style, FaceMotion.still(1), 64)[0]).abs().max() <= 0.5 / 255 + 1e-6
    assert "face box 14.0,8.8,31.3,38.7" in capsys.readouterr().err  # the demo workflow's RegionMaskFromLandmarks box
