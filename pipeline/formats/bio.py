"""GNER's token-by-token BIO format: every input word followed by its tag, ``EU(B-organization)
rejects(O) German(B-miscellaneous)``; negative ``O`` tokens are written out (GNER's point).

Items are tokens: ``{"word": ..., "tag": ...}`` with tags ``O``, ``B-type`` or ``I-type``; the type
part goes through the label map. Parsing finds ``word(tag)`` pairs anywhere in the text (a word may
itself contain brackets) and never raises; aligning predicted words back to the input tokens is the
evaluator's job (GNER hierarchical matching).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.formats.base import Field, Item, LabelMap, OutputFormat

_PAIR = re.compile(r"(?:(?<=\s)|^)(\S*?)\(((?:B|I)-[^()\n]+?|O)\)(?=\s|$)")

TOKEN_FIELDS = (Field("word"), Field("tag", label=True))


@dataclass
class BioFormat(OutputFormat):
    fields: tuple[Field, ...] = TOKEN_FIELDS

    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        if not items:
            return self.none
        return " ".join(f"{item['word']}({_map_tag(item['tag'], labels, to_symbol=True)})" for item in items)

    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        return [
            {"word": word, "tag": _map_tag(tag.strip(), labels, to_symbol=False)}
            for word, tag in _PAIR.findall(text)
        ]


def _map_tag(tag: str, labels: LabelMap | None, to_symbol: bool) -> str:
    if tag == "O" or labels is None:
        return tag
    prefix, _, label = tag.partition("-")
    return f"{prefix}-{labels.to_symbol(label) if to_symbol else labels.to_label(label)}"


def tags_to_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(start, end, type)``; an ``I-`` without a matching open span starts one (lenient,
    as model output is read)."""
    spans, start, current = [], -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == current and current != ""
        if current and not continues:
            spans.append((start, i, current))
            current = ""
        if prefix in ("B", "I") and label and not continues:
            start, current = i, label
    return spans


def spans_to_tags(n_tokens: int, spans) -> list[str]:
    tags = ["O"] * n_tokens
    for start, end, label in spans:
        tags[start] = f"B-{label}"
        for i in range(start + 1, end):
            tags[i] = f"I-{label}"
    return tags
