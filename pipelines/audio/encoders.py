"""The three speech encoders of the seed papers, as real `transformers` models loaded offline from a local folder.

- `xlsr_mean`: Wav2Vec2-XLS-R, LinguaLinker (paper 000 §3.1): the outputs of all transformer blocks averaged,
  50 Hz, then stretched onto video frames; feature shape (l, hidden).
- `wav2vec2_stacked`: wav2vec2-base-960h, Hallo (paper 001 §3.2): CNN features linearly interpolated to exactly one
  vector per video frame BEFORE the feature projection and transformer; the outputs of all layers stacked
  (embedding output dropped); feature shape (l, layers * hidden), 12 * 768 for the released model.
- `whisper_windows`: Whisper-tiny encoder, Sonic (paper 002 §3.1): the hidden states of its stages (embedding
  output and every layer, the last one layer-normed: 5 for tiny) stacked at 50 Hz; every video frame reads 0.2 s
  of positions; feature shape (10, stages * d_model), 10 x 5 * 384 for tiny.

Each encoder turns a span of its feature sequence into features (`encode_span`), so `windowed.py` can cover audio
of any length window by window, and turns the whole sequence into per-frame blocks (`to_blocks`).
Letters: b batch, t samples, n sequence items, f video frames, l context window, c channels.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from transformers import (
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Model,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperModel,
)

from ..errors import CheckpointError, PortraitInputError
from .frame_alignment import context_blocks, frame_positions, position_windows, sample_at
from .preprocess import ENCODER_SAMPLE_RATE

LAYOUTS = ("xlsr_mean", "wav2vec2_stacked", "whisper_windows")
#: Hallo's wav2vec2-base-960h: its audio projection is built for exactly this encoder size.
HALLO_WAV2VEC2_SIZE = {"num_hidden_layers": 12, "hidden_size": 768}
#: Sonic gives every video frame 0.2 s of Whisper positions (10 at 50 Hz): 4 before the frame's own, 5 after.
WHISPER_CONTEXT_POSITIONS = 10
WHISPER_POSITIONS_BEFORE = 4
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
#: CNN outputs per chunk when gathering whole-track GroupNorm statistics (bounds memory for any length).
STATISTICS_CHUNK = 1 << 16


@dataclass
class Track:
    """An encoder's prepared input: 16 kHz samples b t, plus whole-track statistics where the encoder needs them.

    cnn_mean / cnn_var: b c 1 statistics of wav2vec2-base's first CNN layer (GroupNorm over time) over the whole
    track, so that every window normalises exactly as one pass over the whole track would.
    """

    wave: torch.Tensor
    cnn_mean: torch.Tensor | None = None
    cnn_var: torch.Tensor | None = None

    @property
    def samples(self) -> int:
        return self.wave.shape[1]


@contextmanager
def recorded_layer_outputs(layers: torch.nn.ModuleList):
    """Collect each layer's output (b n c) into the yielded list while the block runs (forward hooks)."""
    outputs: list[torch.Tensor] = []

    def record(_module, _inputs, output):
        outputs.append(output[0] if isinstance(output, tuple) else output)

    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


def cnn_geometry(config) -> tuple[int, int]:
    """(receptive field, hop) in samples of a wav2vec2 config's CNN feature encoder (400, 320 for all released)."""
    receptive = 1
    for kernel, stride in zip(reversed(config.conv_kernel), reversed(config.conv_stride)):
        receptive = (receptive - 1) * stride + kernel
    return receptive, math.prod(config.conv_stride)


def xlsr_blocks(sequence: torch.Tensor, frames: int, context_frames: int) -> torch.Tensor:
    """LinguaLinker: 50 Hz layer means stretched onto video frames, l-frame context blocks: b n c -> b f l c."""
    per_frame = sample_at(sequence, frame_positions(frames, sequence.shape[1]))  # b f c
    return context_blocks(per_frame, context_frames)


def whisper_blocks(sequence: torch.Tensor, frames: int) -> torch.Tensor:
    """Sonic: 0.2 s of stacked Whisper stages around each video frame: b n c -> b f 10 c."""
    centres = frame_positions(frames, sequence.shape[1]).round().long()
    return position_windows(sequence, centres, WHISPER_POSITIONS_BEFORE, WHISPER_CONTEXT_POSITIONS)


