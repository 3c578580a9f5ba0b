"""The AudioEncode preview: waveform energy under the video frame grid."""

import torch

from pipelines.audio.preview import (
    AUDIO_END,
    BACKGROUND,
    ENERGY,
    FRAME_LINE,
    LABEL_HEIGHT,
    audio_preview,
    grid_step,
)


def colour_at(image, x, y):
    return tuple(round(v * 255) for v in image[0, y, x].tolist())


def test_preview_is_a_comfy_image():
    image = audio_preview(torch.zeros(1, 2, 44100), 44100, frames=25, fps=25, width=500, height=120)
    assert image.shape == (1, 120, 500, 3)
    assert image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1


def test_loud_half_shows_energy_and_silent_half_does_not():
    sample_rate = 16000
    loud = torch.randn(sample_rate) * 0.3
    waveform = torch.cat([loud, torch.zeros(sample_rate)])[None, None]  # 1 s noise then 1 s silence
    image = audio_preview(waveform, sample_rate, frames=50, fps=25, width=400, height=100)
    is_energy = (image[0, LABEL_HEIGHT:] * 255).round().eq(torch.tensor(ENERGY, dtype=torch.float32)).all(-1)
    columns = is_energy.any(0)
    assert columns[5:195].all()
    assert not columns[205:].any()


def test_frame_lines_sit_at_frame_starts():
    width, fps, frames = 500, 25, 10  # 0.4 s: 50 px per frame
    image = audio_preview(torch.zeros(1, 1, 6400), 16000, frames, fps, width=width, height=80)
    y = 60
    for frame in range(1, frames):
        assert colour_at(image, frame * 50, y) == FRAME_LINE
        assert colour_at(image, frame * 50 + 25, y) == BACKGROUND


def test_audio_end_is_marked_where_the_last_frame_reaches_past_it():
    # 0.5 s at 3 fps: F = ceil(1.5) = 2 frames covering 0.667 s; the audio ends at 3/4 of the width
    image = audio_preview(torch.zeros(1, 1, 8000), 16000, frames=2, fps=3, width=400, height=80)
    assert colour_at(image, 300, 60) == AUDIO_END


def test_dense_frame_grids_are_thinned():
    assert grid_step(10.0) == 1
    assert grid_step(0.5) == 10
    assert grid_step(0.001) == 5000
    image = audio_preview(torch.zeros(1, 1, 16000 * 600), 16000, frames=15000, fps=25, width=768, height=100)
    lines = (image[0, 60] * 255).round().eq(torch.tensor(FRAME_LINE, dtype=torch.float32)).all(-1)
    assert 100 < int(lines.sum()) < 768 // 4 + 2  # every 100th frame (5 px apart): 150 lines, never a solid block
