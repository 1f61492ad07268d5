"""CasRel JSON (NYT and WebNLG as released with CasRel / OneRel: ``*_triples.json``).

A file is a JSON array of ``{"text": ..., "triple_list": [[head, relation, tail], ...]}``; each item
is one record with its triples in ``gold.relations``. Heads and tails are kept exactly as the source
gives them: they carry no offsets, and in a few NYT triples they differ from the sentence by accents
("Medellín" in the triple, "Medellin" in the text), so they are not located in the text. There are
no entity types. The relation inventory of a dataset is its ``rel2id.json``; the registry maps each
relation to a readable name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import adapter, located, read_json_array
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Record, Relation


def _relation(spec: DatasetSpec, triple: list) -> Relation:
    if not isinstance(triple, list) or len(triple) != 3:
        raise ValueError(f"expected a [head, relation, tail] triple, got {triple!r}")
    head, relation, tail = triple
    return Relation(head=head, type=spec.readable(relation), tail=tail)


@adapter("casrel")
def read_casrel(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line, item in read_json_array(path):
            with located(path, line):
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=item["text"],
                    label_set=label_set,
                    gold=Annotations(relations=tuple(_relation(spec, t) for t in item["triple_list"])),
                )
            index += 1