class AudioEncoder:
    """A loaded speech encoder and the feature layout one audio projection expects."""

    kind: str
    #: Whether `to_blocks` takes its block length from context_frames (Whisper windows have their own).
    uses_context_frames = True

    def __init__(self, model: torch.nn.Module, folder: str):
        self.model = model.eval().requires_grad_(False)
        self.folder = folder
        #: (fps, context_frames) -> l c blocks of silence, computed once per setting by `embed.silence_block`.
        self.silence_blocks: dict[tuple[float, int], torch.Tensor] = {}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device) -> AudioEncoder:
        self.model.to(device)
        return self

    def prepare(self, wave: torch.Tensor) -> Track:
        """The encoder's whole-track input preparation of 16 kHz mono b t."""
        return Track(wave)

    def items_per_second(self, fps: float) -> float:
        """Rate of the feature sequence `encode_span` produces."""
        raise NotImplementedError

    def max_window_items(self) -> int | None:
        """Longest span one forward pass accepts (None: any)."""
        return None

    def sequence_length(self, samples: int, frames: int) -> int:
        """Items n of the feature sequence for `samples` prepared samples and `frames` video frames."""
        raise NotImplementedError

    def encode_span(self, track: Track, start: int, stop: int, frames: int) -> torch.Tensor:
        """Features of sequence items start..stop-1 of the prepared track: b n c."""
        raise NotImplementedError

    def to_blocks(self, sequence: torch.Tensor, frames: int, context_frames: int) -> torch.Tensor:
        """Per-video-frame context blocks: b n c -> b f l c."""
        raise NotImplementedError

    def feature_shape(self, context_frames: int = 5) -> tuple[int, int]:
        """(l, c) of the blocks this encoder produces."""
        raise NotImplementedError


