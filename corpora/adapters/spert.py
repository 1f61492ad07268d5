"""SpERT JSON with cross-validation folds (ADE as released with SpERT / PFN).

A file is a JSON array of ``{"tokens": [...], "entities": [{"type", "start", "end"}],
"relations": [{"type", "head", "tail"}], "orig_id": n}``: entity spans are token ranges
``[start, end)`` and relation heads/tails index the entity list. Each item is one record with its
entities (offsets into the space-joined tokens) and relations (entity surface texts) in ``gold``.

ADE has no fixed split but 10 folds: fold *i*'s test part is ``ade_split_i_test.json``, its train part
is the full file minus those ``orig_id`` values. So every split reads the full file (the split's glob) and
``options`` decide membership: ``fold``, ``fold_file`` (a name pattern with ``{fold}``, beside the full
file) and ``fold_split`` (the split that *is* the fold; every other split is its complement). Records
keep the full file's order. ``options.entity_types`` maps raw entity types to readable names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_json_array
from corpora.registry import DatasetSpec
from corpora.text import entities_from_tokens
from pipeline.records import Annotations, Entity, Record, Relation


def _fold_ids(path: Path) -> dict[int, int]:
    """``orig_id`` -> line of each sentence in a fold file."""
    ids: dict[int, int] = {}
    for line, item in read_json_array(path):
        with located(path, line):
            ids[item["orig_id"]] = line
    return ids


def _entities(spec: DatasetSpec, item: dict) -> tuple[str, tuple[Entity, ...]]:
    tokens, types = item["tokens"], spec.options["entity_types"]

    def readable(raw: str) -> str:
        if raw not in types:
            raise ValueError(f"entity type {raw!r} is not in options.entity_types of {spec.name}")
        return types[raw]

    spans = [(entity["start"], entity["end"], entity["type"]) for entity in item["entities"]]
    return entities_from_tokens(tokens, spans, readable)  # checks the spans lie in the tokens


def _relation(spec: DatasetSpec, entities: tuple[Entity, ...], raw: dict) -> Relation:
    head, tail = raw["head"], raw["tail"]
    if not (0 <= head < len(entities) and 0 <= tail < len(entities)):
        raise ValueError(f"relation head/tail {head}/{tail} do not index the {len(entities)} entities")
    return Relation(head=entities[head].text, type=spec.readable(raw["type"]), tail=entities[tail].text)


@adapter("spert")
def read_spert(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    opts = spec.options
    in_fold = split == opts["fold_split"]
    label_set = spec.label_set
    index = 0
    for path in paths:
        fold_path = path.parent / opts["fold_file"].format(fold=opts["fold"])
        fold_ids = _fold_ids(fold_path)
        for line, item in read_json_array(path):
            with located(path, line):
                if (fold_ids.pop(item["orig_id"], None) is not None) != in_fold:
                    continue
                text, entities = _entities(spec, item)
                relations = tuple(_relation(spec, entities, r) for r in item["relations"])
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    tokens=tuple(item["tokens"]),
                    label_set=label_set,
                    gold=Annotations(entities=entities, relations=relations),
                )
            index += 1
        if fold_ids:
            orig_id, line = next(iter(fold_ids.items()))
            raise DataError(fold_path, line, f"orig_id {orig_id} is not in {path.name}")
