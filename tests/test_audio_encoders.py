"""The three encoder kinds, built as tiny random-init `transformers` models and loaded from folders like real ones."""

import json
import os

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import WhisperFeatureExtractor

from pipelines.audio import LAYOUTS, detect_layout, embed_audio, load_audio_encoder
from pipelines.audio.frame_alignment import frame_positions
from pipelines.errors import CheckpointError, PortraitInputError
from scripts.tiny_encoders import WAV2VEC2_TINY, WHISPER_TINY, save_tiny_encoder

SPEECHLIKE_SECONDS = 3.0


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio_encoders")
    return {kind: save_tiny_encoder(str(root / kind), kind) for kind in LAYOUTS}


@pytest.fixture(scope="module")
def encoders(folders):
    return {kind: load_audio_encoder(folder, kind) for kind, folder in folders.items()}


def speechlike(batch=1, seconds=SPEECHLIKE_SECONDS, sample_rate=16000, seed=0):
    """Noise bursts with pauses: b 1 t."""
    generator = torch.Generator().manual_seed(seed)
    samples = round(seconds * sample_rate)
    envelope = (torch.sin(torch.arange(samples) / sample_rate * 2 * torch.pi * 3) > 0).float()
    return torch.randn(batch, 1, samples, generator=generator) * 0.2 * envelope


EXPECTED_SHAPES = {
    "xlsr_mean": (5, WAV2VEC2_TINY["hidden_size"]),
    "wav2vec2_stacked": (5, WAV2VEC2_TINY["num_hidden_layers"] * WAV2VEC2_TINY["hidden_size"]),
    "whisper_windows": (10, (WHISPER_TINY["encoder_layers"] + 1) * WHISPER_TINY["d_model"]),
}


@pytest.mark.parametrize("kind", LAYOUTS)
def test_blocks_have_the_declared_shape_and_kind(encoders, kind):
    encoder = encoders[kind]
    embeddings = embed_audio(encoder, speechlike(batch=2), 16000, fps=25)
    assert embeddings.blocks.shape == (2, 75, *EXPECTED_SHAPES[kind])
    assert embeddings.feature_shape == EXPECTED_SHAPES[kind] == encoder.feature_shape(5)
    assert embeddings.encoder == kind
    assert embeddings.fps == 25.0
    assert embeddings.silence.shape == EXPECTED_SHAPES[kind]
    assert torch.isfinite(embeddings.blocks).all()
    # different audio, different features
    assert not torch.allclose(embeddings.blocks[0], embeddings.blocks[1], atol=1e-3)


@pytest.mark.parametrize("kind", ["xlsr_mean", "wav2vec2_stacked"])
def test_context_frames_set_l_for_wav2vec2_layouts(encoders, kind):
    embeddings = embed_audio(encoders[kind], speechlike(), 16000, context_frames=3)
    assert embeddings.feature_shape == (3, EXPECTED_SHAPES[kind][1])
    torch.testing.assert_close(embeddings.blocks[0, 1:-1, 0], embeddings.blocks[0, :-2, 1])


def test_whisper_keeps_its_0_2_s_window_whatever_the_context_frames(encoders):
    assert embed_audio(encoders["whisper_windows"], speechlike(), 16000, context_frames=3).feature_shape[0] == 10


@pytest.mark.parametrize("kind", LAYOUTS)
def test_batch_items_are_encoded_independently(encoders, kind):
    both = embed_audio(encoders[kind], speechlike(batch=2), 16000).blocks
    second = embed_audio(encoders[kind], speechlike(batch=2)[1:], 16000).blocks
    torch.testing.assert_close(both[1:], second, atol=1e-4, rtol=1e-4)


def test_xlsr_mean_averages_all_transformer_block_outputs(encoders):
    encoder = encoders["xlsr_mean"]
    track = encoder.prepare(speechlike()[:, 0])
    reference = torch.stack(encoder.model(track.wave, output_hidden_states=True).hidden_states[1:]).mean(0)
    ours = encoder.encode_span(track, 0, encoder.sequence_length(track.samples, 75), 75)
    assert encoder.model.config.do_stable_layer_norm
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


class _InterpolateToFrames(torch.nn.Module):
    """Hallo's change to wav2vec2: CNN features resized to the video frame count (corner-aligned, linear)."""

    def __init__(self, cnn, frames):
        super().__init__()
        self.cnn, self.frames = cnn, frames

    def forward(self, wave):
        return F.interpolate(self.cnn(wave), size=self.frames, mode="linear", align_corners=True)


@pytest.mark.parametrize("frames", [75, 40, 120])
def test_wav2vec2_stacked_matches_hallos_layout(folders, frames):
    encoder = load_audio_encoder(folders["wav2vec2_stacked"], "wav2vec2_stacked")
    track = encoder.prepare(speechlike()[:, 0])
    ours = encoder.encode_span(track, 0, frames, frames)
    hallo = load_audio_encoder(folders["wav2vec2_stacked"], "wav2vec2_stacked").model
    hallo.feature_extractor = _InterpolateToFrames(hallo.feature_extractor, frames)
    states = hallo(track.wave, output_hidden_states=True).hidden_states[1:]  # embedding output dropped
    assert len(states) == WAV2VEC2_TINY["num_hidden_layers"]
    reference = torch.stack(states, dim=2).flatten(2)  # b f (layers c), (12, 768) per frame in Hallo
    # F.interpolate places frames in float32, we in float64: differences of a few 1e-5
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)


