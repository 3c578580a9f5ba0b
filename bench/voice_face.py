"""Benchmark of the voice-only portrait: is the imagined face the same for one voice and different across voices, and
are the voice attributes stable where the voice is?

Every evaluation speaker (scripts/synth_voices.py: espeak-ng variants and flite voices, none of them among the
speakers the voice projection was fitted on) reads every evaluation sentence; each utterance goes through
`measure_voice_attributes` and `imagine_portrait` (variation 0), as the nodes run them. Pairs of utterances:
- same_speaker_same_seed / different_speakers_different_seed: share of same-speaker pairs with equal seeds and of
  different-speaker pairs with different seeds; seed_bits_tradeoff gives both for other voice-code sizes;
- param_distance_ratio: median Euclidean distance of the face traits (PortraitTraits.face_vector, 0..1 each)
  within a speaker over the median between speakers;
- f0_variation_max / vtl_variation_max: the largest relative deviation |x - mean| / mean of an utterance's F0
  median and vocal-tract length from its speaker's mean; f0_spread_max / vtl_spread_max: the largest
  (max - min) / mean of a speaker;
- f0_known_pitch_error_max: the largest relative error of the measured F0 median of utterances resynthesised by
  Praat (PSOLA) at a flat, known pitch.

Prints one JSON object and writes bench/results/voice_face.json. Needs espeak-ng and flite (apt).
Run from the repository root: .venv/bin/python -m bench.voice_face
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import torch

from bench.report import report
from pipelines.voice.attributes import measure_voice_attributes
from pipelines.voice.imagine import imagine_portrait
from pipelines.voice.speaker_encoder import load_speaker_encoder
from pipelines.voice.voice_seed import SEED_BITS, load_voice_projection, mix_seed
from scripts.synth_voices import (EVALUATION_SENTENCES, EVALUATION_SPEAKERS, TUNING_SPEAKERS, at_pitch, speak)

KNOWN_PITCHES_HZ = (90.0, 130.0, 180.0, 240.0)
KNOWN_PITCH_SPEAKERS = ("espeak:en+m5", "espeak:en+f3", "flite:awb", "flite:slt")


def pair_rates(codes: dict[str, list[int]]) -> tuple[float, float]:
    """(share of same-speaker pairs with one code, share of different-speaker pairs with different codes)."""
    same = [first == second for values in codes.values() for first, second in itertools.combinations(values, 2)]
    different = [first != second for one, other in itertools.combinations(codes, 2)
                 for first in codes[one] for second in codes[other]]
    return float(np.mean(same)), float(np.mean(different))


def relative_deviation(values: list[float]) -> float:
    mean = statistics.fmean(values)
    return max(abs(value - mean) for value in values) / mean


def relative_spread(values: list[float]) -> float:
    return (max(values) - min(values)) / statistics.fmean(values)


def worst(attributes: dict, name: str, measure) -> float:
    """The largest `measure` of attribute `name` over the speakers."""
    return round(max(measure([getattr(a, name) for a in values]) for values in attributes.values()), 4)


def main() -> None:
    encoder, projection = load_speaker_encoder(), load_voice_projection()
    attributes, imagined = {}, {}
    for speaker in EVALUATION_SPEAKERS:
        for sentence in EVALUATION_SENTENCES:
            samples, rate = speak(speaker, sentence)
            measured = measure_voice_attributes(torch.from_numpy(samples)[None, None], rate, encoder)
            attributes.setdefault(speaker, []).append(measured)
            imagined.setdefault(speaker, []).append(imagine_portrait(measured, projection))
    seeds = {speaker: [portrait.seed for portrait in portraits] for speaker, portraits in imagined.items()}
    same_seed, different_seed = pair_rates(seeds)
    tradeoff = {}
    for bits in range(1, 7):
        codes = {speaker: [mix_seed(projection.code(measured.embedding, bits), 0) for measured in utterances]
                 for speaker, utterances in attributes.items()}
        tradeoff[bits] = dict(zip(("same_speaker_same_seed", "different_speakers_different_seed"), pair_rates(codes)))
    traits = {speaker: [portrait.traits.face_vector() for portrait in portraits] for speaker, portraits in imagined.items()}
    within = [float(np.linalg.norm(a - b)) for vectors in traits.values() for a, b in itertools.combinations(vectors, 2)]
    between = [float(np.linalg.norm(a - b)) for one, other in itertools.combinations(traits, 2)
               for a in traits[one] for b in traits[other]]
    pitch_errors = {}
    for speaker in KNOWN_PITCH_SPEAKERS:
        samples, rate = speak(speaker, EVALUATION_SENTENCES[0])
        for pitch in KNOWN_PITCHES_HZ:
            shifted = at_pitch(samples, rate, pitch)
            measured = measure_voice_attributes(torch.from_numpy(shifted)[None, None], rate, encoder)
            pitch_errors[f"{speaker}@{pitch:.0f}Hz"] = round(abs(measured.f0_median_hz / pitch - 1), 4)
    report("voice_face", {
        "speakers": len(EVALUATION_SPEAKERS),
        "utterances": sum(len(values) for values in attributes.values()),
        "utterances_per_speaker": len(EVALUATION_SENTENCES),
        "seed_bits": SEED_BITS,
        "same_speaker_same_seed": round(same_seed, 4),
        "different_speakers_different_seed": round(different_seed, 4),
        "seed_bits_tradeoff": tradeoff,
        "param_distance_ratio": round(statistics.median(within) / statistics.median(between), 4),
        "param_distance_within_median": round(statistics.median(within), 4),
        "param_distance_between_median": round(statistics.median(between), 4),
        "f0_variation_max": worst(attributes, "f0_median_hz", relative_deviation),
        "vtl_variation_max": worst(attributes, "vocal_tract_cm", relative_deviation),
        "f0_spread_max": worst(attributes, "f0_median_hz", relative_spread),
        "vtl_spread_max": worst(attributes, "vocal_tract_cm", relative_spread),
        "f0_known_pitch_error_max": max(pitch_errors.values()),
        "f0_known_pitch_errors": pitch_errors,
        "per_speaker": {speaker: {"f0_median_hz": [round(a.f0_median_hz, 1) for a in values],
                                  "vocal_tract_cm": [round(a.vocal_tract_cm, 2) for a in values],
                                  "seeds": seeds[speaker]} for speaker, values in attributes.items()},
        "evaluation_speakers": EVALUATION_SPEAKERS,
        "tuning_speakers": TUNING_SPEAKERS,
        "evaluation_sentences": EVALUATION_SENTENCES,
    })


if __name__ == "__main__":
    main()
