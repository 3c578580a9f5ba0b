"""Audio nodes: load a speech encoder folder, encode AUDIO into per-video-frame audio context blocks."""

from __future__ import annotations

from dataclasses import replace

from comfy_api.latest import io

from ..pipelines.audio import LAYOUTS, audio_preview, embed_audio, load_audio_encoder
from ..pipelines.audio.core_encoders import CORE_ENCODER_INPUT, CORE_OUTPUT_INPUT, embed_core_output, encoder_from_core
from ..pipelines.errors import PortraitInputError
from .host import compute_device, list_model_dirs, model_dtype, progress_callback, resolve_model_dir
from .schema import Choice, PortraitAudio, PortraitAudioEncoder, output


class PortraitAudioEncoderLoader(io.ComfyNode):
    """Loads a Hugging Face speech-encoder folder (wav2vec2 / XLS-R / Whisper) from models/audio_encoders.

    Not named AudioEncoderLoader: ComfyUI core has a node with that id, and the host drops duplicates.
    """

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PortraitAudioEncoderLoader",
            display_name="Load Audio Encoder (GatedPortrait)",
            category="GatedPortrait/audio",
            description=(
                "Loads a speech encoder from a Hugging Face folder (config.json + model.safetensors or "
                "pytorch_model.bin) in ComfyUI/models/audio_encoders, offline. The layout decides the features: "
                "xlsr_mean (LinguaLinker, XLS-R blocks averaged), wav2vec2_stacked (Hallo, wav2vec2-base-960h, 12 "
                "layers stacked), whisper_windows (Sonic, Whisper encoder stages, 0.2 s per frame). Use the layout your "
                "portrait model was trained with."
            ),
            inputs=[
                Choice("encoder_folder", options=list_model_dirs("audio_encoders"), tooltip=(
                    "A model folder inside ComfyUI/models/audio_encoders, e.g. wav2vec2-base-960h (Hallo), "
                    "wav2vec2-xls-r-300m, or whisper-tiny.en (made by scripts/convert_whisper_tiny.py).")),
                Choice("layout", options=["auto", *LAYOUTS], default="auto", tooltip=(
                    "auto: whisper folders -> whisper_windows; wav2vec2 with 12 layers x 768 -> wav2vec2_stacked "
                    "(Hallo); other wav2vec2 -> xlsr_mean (LinguaLinker). Override to force a layout.")),
            ],
            outputs=[output(PortraitAudioEncoder, "audio_encoder",
                            "The loaded encoder (kept on the CPU; moved to the GPU only while encoding).")],
        )

    @classmethod
    def execute(cls, encoder_folder: str, layout: str) -> io.NodeOutput:
        return io.NodeOutput(load_audio_encoder(resolve_model_dir("audio_encoders", encoder_folder), layout))


