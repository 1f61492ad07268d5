"""Nested GENIA NER in the ``*.data`` format of feili583/UIE: one record per sentence.

Every sentence takes exactly four lines: the tokens (space separated), their POS tags, the entities
and a blank line (the last one may be missing at the end of the file). The entity line is empty or
``start,end G#type`` items joined by ``|``, token offsets with an exclusive end, e.g.
``6,9 G#protein|13,16 G#protein``. Entities nest and may share a span with another type (GENIA
annotates both), which records allow.

Decisions:
- Tokens are split on any whitespace: a few token lines contain double spaces, and the entity
  offsets count the tokens of a plain ``split()`` (checked against the entity surfaces).
- The POS line is ignored (it is not needed and, in two test sentences without entities, it does not
  even have one tag per token); only its presence is checked, to keep the four-line framing honest.
- An entity listed twice with the same span and type (a dozen times in the data) is kept once;
  entities are ordered by start token, longest first, so nested ones follow their outer span.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from corpora.text import entities_from_tokens
from pipeline.records import Annotations, Entity, Record

_ENTITY = re.compile(r"(\d+),(\d+) G#(\S+)")


@adapter("genia_nested")
def read_genia_nested(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for line_no, token_line, entity_line in _sentences(path):
            with located(path, line_no + 2):
                tokens = token_line.split()
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=" ".join(tokens),  # the text entities_from_tokens computes offsets into
                    tokens=tuple(tokens),
                    label_set=spec.label_set,
                    gold=Annotations(entities=_entities(tokens, entity_line, spec)),
                )
            index += 1


def _sentences(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line of the tokens, token line, entity line)`` for each four-line group."""
    group: list[str] = []
    start = 0
    for line_no, line in read_lines(path):
        if not group:
            start = line_no
        position = len(group)  # 0 tokens, 1 POS, 2 entities, 3 blank separator
        if position in (0, 1) and not line.strip():
            expected = ("token", "POS")[position]
            raise DataError(path, line_no, f"expected the {expected} line, got a blank line")
        if position == 3:
            if line.strip():
                raise DataError(path, line_no, "expected a blank line after the entity line")
            yield start, group[0], group[2]
            group = []
        else:
            group.append(line)
    if len(group) == 3:  # last sentence without its trailing blank line
        yield start, group[0], group[2]
    elif group:
        raise DataError(path, start, "file ends inside a sentence (expected tokens, POS and entity lines)")


def _entities(tokens: list[str], entity_line: str, spec: DatasetSpec) -> tuple[Entity, ...]:
    spans: set[tuple[int, int, str]] = set()
    for item in filter(None, entity_line.split("|")):
        match = _ENTITY.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"bad entity {item!r} (expected 'start,end G#type')")
        spans.add((int(match[1]), int(match[2]), match[3]))
    ordered = sorted(spans, key=lambda span: (span[0], -span[1], span[2]))
    return entities_from_tokens(tokens, ordered, spec.readable)[1]  # checks the spans lie in the tokens
