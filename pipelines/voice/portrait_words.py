"""Portrait traits -> a text-to-image prompt, through an editable attribute-to-word table (the `style` text).

The table has one line per trait, `trait: words for low | words for middle | words for high` (the trait's 0..1
value picks the third), and one `template:` line whose `{trait}` fields take those words. Blank lines and lines
starting with # are skipped. Traits: the fields of portrait_traits.PortraitTraits.
"""

from __future__ import annotations

import string
from dataclasses import asdict, fields

from ..errors import PortraitInputError
from .portrait_traits import PortraitTraits

DEFAULT_STYLE = """\
# trait: low | middle | high (each trait runs 0..1; its value picks a third)
masculinity: a woman | a person | a man
face_length: a round face | an oval face | a long face with a pronounced chin
liveliness: a calm expression | a friendly expression | a lively, animated expression
age: in their twenties | in their forties | in their sixties, greying hair
hair_shade: blond hair | brown hair | black hair
skin_tone: fair skin | olive skin | dark skin
template: a head-and-shoulders photo portrait of {masculinity} {age}, {face_length}, {skin_tone}, {hair_shade}, \
{liveliness}, looking at the camera, plain background, soft light, sharp focus
"""
TRAITS = tuple(field.name for field in fields(PortraitTraits))


def parse_style(style: str, input_name: str = "style") -> tuple[dict[str, list[str]], str]:
    """The style text -> ({trait: [low, middle, high] words}, template)."""
    table, template = {}, None
    for number, line in enumerate(style.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, colon, words = line.partition(":")
        key = key.strip()
        if not colon or (key != "template" and key not in TRAITS):
            raise PortraitInputError(input_name, f"line {number} ({line[:40]!r}) is not `trait: low | middle | high` "
                                     f"or `template: ...`", f"use one of the traits {', '.join(TRAITS)}")
        if key == "template":
            template = words.strip()
            continue
        choices = [word.strip() for word in words.split("|")]
        if len(choices) != 3:
            raise PortraitInputError(input_name, f"line {number} ({key}) has {len(choices)} choices, not 3",
                                     "write `trait: low words | middle words | high words`")
        table[key] = choices
    if template is None:
        raise PortraitInputError(input_name, "there is no `template:` line", "add one, e.g. `template: a photo of "
                                 "{masculinity}`")
    used = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if used - set(table):
        raise PortraitInputError(input_name, f"the template uses {sorted(used - set(table))}, which no line defines",
                                 "add a line for each {trait} the template uses")
    return table, template


def portrait_prompt(traits: PortraitTraits, style: str = DEFAULT_STYLE) -> str:
    """Traits -> the positive prompt the style's table and template make."""
    table, template = parse_style(style)
    values = asdict(traits)
    words = {key: choices[min(2, int(values[key] * 3))] for key, choices in table.items()}
    return template.format(**words)
