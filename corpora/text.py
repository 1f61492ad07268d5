"""Text helpers the adapters share: token offsets in space-joined text, and sentence splitting.

Tokenised sources become records whose text is their tokens joined by single spaces, so a token
span ``[start, end)`` maps to exact character offsets with :func:`char_offsets` and :func:`token_span`
(:func:`entities_from_tokens` does it for a list of typed spans). Untokenised documents that are too
long for one record are cut into sentences with :func:`sentence_spans`.

This module is not an adapter (it lives outside ``corpora/adapters/``, which registers every module it
holds).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pipeline.records import Entity


def char_offsets(tokens: list[str]) -> list[int]:
    """Start of each token in ``" ".join(tokens)``, then one past the text's end.

    The sentinel makes ``offsets[end] - 1`` the end of token ``end - 1`` for any span ``[start, end)``.
    """
    offsets, pos = [], 0
    for token in tokens:
        offsets.append(pos)
        pos += len(token) + 1
    offsets.append(pos)
    return offsets


def token_span(tokens: list[str], offsets: list[int], start: int, end: int) -> tuple[str, int, int]:
    """Text and character span of tokens ``[start, end)`` in the space-joined text.

    ``offsets`` is :func:`char_offsets` of ``tokens``, computed once per text by the caller.
    """
    if not 0 <= start < end <= len(tokens):
        raise ValueError(f"token span [{start}, {end}) is outside the {len(tokens)} tokens")
    return " ".join(tokens[start:end]), offsets[start], offsets[end] - 1


def entities_from_tokens(
    tokens: list[str], spans: Iterable[tuple[int, int, str]], readable: Callable[[str], str]
) -> tuple[str, tuple[Entity, ...]]:
    """Space-joined text and the entities of token ``spans`` ``(start, end, raw type)`` in it."""
    offsets = char_offsets(tokens)
    entities = []
    for start, end, label in spans:
        text, char_start, char_end = token_span(tokens, offsets, start, end)
        entities.append(Entity(text=text, type=readable(label), start=char_start, end=char_end))
    return " ".join(tokens), tuple(entities)


# Words that end with a full stop without ending the sentence (checked lowercase, without the stop).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr inc corp co ltd no vs etc gov sen rep gen col lt sgt capt "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.g i.e a.m p.m".split()
)
# Sentence-final punctuation (with closing quotes/brackets) then whitespace and a capital, digit or
# opening quote; or a line break.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n\s*")
_LAST_WORD = re.compile(r"[\w.]*$")


def sentence_spans(text: str, protected: Iterable[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """``[start, end)`` of each sentence of ``text``, whitespace-trimmed, empty ones left out.

    A simple rule-based splitter: a sentence ends at ``.``, ``!`` or ``?`` followed by whitespace
    and a capitalised word (unless the stop ends a known abbreviation or a single-capital initial),
    or at a line break. No cut is made strictly inside a ``protected`` span (an annotated mention),
    so every annotation stays whole inside one sentence.
    """
    protected = list(protected)
    cuts = [0]
    for match in _BOUNDARY.finditer(text):
        if match.group().startswith("."):
            word = _LAST_WORD.search(text, 0, match.start()).group()
            if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        cut = match.end()
        if not any(start < cut < end for start, end in protected):
            cuts.append(cut)
    cuts.append(len(text))
    spans = []
    for start, end in zip(cuts, cuts[1:]):
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            left = start + len(chunk) - len(chunk.lstrip())
            spans.append((left, left + len(stripped)))
    return spans
