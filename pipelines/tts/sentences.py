"""Text -> sentences, each short enough to synthesise on its own (memory and progress stay per sentence)."""

from __future__ import annotations

import re
import unicodedata

from ..errors import PortraitInputError

#: A sentence ends after one of these (Latin, CJK, Devanagari, Arabic, Ethiopic full stops), or at a blank line.
SENTENCE_END = re.compile(r"(?<=[.!?;\u2026\u3002\uff01\uff1f\u0964\u06d4\u061f\u1362])\s+|\n\s*\n")
#: CJK full stops end a sentence without a following space.
CJK_END = re.compile(r"(?<=[\u3002\uff01\uff1f])")
#: Longer sentences are cut at the last comma or space before this many characters.
MAX_SENTENCE_CHARS = 400


def has_words(text: str) -> bool:
    """True when `text` holds a letter or a digit (in any script)."""
    return any(unicodedata.category(char)[0] in "LN" for char in text)


def cut_long(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """A sentence split into pieces of at most `limit` characters, at a comma or space where there is one."""
    pieces = []
    while len(sentence) > limit:
        window = sentence[:limit]
        cut = max(window.rfind(", "), window.rfind("\u3001"), window.rfind(" "))
        cut = cut + 1 if cut > 0 else limit
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence]


def split_sentences(text: str, input_name: str = "text") -> list[str]:
    """Text -> its sentences in order (whitespace folded, pieces without a word dropped); PortraitInputError naming
    `input_name` when the text is empty or holds no word."""
    if not text.strip():
        raise PortraitInputError(input_name, "the text is empty", "type the text the portrait should say")
    if not has_words(text):
        raise PortraitInputError(input_name, "the text holds only punctuation or symbols, nothing to say",
                                 "type words (letters or digits) for the portrait to say")
    sentences = []
    for part in SENTENCE_END.split(text):
        for piece in CJK_END.split(part):
            folded = " ".join(piece.split())
            if has_words(folded):
                sentences.extend(cut_long(folded))
    return sentences
