"""The phoneme timeline of synthesised speech: every phoneme and pause with its start and end in seconds, and the
sentences they belong to (for subtitles). Entries are contiguous: together they cover the whole audio."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Symbol of a pause (silence between words, sentences, or at either end).
PAUSE = "_"


@dataclass(frozen=True)
class Phoneme:
    symbol: str
    start: float
    end: float


@dataclass(frozen=True)
class SentenceSpan:
    text: str
    start: float
    end: float


@dataclass
class PhonemeTimeline:
    """Phonemes (IPA, PAUSE for silence) and sentences of one synthesised speech, in seconds from its start."""

    phonemes: list[Phoneme] = field(default_factory=list)
    sentences: list[SentenceSpan] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.phonemes[-1].end if self.phonemes else 0.0

    def append_sentence(self, text: str, segments: list[tuple[str, float, float]]) -> None:
        """Add one sentence's (symbol, start, end) segments, timed from the sentence's own start, after the rest;
        neighbouring pauses merge into one."""
        offset = self.end
        for symbol, start, end in segments:
            if end <= start:
                continue
            last = self.phonemes[-1] if self.phonemes else None
            if symbol == PAUSE and last is not None and last.symbol == PAUSE:
                self.phonemes[-1] = Phoneme(PAUSE, last.start, offset + end)
            else:
                self.phonemes.append(Phoneme(symbol, offset + start, offset + end))
        self.sentences.append(SentenceSpan(text, offset, self.end))

    def spoken(self) -> list[Phoneme]:
        """The phonemes without the pauses."""
        return [phoneme for phoneme in self.phonemes if phoneme.symbol != PAUSE]


def segments_from_starts(symbols: list[str], starts: list[float], end: float) -> list[tuple[str, float, float]]:
    """(symbol, start, end) for events that give only their start times: each lasts until the next one, the last
    until `end`; silence before the first event becomes a pause."""
    segments = [(PAUSE, 0.0, starts[0])] if starts and starts[0] > 0 else []
    bounds = [*starts[1:], end]
    segments += [(symbol, start, min(stop, end)) for symbol, start, stop in zip(symbols, starts, bounds)]
    return segments or [(PAUSE, 0.0, end)]
