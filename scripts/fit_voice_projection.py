"""Fit the voice projection (pipelines/voice/voice_seed.py) on the tuning speakers and write it to models_shipped/.

`python -m scripts.fit_voice_projection` synthesises every tuning speaker reading every tuning sentence and every
paragraph of them (scripts/synth_voices.py; needs espeak-ng and flite), embeds each utterance with the GE2E encoder,
fits the regularised LDA and the voice-code cells. The evaluation speakers are never read here.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pipelines.audio.preprocess import to_mono_16k
from pipelines.voice.speaker_encoder import load_speaker_encoder
from pipelines.voice.voice_seed import DEFAULT_PATH, fit_voice_projection
from scripts.synth_voices import TUNING_SENTENCES, TUNING_SPEAKERS, paragraphs, speak


def embed_speakers(speakers: list[str], sentences: list[str]) -> tuple[np.ndarray, list[str]]:
    """Every speaker reading every sentence -> (embeddings n 256, speaker of each)."""
    encoder = load_speaker_encoder()
    embeddings, labels = [], []
    for speaker in speakers:
        for sentence in sentences:
            samples, rate = speak(speaker, sentence)
            embeddings.append(encoder.embed(to_mono_16k(torch.from_numpy(samples)[None, None], rate)[0]).numpy())
            labels.append(speaker)
    return np.stack(embeddings), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_PATH)
    args = parser.parse_args()
    texts = TUNING_SENTENCES + paragraphs(TUNING_SENTENCES)
    embeddings, labels = embed_speakers(TUNING_SPEAKERS, texts)
    projection = fit_voice_projection(embeddings, labels)
    projection.save(args.out, {"tuning_speakers": ",".join(TUNING_SPEAKERS),
                               "utterances_per_speaker": str(len(texts))})
    print(f"wrote {args.out}: {len(TUNING_SPEAKERS)} speakers x {len(texts)} utterances")


if __name__ == "__main__":
    main()
