"""GNER's token-by-token BIO format: every input word followed by its tag, ``EU(B-organization)
rejects(O) German(B-miscellaneous)``; negative ``O`` tokens are written out (GNER's point).

Items are tokens: ``{"word": ..., "tag": ...}`` with tags ``O``, ``B-type`` or ``I-type``; the type
part goes through the label map. Parsing finds every ``(tag)`` and takes the text since the previous
one as its word, as GNER's own parser does, so a model that glues words (``York(I-location).(O)``)
is still read; a word may itself contain a bracketed tag-like part (``f(O)(O)``). Parsing never raises;
aligning predicted words back to the input tokens is the evaluator's job (GNER hierarchical matching).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.formats.base import Field, Item, LabelMap, OutputFormat

_TAG = re.compile(r"\(((?:B|I)-[^()\n]+?|O)\)")

TOKEN_FIELDS = (Field("word"), Field("tag", label=True))


@dataclass
class BioFormat(OutputFormat):
    fields: tuple[Field, ...] = TOKEN_FIELDS

    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        if not items:
            return self.none
        return " ".join(f"{item['word']}({_map_tag(item['tag'], labels, to_symbol=True)})" for item in items)

    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        items: list[Item] = []
        previous_end = last_tag_start = 0
        orphan = ""  # a tag-like bracket that turned out to be a word
        for match in _TAG.finditer(text):
            word = text[previous_end : match.start()].strip()
            tag = _map_tag(match.group(1).strip(), labels, to_symbol=False)
            adjacent = match.start() == previous_end
            if word:
                items.append({"word": word, "tag": tag})
                orphan = ""
            elif adjacent and orphan:  # "(O)(O)": the bracketed word "(O)", then its tag
                items.append({"word": orphan, "tag": tag})
                orphan = ""
            elif adjacent and items:  # "f(O)(O)": the word "f(O)", then its tag
                items[-1] = {"word": items[-1]["word"] + text[last_tag_start:previous_end], "tag": tag}
            else:
                orphan = match.group(0)
            previous_end, last_tag_start = match.end(), match.start()
        return items


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
