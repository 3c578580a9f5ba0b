"""SubRip (.srt) subtitles from a phoneme timeline: one cue per sentence, from its first to its last spoken phoneme."""

from __future__ import annotations

from .timeline import PAUSE, PhonemeTimeline


def srt_time(seconds: float) -> str:
    """Seconds -> 'HH:MM:SS,mmm'."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def srt_text(timeline: PhonemeTimeline) -> str:
    """The timeline's sentences as numbered SubRip cues; leading and trailing pauses of a sentence are left out."""
    cues = []
    for sentence in timeline.sentences:
        spoken = [p for p in timeline.phonemes
                  if p.symbol != PAUSE and p.start >= sentence.start and p.end <= sentence.end + 1e-9]
        start, end = (spoken[0].start, spoken[-1].end) if spoken else (sentence.start, sentence.end)
        cues.append(f"{len(cues) + 1}\n{srt_time(start)} --> {srt_time(end)}\n{sentence.text}\n")
    return "\n".join(cues)