class Wav2Vec2Features(AudioEncoder):
    """Shared wav2vec2 stages: CNN features of an exact sample span, and the transformer's per-layer outputs."""

    def __init__(self, model: Wav2Vec2Model, folder: str, feature_extractor: Wav2Vec2FeatureExtractor):
        super().__init__(model, folder)
        self.feature_extractor = feature_extractor
        self.receptive_field, self.hop = cnn_geometry(model.config)

    def prepare(self, wave: torch.Tensor) -> Track:
        """Zero-mean unit-variance per track (the checkpoint's feature extractor), padded to one CNN frame, and the
        first CNN layer's whole-track statistics when it is GroupNorm (wav2vec2-base)."""
        values = self.feature_extractor(
            list(wave.cpu().numpy()), sampling_rate=ENCODER_SAMPLE_RATE, return_tensors="pt"
        ).input_values.to(wave.dtype)
        shortfall = self.receptive_field - values.shape[1]
        values = torch.nn.functional.pad(values, (0, shortfall)) if shortfall > 0 else values
        if self.model.config.feat_extract_norm != "group":
            return Track(values)
        return Track(values, *self.first_layer_statistics(values))

    @torch.inference_mode()
    def first_layer_statistics(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and variance over time of the first CNN layer's output, chunk by chunk: b t -> b c 1."""
        conv = self.model.feature_extractor.conv_layers[0].conv
        kernel, stride = conv.kernel_size[0], conv.stride[0]
        outputs = (wave.shape[1] - kernel) // stride + 1
        total = total_sq = 0.0
        for first in range(0, outputs, STATISTICS_CHUNK):
            count = min(STATISTICS_CHUNK, outputs - first)
            chunk = wave[:, None, first * stride: (first + count - 1) * stride + kernel].to(self.device)
            values = conv(chunk).double()  # b c n
            total = total + values.sum(dim=-1, keepdim=True)
            total_sq = total_sq + values.square().sum(dim=-1, keepdim=True)
        mean = total / outputs
        return mean.float().cpu(), (total_sq / outputs - mean.square()).clamp(min=0).float().cpu()

    def cnn_length(self, samples: int) -> int:
        return (samples - self.receptive_field) // self.hop + 1

    def cnn_features(self, track: Track, first: int, last: int) -> torch.Tensor:
        """CNN features of positions first..last from just the samples they see: b n c."""
        span = track.wave[:, None, first * self.hop: last * self.hop + self.receptive_field].to(self.device)
        layers = self.model.feature_extractor.conv_layers
        if track.cnn_mean is None:
            hidden = layers[0](span)
        else:  # wav2vec2-base: GroupNorm with the whole track's statistics instead of this span's
            norm = layers[0].layer_norm
            hidden = (layers[0].conv(span) - track.cnn_mean.to(self.device)) * torch.rsqrt(
                track.cnn_var.to(self.device) + norm.eps
            )
            hidden = layers[0].activation(hidden * norm.weight[:, None] + norm.bias[:, None])
        for layer in layers[1:]:
            hidden = layer(hidden)
        return hidden.transpose(1, 2)

    def layer_outputs(self, cnn: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every transformer layer (embedding output excluded) for CNN features b n c."""
        hidden, _ = self.model.feature_projection(cnn)
        with recorded_layer_outputs(self.model.encoder.layers) as outputs:
            self.model.encoder(hidden)
        return outputs

    def width(self) -> int:
        return self.model.config.hidden_size


class XlsrMeanEncoder(Wav2Vec2Features):
    """LinguaLinker: block outputs averaged at 50 Hz, stretched to video frames, l-frame context blocks."""

    kind = "xlsr_mean"

    def items_per_second(self, fps: float) -> float:
        return ENCODER_SAMPLE_RATE / self.hop

    def sequence_length(self, samples: int, frames: int) -> int:
        return self.cnn_length(samples)

    @torch.inference_mode()
    def encode_span(self, track, start, stop, frames):
        layers = self.layer_outputs(self.cnn_features(track, start, stop - 1))
        return torch.stack(layers).mean(dim=0)  # b n c

    def to_blocks(self, sequence, frames, context_frames):
        return xlsr_blocks(sequence, frames, context_frames)

    def feature_shape(self, context_frames=5):
        return (context_frames, self.width())


class HalloStackedEncoder(Wav2Vec2Features):
    """Hallo: one CNN vector per video frame before the transformer, all layer outputs stacked per frame."""

    kind = "wav2vec2_stacked"

    def items_per_second(self, fps: float) -> float:
        return float(fps)

    def sequence_length(self, samples: int, frames: int) -> int:
        return frames

    @torch.inference_mode()
    def encode_span(self, track, start, stop, frames):
        positions = frame_positions(frames, self.cnn_length(track.samples))[start:stop]
        first = int(positions[0].floor())
        last = min(int(positions[-1].ceil()), self.cnn_length(track.samples) - 1)
        cnn = sample_at(self.cnn_features(track, first, last), positions - first)  # b n c, one per video frame
        layers = self.layer_outputs(cnn)
        return torch.cat(layers, dim=-1)  # b n (layers c), layer-major like Hallo's (12, 768)

    def to_blocks(self, sequence, frames, context_frames):
        return context_blocks(sequence, context_frames)

    def feature_shape(self, context_frames=5):
        return (context_frames, self.model.config.num_hidden_layers * self.width())


class WhisperWindowEncoder(AudioEncoder):
    """Sonic: Whisper encoder stages stacked at 50 Hz, 0.2 s of positions per video frame."""

    kind = "whisper_windows"
    uses_context_frames = False

    def __init__(self, model, folder: str, feature_extractor: WhisperFeatureExtractor):
        super().__init__(model, folder)
        self.feature_extractor = feature_extractor
        #: Samples per encoder position: mel hop times the stride of the second convolution (160 * 2).
        self.hop = feature_extractor.hop_length * model.conv2.stride[0]

    def items_per_second(self, fps: float) -> float:
        return ENCODER_SAMPLE_RATE / self.hop

    def max_window_items(self) -> int:
        return self.model.config.max_source_positions

    def sequence_length(self, samples: int, frames: int) -> int:
        return max(1, math.ceil(samples / self.hop))

    @torch.inference_mode()
    def encode_span(self, track, start, stop, frames):
        """Whisper only takes its full window (30 s for the released models): the span is zero-padded to it."""
        span = track.wave[:, start * self.hop: stop * self.hop]
        mel = self.feature_extractor(
            list(span.cpu().numpy()),
            sampling_rate=ENCODER_SAMPLE_RATE,
            max_length=self.max_window_items() * self.hop,
            padding="max_length",
            return_tensors="pt",
        ).input_features  # b mel (2 positions)
        stages = self.model(mel.to(self.device, self.model.dtype), output_hidden_states=True).hidden_states
        return torch.cat(stages, dim=-1)[:, : stop - start]  # b n (stages c)

    def to_blocks(self, sequence, frames, context_frames):
        return whisper_blocks(sequence, frames)

    def feature_shape(self, context_frames=5):
        config = self.model.config
        return (WHISPER_CONTEXT_POSITIONS, (config.encoder_layers + 1) * config.d_model)


def read_config(folder: str) -> dict:
    """The folder's config.json, or a PortraitInputError naming what is missing."""
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise PortraitInputError(
            "encoder_folder", f"'{folder}' has no config.json",
            "put a Hugging Face model folder (config.json + model.safetensors) into models/audio_encoders",
        )
    return read_json(path)


def read_json(path: str) -> dict:
    """A JSON file of a model folder; CheckpointError naming the file and the line of a syntax error."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"{path}: broken JSON at line {error.lineno}, column {error.colno} ({error.msg}). "
            "Fix: download the file again from the model's page (or repair that line)"
        ) from error
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{path}: not a UTF-8 text file ({error.reason}). Fix: download the file again") from error


def is_hallo_wav2vec2(config: dict) -> bool:
    """wav2vec2 with the 12 x 768 transformer Hallo's audio projection is built for."""
    return all(config.get(key) == value for key, value in HALLO_WAV2VEC2_SIZE.items())


def detect_layout(config: dict) -> str:
    """Kind from config.json: whisper -> whisper_windows; wav2vec2 12 x 768 -> wav2vec2_stacked; else xlsr_mean."""
    model_type = config.get("model_type")
    if model_type == "whisper":
        return "whisper_windows"
    if model_type == "wav2vec2":
        return "wav2vec2_stacked" if is_hallo_wav2vec2(config) else "xlsr_mean"
    raise PortraitInputError(
        "encoder_folder", f"model_type '{model_type}' is not a supported speech encoder",
        "use a wav2vec2 (wav2vec2-base-960h, wav2vec2-xls-r) or whisper folder",
    )


def _load_pretrained(model_class, folder: str):
    """`model_class.from_pretrained` from local files only; missing or mis-shaped weights are an error."""
    present = [os.path.join(folder, name) for name in WEIGHT_FILES if os.path.isfile(os.path.join(folder, name))]
    if not present:
        raise PortraitInputError(
            "encoder_folder", f"'{folder}' has no {' or '.join(WEIGHT_FILES)}",
            "copy the model weights next to config.json",
        )
    if os.path.isfile(preprocessor := os.path.join(folder, "preprocessor_config.json")):
        read_json(preprocessor)  # a broken one would fail later with a bare JSONDecodeError
    try:
        model, info = model_class.from_pretrained(folder, local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError, SafetensorError) as error:
        raise weight_file_error(present[0], error) from error
    problems = {key: sorted(info.get(key) or ()) for key in ("missing_keys", "mismatched_keys")}
    if any(problems.values()):
        raise CheckpointError(
            f"{folder}: weights do not fit {model_class.__name__}: {problems}. Fix: put the weights that belong to "
            "this config.json in the folder (both from the same model page)"
        )
    return model.float()


def weight_file_error(path: str, error: BaseException) -> CheckpointError:
    """The pack's words for a weight file transformers could not load: a pickle refused, or a broken file."""
    text = str(error)
    if isinstance(error, pickle.UnpicklingError) or "weights_only" in text:
        return CheckpointError(
            f"{path}: refused, the file holds Python objects besides tensors and is never unpickled. Fix: put the "
            "model's model.safetensors there instead (from the model's page, or converted from a trusted copy)"
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return CheckpointError(f"{path}: corrupt or truncated weight file ({first_line}). Fix: download it again")


def _feature_extractor(extractor_class, folder: str, **defaults):
    """The folder's preprocessor_config.json when present, else the extractor's defaults."""
    if os.path.isfile(os.path.join(folder, "preprocessor_config.json")):
        return extractor_class.from_pretrained(folder, local_files_only=True)
    return extractor_class(**defaults)


def load_audio_encoder(folder: str, layout: str = "auto") -> AudioEncoder:
    """Load a speech encoder from a local Hugging Face folder onto the CPU; `layout` overrides the detected kind."""
    config = read_config(folder)
    kind = detect_layout(config) if layout == "auto" else layout
    if kind not in LAYOUTS:
        raise PortraitInputError("layout", f"'{layout}' is not one of auto, {', '.join(LAYOUTS)}", "pick one of them")
    is_whisper = config.get("model_type") == "whisper"
    if is_whisper != (kind == "whisper_windows"):
        raise PortraitInputError(
            "layout", f"'{kind}' does not fit a {config.get('model_type')} model",
            "use layout 'auto', or whisper_windows only for whisper folders",
        )
    if is_whisper:
        whisper = _load_pretrained(WhisperModel, folder)
        extractor = _feature_extractor(
            WhisperFeatureExtractor, folder, feature_size=WhisperConfig.from_dict(config).num_mel_bins
        )
        return WhisperWindowEncoder(whisper.get_encoder(), folder, extractor)
    model = _load_pretrained(Wav2Vec2Model, folder)
    extractor = _feature_extractor(Wav2Vec2FeatureExtractor, folder, do_normalize=True, return_attention_mask=False)
    encoder_class = XlsrMeanEncoder if kind == "xlsr_mean" else HalloStackedEncoder
    return encoder_class(model, folder, extractor)
