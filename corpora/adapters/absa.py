"""Aspect-based sentiment as sequence labelling: ABSA-PyTorch ``.seg`` files (SemEval-2014 Restaurants).

The file has three lines per aspect instance: the sentence with the aspect term replaced by ``$T$``,
the aspect term, and its polarity (``-1`` / ``0`` / ``1``). Consecutive instances of the same sentence
(the same text once the aspect is put back) form ONE record: ``tokens`` are the restored sentence split
on whitespace, ``text`` their space-joined form, and each aspect instance is an entity typed by its
readable polarity with exact character offsets (two instances of one sentence that overlap are both
kept). A record is therefore a sentence with at least one aspect; the ``.seg`` files hold no
aspect-less sentences. The same sentence recurring later, not adjacent, is a separate record.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Entity, Record

_PLACEHOLDER = "$T$"


def _instances(path: Path, readable) -> Iterator[tuple[int, str, Entity]]:
    """``(line, restored sentence, aspect entity)`` per three-line instance."""
    lines = [(n, line) for n, line in read_lines(path) if line.strip()]
    if len(lines) % 3:
        raise DataError(path, lines[-1][0], f"{len(lines)} non-empty lines is not a multiple of 3")
    for i in range(0, len(lines), 3):
        (line_no, masked), (_, aspect), (_, polarity) = lines[i : i + 3]
        if masked.count(_PLACEHOLDER) != 1:
            raise DataError(path, line_no, f"expected one {_PLACEHOLDER} in {masked!r}")
        prefix, suffix = (" ".join(part.split()) for part in masked.split(_PLACEHOLDER))
        aspect = " ".join(aspect.split())
        if not aspect:
            raise DataError(path, line_no + 1, "empty aspect term")
        # Single spaces around the aspect so that its offsets fall on token boundaries.
        prefix = f"{prefix} " if prefix else ""
        suffix = f" {suffix}" if suffix else ""
        with located(path, line_no + 2):
            entity = Entity(
                text=aspect, type=readable(polarity.strip()), start=len(prefix), end=len(prefix) + len(aspect)
            )
        yield line_no, prefix + aspect + suffix, entity


@adapter("absa_seg")
def read_absa_seg(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        groups: list[tuple[int, str, list[Entity]]] = []
        for line_no, text, entity in _instances(path, spec.readable):
            if groups and groups[-1][1] == text:
                groups[-1][2].append(entity)
            else:
                groups.append((line_no, text, [entity]))
        for line_no, text, entities in groups:
            with located(path, line_no):
                record = Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    tokens=tuple(text.split()),
                    label_set=spec.label_set,
                    gold=Annotations(entities=tuple(entities)),
                )
            yield record
            index += 1