class AudioEncode(io.ComfyNode):
    """Speech -> per-video-frame audio context blocks (b f l c), a preview and the frame count."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="AudioEncode",
            display_name="Audio Encode (GatedPortrait)",
            category="GatedPortrait/audio",
            description=(
                "Encodes speech into one audio context block per video frame for the portrait sampler. Any sample "
                "rate, mono or multi-channel (downmixed), any length (30 s windows, cross-faded). Frames: ceil(duration "
                "x fps). The preview shows the waveform energy under the video frame grid. Connect one encoder: the "
                "pack's loader, core's AudioEncoderLoader (core_audio_encoder) or core's AudioEncoderEncode output "
                "(core_encoded_audio)."
            ),
            inputs=[
                io.Audio.Input("audio", tooltip="The speech (e.g. from LoadAudio). Its length sets the video length."),
                io.Float.Input("fps", default=25.0, min=1.0, max=120.0, step=0.01, tooltip=(
                    "Frame rate of the video to generate (Hallo and LinguaLinker models: 25).")),
                io.Int.Input("context_frames", default=5, min=1, max=15, step=2, tooltip=(
                    "Odd audio context window l per video frame for the wav2vec2 layouts (5 = the frame +- 2, as the "
                    "papers). whisper_windows always uses 0.2 s (10 positions).")),
                io.Boolean.Input("normalize_loudness", default=False, tooltip=(
                    "Bring the speech to -23 LUFS before encoding (helps very quiet or very loud recordings).")),
                PortraitAudioEncoder.Input("audio_encoder", optional=True,
                                           tooltip="From Load Audio Encoder (GatedPortrait)."),
                io.AudioEncoder.Input(CORE_ENCODER_INPUT, optional=True, tooltip=(
                    "Instead of audio_encoder: core's AudioEncoderLoader (wav2vec2 base / large, Whisper large-v3). "
                    "The layout is detected as for folders; the input is normalised as core does.")),
                io.AudioEncoderOutput.Input(CORE_OUTPUT_INPUT, optional=True, tooltip=(
                    "Instead of audio_encoder: core's AudioEncoderEncode output of this same audio. Fits xlsr_mean "
                    "(12-layer wav2vec2) and whisper_windows (up to 30 s); otherwise connect core_audio_encoder. "
                    "normalize_loudness and vocals do not apply: the audio is already encoded.")),
                io.Audio.Input("vocals", optional=True, tooltip=(
                    "Optional already-separated vocals of the same clip: encoded instead of the mix, so music and "
                    "noise do not drive the face. Must be as long as `audio`.")),
            ],
            outputs=[
                output(PortraitAudio, "audio_embeddings", (
                    "Audio context blocks b f l c with fps, encoder kind and the blocks of silence, for "
                    "GatedUNetSample.")),
                output(io.Image, "preview",
                       "Waveform energy (blue) over the video frame grid; the red line is the end of the audio."),
                output(io.Int, "frame_count",
                       "Number of video frames F = ceil(duration x fps): the length of the video to generate."),
            ],
        )

    @classmethod
    def execute(cls, audio, fps, context_frames, normalize_loudness, audio_encoder=None, vocals=None,
                core_audio_encoder=None, core_encoded_audio=None) -> io.NodeOutput:
        sources = {"audio_encoder": audio_encoder, CORE_ENCODER_INPUT: core_audio_encoder,
                   CORE_OUTPUT_INPUT: core_encoded_audio}
        connected = [name for name, value in sources.items() if value is not None]
        if len(connected) != 1:
            raise PortraitInputError(
                "audio_encoder", f"{len(connected)} encoder inputs are connected ({', '.join(connected) or 'none'})",
                f"connect exactly one of audio_encoder, {CORE_ENCODER_INPUT} or {CORE_OUTPUT_INPUT}",
            )
        if core_encoded_audio is not None:  # already encoded: normalize_loudness and vocals do not apply
            embeddings = embed_core_output(core_encoded_audio, audio["waveform"], audio["sample_rate"], fps,
                                           context_frames)
        else:
            encoder = audio_encoder if core_audio_encoder is None else encoder_from_core(core_audio_encoder.model)
            embeddings = embed_audio(
                encoder,
                audio["waveform"],
                audio["sample_rate"],
                fps=fps,
                context_frames=context_frames,
                loudness=normalize_loudness,
                vocals=None if vocals is None else (vocals["waveform"], vocals["sample_rate"]),
                device=compute_device(),
                callback=progress_callback(1),  # the windowed encoder reports the real window count
            )
        embeddings = _kept_for_sampling(embeddings)
        preview = audio_preview(audio["waveform"], audio["sample_rate"], embeddings.frames, fps)
        blocks = embeddings.blocks
        megabytes, dtype = blocks.numel() * blocks.element_size() / 2**20, str(blocks.dtype).removeprefix("torch.")
        held = f"{embeddings.frames} frames of audio features held: {megabytes:.1f} MB ({dtype})"
        return io.NodeOutput(embeddings, preview, embeddings.frames, ui={"gated_portrait_audio": [held]})


def _kept_for_sampling(embeddings):
    """The blocks in the precision the sampler's model reads on the host's device (half on GPUs, float32 on the
    CPU): the host keeps this output cached, so half precision halves what a long audio holds."""
    dtype = model_dtype("auto", compute_device())
    if dtype.itemsize >= embeddings.blocks.element_size():
        return embeddings
    silence = None if embeddings.silence is None else embeddings.silence.to(dtype)
    return replace(embeddings, blocks=embeddings.blocks.to(dtype), silence=silence)

