"""Benchmark of the voice-only portrait on held-out speakers: is the imagined face the same for one voice and
different across voices, and are the voice attributes stable where the voice is?

Every evaluation speaker (scripts/synth_voices.py: espeak-ng variants no tuning speaker uses, read with the
pronunciation rules of languages no tuning speaker uses; none of them tuned on) reads the evaluation text twice over: as 3 paragraphs of 3 sentences (the length of a voice-over) and as the first sentence of each paragraph
alone. Each utterance goes through `measure_voice_attributes` and `imagine_portrait` (variation 0),
as the nodes run them. For each length, over pairs of utterances:
- same_speaker_same_seed / different_speakers_different_seed: share of same-speaker pairs with equal seeds and of
  different-speaker pairs with different seeds;
- param_distance_ratio: median Euclidean distance of the face traits (PortraitTraits.face_vector, 0..1 each)
  within a speaker over the median between speakers (and the same with means);
- coordinate_spread_ratios: within-speaker over between-speaker standard deviation of each coded voice coordinate
  (the voice code reads them);
- f0_variation_max / vtl_variation_max: the largest relative deviation |x - mean| / mean of an utterance's F0
  median and vocal-tract length from its speaker's mean; f0_spread_max / vtl_spread_max: the largest
  (max - min) / mean of a speaker.
f0_known_pitch_error_max: the largest relative error of the measured F0 median of sentences resynthesised by Praat
(PSOLA) at a flat, known pitch.

Prints one JSON object and writes bench/results/voice_face.json. Needs espeak-ng, flite (apt) and models/tts.
Run from the repository root: .venv/bin/python -m bench.voice_face
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import torch

from bench.report import report
from pipelines.voice.attributes import VoiceAttributes, measure_voice_attributes
from pipelines.voice.imagine import imagine_portrait
from pipelines.voice.speaker_encoder import SpeakerEncoder, load_speaker_encoder
from pipelines.voice.voice_seed import CELLS, CODE_DIRECTIONS, load_voice_projection
from scripts.synth_voices import (EVALUATION_SENTENCES, EVALUATION_SPEAKERS, SENTENCES_PER_PARAGRAPH,
                                  TUNING_SENTENCES, TUNING_SPEAKERS, at_pitch, paragraphs, speak)

KNOWN_PITCHES_HZ = (90.0, 130.0, 180.0, 240.0)
KNOWN_PITCH_SPEAKERS = ("espeak:de+Lee", "espeak:de+grandma", "piper:en_US-joe-medium")


def measure_speakers(speakers: list[str], texts: list[str],
                     encoder: SpeakerEncoder) -> dict[str, list[VoiceAttributes]]:
    """Every speaker reading every text -> the attributes of each utterance, per speaker."""
    return {speaker: [measure_voice_attributes(torch.from_numpy(samples)[None, None], rate, encoder)
                      for samples, rate in (speak(speaker, text) for text in texts)] for speaker in speakers}


def pair_rates(codes: dict[str, list[int]]) -> tuple[float, float]:
    """(share of same-speaker pairs with one code, share of different-speaker pairs with different codes)."""
    same = [first == second for values in codes.values() for first, second in itertools.combinations(values, 2)]
    different = [first != second for one, other in itertools.combinations(codes, 2)
                 for first in codes[one] for second in codes[other]]
    return float(np.mean(same)), float(np.mean(different))


def distance_ratios(vectors: dict[str, list[np.ndarray]]) -> tuple[float, float]:
    """(median, mean) Euclidean distance of vectors within a speaker over the same between speakers."""
    within = [float(np.linalg.norm(a - b)) for values in vectors.values() for a, b in itertools.combinations(values, 2)]
    between = [float(np.linalg.norm(a - b)) for one, other in itertools.combinations(vectors, 2)
               for a in vectors[one] for b in vectors[other]]
    return statistics.median(within) / statistics.median(between), statistics.fmean(within) / statistics.fmean(between)


def coordinate_spread_ratios(attributes: dict[str, list[VoiceAttributes]], projection) -> list[float]:
    """Within-speaker over between-speaker standard deviation of each coded voice coordinate, c."""
    coordinates = [torch.stack([projection.coordinates(a.embedding)[:CODE_DIRECTIONS] for a in values])
                   for values in attributes.values()]  # per speaker: u c
    within = torch.cat([values - values.mean(dim=0) for values in coordinates]).pow(2).mean(dim=0).sqrt()
    between = torch.stack([values.mean(dim=0) for values in coordinates]).std(dim=0)
    return [round(float(ratio), 4) for ratio in within / between]


def relative_deviation(values: list[float]) -> float:
    mean = statistics.fmean(values)
    return max(abs(value - mean) for value in values) / mean


def relative_spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.fmean(values)


def worst(attributes: dict, name: str, measure) -> float:
    """The largest `measure` of attribute `name` over the speakers."""
    return round(max(measure([getattr(a, name) for a in values]) for values in attributes.values()), 4)


def consistency(attributes: dict[str, list[VoiceAttributes]], projection) -> dict:
    """Seed and face consistency and attribute stability of one set of utterances."""
    imagined = {speaker: [imagine_portrait(measured, projection) for measured in values]
                for speaker, values in attributes.items()}
    seeds = {speaker: [portrait.seed for portrait in portraits] for speaker, portraits in imagined.items()}
    same_seed, different_seed = pair_rates(seeds)
    median_ratio, mean_ratio = distance_ratios(
        {speaker: [portrait.traits.face_vector() for portrait in portraits] for speaker, portraits in imagined.items()})
    return {
        "speech_seconds": [round(min(a.speech_seconds for v in attributes.values() for a in v), 1),
                           round(max(a.speech_seconds for v in attributes.values() for a in v), 1)],
        "same_speaker_same_seed": round(same_seed, 4),
        "different_speakers_different_seed": round(different_seed, 4),
        "param_distance_ratio": round(median_ratio, 4),
        "param_distance_mean_ratio": round(mean_ratio, 4),
        "coordinate_spread_ratios": coordinate_spread_ratios(attributes, projection),
        "f0_variation_max": worst(attributes, "f0_median_hz", relative_deviation),
        "vtl_variation_max": worst(attributes, "vocal_tract_cm", relative_deviation),
        "f0_spread_max": worst(attributes, "f0_median_hz", relative_spread),
        "vtl_spread_max": worst(attributes, "vocal_tract_cm", relative_spread),
        "per_speaker": {speaker: {"f0_median_hz": [round(a.f0_median_hz, 1) for a in values],
                                  "vocal_tract_cm": [round(a.vocal_tract_cm, 2) for a in values],
                                  "seeds": seeds[speaker]} for speaker, values in attributes.items()},
    }


#: The issue's keys at the top level come from paragraph-length speech (the length voice-only inputs have); both lengths
#: are reported in full under their names.
HEADLINE_LENGTH = "paragraphs"
HEADLINE_KEYS = ("same_speaker_same_seed", "different_speakers_different_seed", "param_distance_ratio",
                 "f0_variation_max", "vtl_variation_max")


def main() -> None:
    encoder, projection = load_speaker_encoder(), load_voice_projection()
    texts = {"paragraphs": paragraphs(EVALUATION_SENTENCES),
             "sentences": EVALUATION_SENTENCES[::SENTENCES_PER_PARAGRAPH]}
    results = {length: consistency(measure_speakers(EVALUATION_SPEAKERS, chosen, encoder), projection)
               for length, chosen in texts.items()}
    pitch_errors = {}
    for speaker in KNOWN_PITCH_SPEAKERS:
        samples, rate = speak(speaker, EVALUATION_SENTENCES[0])
        for pitch in KNOWN_PITCHES_HZ:
            shifted = at_pitch(samples, rate, pitch)
            measured = measure_voice_attributes(torch.from_numpy(shifted)[None, None], rate, encoder)
            pitch_errors[f"{speaker}@{pitch:.0f}Hz"] = round(abs(measured.f0_median_hz / pitch - 1), 4)
    headline = results[HEADLINE_LENGTH]
    report("voice_face", {
        "speakers": len(EVALUATION_SPEAKERS),
        "utterances": len(EVALUATION_SPEAKERS) * len(texts[HEADLINE_LENGTH]),
        "utterances_per_speaker": len(texts[HEADLINE_LENGTH]),
        "headline_length": HEADLINE_LENGTH,
        **{key: headline[key] for key in HEADLINE_KEYS},
        "code_cells": CELLS,
        "code_directions": CODE_DIRECTIONS,
        **results,
        "f0_known_pitch_error_max": max(pitch_errors.values()),
        "f0_known_pitch_errors": pitch_errors,
        "evaluation_speakers": EVALUATION_SPEAKERS,
        "evaluation_sentences": EVALUATION_SENTENCES,
        "tuning_speakers": TUNING_SPEAKERS,
        "tuning_sentences": TUNING_SENTENCES,
    })


if __name__ == "__main__":
    main()