def test_wav2vec2_base_cnn_of_a_span_equals_the_whole_tracks(encoders):
    """GroupNorm of the first CNN layer uses whole-track statistics, so a span's CNN features are exact."""
    encoder = encoders["wav2vec2_stacked"]
    assert encoder.model.config.feat_extract_norm == "group"
    track = encoder.prepare(speechlike()[:, 0])
    positions = encoder.cnn_length(track.samples)
    whole = encoder.model.feature_extractor(track.wave).transpose(1, 2)  # one pass, as Hallo runs it
    assert whole.shape[1] == positions
    torch.testing.assert_close(encoder.cnn_features(track, 0, positions - 1), whole, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(encoder.cnn_features(track, 40, 90), whole[:, 40:91], atol=1e-5, rtol=1e-4)


def test_whisper_stages_are_embedding_plus_every_layer(encoders):
    encoder = encoders["whisper_windows"]
    wave = speechlike()[:, 0, :16000]  # 1 s, inside the tiny model's 2 s window
    mel = WhisperFeatureExtractor(feature_size=80, chunk_length=2)(
        wave[0].numpy(), sampling_rate=16000, return_tensors="pt"
    ).input_features
    states = encoder.model(mel, output_hidden_states=True).hidden_states
    assert len(states) == WHISPER_TINY["encoder_layers"] + 1
    ours = encoder.encode_span(encoder.prepare(wave), 0, 50, 25)
    torch.testing.assert_close(ours, torch.cat(states, dim=-1)[:, :50])


def test_whisper_frames_read_0_2_s_around_their_position(encoders):
    encoder = encoders["whisper_windows"]
    sequence = torch.arange(100, dtype=torch.float32).reshape(1, 100, 1)
    blocks = encoder.to_blocks(sequence, 50, 5)  # 2 s: 100 positions, 50 frames at 25 fps
    centres = frame_positions(50, 100).round().long()
    assert blocks[0, 10, :, 0].tolist() == list(range(centres[10] - 4, centres[10] + 6))
    assert blocks[0, 0, :, 0].tolist() == [0] * 5 + [1, 2, 3, 4, 5]
    assert blocks[0, -1, -1, 0] == 99


def test_layout_detection_from_config():
    assert detect_layout({"model_type": "whisper"}) == "whisper_windows"
    assert detect_layout({"model_type": "wav2vec2", "num_hidden_layers": 12, "hidden_size": 768}) == "wav2vec2_stacked"
    assert detect_layout({"model_type": "wav2vec2", "num_hidden_layers": 24, "hidden_size": 1024}) == "xlsr_mean"
    assert detect_layout({"model_type": "wav2vec2", "num_hidden_layers": 48, "hidden_size": 1280}) == "xlsr_mean"
    with pytest.raises(PortraitInputError, match="hubert"):
        detect_layout({"model_type": "hubert"})


def test_auto_layout_loads_the_detected_kind(folders):
    assert load_audio_encoder(folders["whisper_windows"]).kind == "whisper_windows"
    assert load_audio_encoder(folders["xlsr_mean"]).kind == "xlsr_mean"  # tiny: not Hallo's 12 x 768
    assert load_audio_encoder(folders["xlsr_mean"], "wav2vec2_stacked").kind == "wav2vec2_stacked"


def test_layout_that_does_not_fit_the_model_is_refused(folders):
    with pytest.raises(PortraitInputError, match="^layout: "):
        load_audio_encoder(folders["xlsr_mean"], "whisper_windows")
    with pytest.raises(PortraitInputError, match="^layout: "):
        load_audio_encoder(folders["whisper_windows"], "xlsr_mean")
    with pytest.raises(PortraitInputError, match="^layout: "):
        load_audio_encoder(folders["whisper_windows"], "mean_of_everything")


def test_folders_without_config_or_weights_are_clear_errors(tmp_path, folders):
    with pytest.raises(PortraitInputError, match="config.json"):
        load_audio_encoder(str(tmp_path))
    (tmp_path / "config.json").write_text(open(os.path.join(folders["xlsr_mean"], "config.json")).read())
    with pytest.raises(PortraitInputError, match="model.safetensors or pytorch_model.bin"):
        load_audio_encoder(str(tmp_path))


def test_missing_weights_are_an_error_not_a_silent_random_init(tmp_path, folders):
    source = folders["xlsr_mean"]
    state = load_file(os.path.join(source, "model.safetensors"))
    dropped = next(key for key in state if "encoder.layers.1.attention.q_proj.weight" in key)
    del state[dropped]
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    (tmp_path / "config.json").write_text(json.dumps(json.load(open(os.path.join(source, "config.json")))))
    with pytest.raises(CheckpointError, match="q_proj"):
        load_audio_encoder(str(tmp_path))


def test_pytorch_bin_folders_load_too(tmp_path, folders, encoders):
    source = folders["wav2vec2_stacked"]
    torch.save(load_file(os.path.join(source, "model.safetensors")), str(tmp_path / "pytorch_model.bin"))
    (tmp_path / "config.json").write_text(open(os.path.join(source, "config.json")).read())
    loaded = load_audio_encoder(str(tmp_path), "wav2vec2_stacked")
    reference = encoders["wav2vec2_stacked"].model.state_dict()
    for name, value in loaded.model.state_dict().items():
        assert torch.equal(value, reference[name]), name


def test_encoder_returns_to_its_device_after_encoding(encoders):
    encoder = encoders["xlsr_mean"]
    embed_audio(encoder, speechlike(seconds=0.5), 16000, device="cpu")
    assert encoder.device == torch.device("cpu")
    assert not any(p.requires_grad for p in encoder.model.parameters())
