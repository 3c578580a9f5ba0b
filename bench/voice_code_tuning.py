"""How the voice code and the face coordinates were chosen: cross-validation on the tuning speakers only.

The tuning speakers (scripts/synth_voices.py) read the 12 tuning sentences and the 4 paragraphs made of them. The
speakers are split into FOLDS groups by voice variant (one variant read with several languages' rules stays in one
group, so a held-out group holds voices the fit has not heard); for each group the projection and cells are fitted on
the others (fit_voice_projection, sentences and paragraphs) and the held-out group's utterances are coded. Reported,
averaged over folds, for sentences and for paragraphs:
- sign_bits/<d>: signs of the first d coordinates as the code (the first round's code);
- cells/<m>x<c>: the nearest of m k-means cells in the first c coordinates (the shipped code, other sizes);
- face_ratio raw / smoothed: median face-trait distance within a speaker over between speakers, traits from the raw
  coordinates or from VoiceProjection.smoothed_coordinates.
The evaluation speakers are never read here (bench/voice_face.py reads them).

Prints one JSON object and writes bench/results/voice_code_tuning.json (about 5 minutes, one thread).
Run from the repository root: .venv/bin/python -m bench.voice_code_tuning
"""

from __future__ import annotations

import numpy as np
import torch

from bench.report import report
from bench.voice_face import distance_ratios, measure_speakers, pair_rates
from pipelines.voice.portrait_traits import portrait_traits
from pipelines.voice.speaker_encoder import load_speaker_encoder
from pipelines.voice.voice_seed import CELLS, CODE_DIRECTIONS, fit_voice_projection
from scripts.synth_voices import TUNING_SENTENCES, TUNING_SPEAKERS, paragraphs

FOLDS = 4
SIGN_BITS = (3, 4, 5, 6)
CELL_GRID = ((20, 5), (28, 4), (28, 5), (28, 6), (32, 5), (40, 4), (40, 5), (40, 6), (48, 5), (56, 5))


def variant(speaker: str) -> str:
    """"espeak:de+Lee" -> "lee": the voice a speaker is made from, whatever language's rules it reads with."""
    return speaker.split(":", 1)[1].split("+")[-1].lower()


def fold_scores(attributes: dict, train: list[str], test: list[str], lengths: dict[str, slice]) -> dict:
    """Fit on the `train` speakers' utterances; score codes and faces on the `test` speakers', per length."""
    embeddings = [a.embedding.numpy() for speaker in train for a in attributes[speaker]]
    labels = [speaker for speaker in train for _ in attributes[speaker]]
    fitted = {(cells, directions): fit_voice_projection(np.stack(embeddings), labels, cells=cells,
                                                        code_directions=directions)
              for cells, directions in CELL_GRID}
    shipped = fitted[(CELLS, CODE_DIRECTIONS)]
    scores = {}
    for length, chosen in lengths.items():
        held_out = {speaker: attributes[speaker][chosen] for speaker in test}
        coordinates = {speaker: [shipped.coordinates(a.embedding) for a in values]
                       for speaker, values in held_out.items()}
        for bits in SIGN_BITS:
            codes = {speaker: [int((c[:bits] > 0).long() @ (1 << torch.arange(bits))) for c in values]
                     for speaker, values in coordinates.items()}
            scores[f"{length}/sign_bits/{bits}"] = pair_rates(codes)
        for (cells, directions), projection in fitted.items():
            codes = {speaker: [projection.code(a.embedding) for a in values] for speaker, values in held_out.items()}
            scores[f"{length}/cells/{cells}x{directions}"] = pair_rates(codes)
        for name, face_coordinates in (("raw", shipped.coordinates), ("smoothed", shipped.smoothed_coordinates)):
            faces = {speaker: [portrait_traits(a, face_coordinates(a.embedding)).face_vector() for a in values]
                     for speaker, values in held_out.items()}
            scores[f"{length}/face_ratio/{name}"] = distance_ratios(faces)
    return scores


def main() -> None:
    texts = TUNING_SENTENCES + paragraphs(TUNING_SENTENCES)
    attributes = measure_speakers(TUNING_SPEAKERS, texts, load_speaker_encoder())
    lengths = {"sentences": slice(0, len(TUNING_SENTENCES)), "paragraphs": slice(len(TUNING_SENTENCES), len(texts))}
    variants = list(dict.fromkeys(variant(speaker) for speaker in TUNING_SPEAKERS))
    order = np.random.default_rng(0).permutation(len(variants))
    folds = [[speaker for speaker in TUNING_SPEAKERS if variant(speaker) in {variants[i] for i in order[fold::FOLDS]}]
             for fold in range(FOLDS)]
    per_fold = [fold_scores(attributes, [s for s in TUNING_SPEAKERS if s not in test], test, lengths) for test in folds]
    averaged = {key: [round(float(np.mean([scores[key][i] for scores in per_fold])), 3) for i in range(2)]
                for key in per_fold[0]}
    report("voice_code_tuning", {
        "speakers": len(TUNING_SPEAKERS), "folds": FOLDS,
        "codes": "[same speaker same code, different speakers different code] over held-out pairs",
        "face_ratio": "[median, mean] within / between face-trait distance",
        **averaged,
    })


if __name__ == "__main__":
    main()
