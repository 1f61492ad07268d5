"""SemEval-2010 Task 8 (``TRAIN_FILE.TXT`` / ``TEST_FILE_FULL.TXT``) for relation classification.

Each instance is a block of four lines::

    8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    Message-Topic(e1,e2)
    Comment: ...
    <blank>

The quotes and ``<e1>``/``<e2>`` tags are stripped and the two nominals located in the clean text.
``given.entities`` is (e1, e2) in sentence order, because the direction is part of what the task asks;
``gold.relations`` holds one relation whose head is the first argument of the label's direction
(``Cause-Effect(e2,e1)``: head e2, the cause). ``Other`` has no direction: head e1, tail e2. Entities
have no type (``""``). The registry maps the label *without* its direction to a readable name.

``options.keys`` maps a split to an answer-key file (``id<TAB>label``, labels without direction) beside
the split's file; every instance must have a key that agrees with its label, and every key an instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_blocks, read_lines
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Entity, Record, Relation

_LABEL = re.compile(r"(?P<name>[A-Za-z-]+)(?:\((?P<first>e[12]),(?P<second>e[12])\))?")
_TAG = re.compile(r"(</?e[12]>)")


def _untag(sentence: str) -> tuple[str, dict[str, Entity]]:
    """Clean text and the ``e1``/``e2`` entities located in it."""
    if len(sentence) < 2 or sentence[0] != '"' or sentence[-1] != '"':
        raise ValueError("sentence is not enclosed in double quotes")
    text, starts, entities = "", {}, {}
    for piece in _TAG.split(sentence[1:-1]):
        if not _TAG.fullmatch(piece):
            text += piece
            continue
        name = piece.strip("</>")
        if not piece.startswith("</"):
            if name in starts or starts.keys() - entities.keys():  # repeated, or nested in the other tag
                raise ValueError(f"unexpected {piece}")
            starts[name] = len(text)
        elif name not in starts or name in entities:
            raise ValueError(f"unexpected {piece}")
        else:
            entities[name] = Entity(text=text[starts[name] :], type="", start=starts[name], end=len(text))
    if set(entities) != {"e1", "e2"}:
        raise ValueError("the sentence must mark exactly one <e1> and one <e2>")
    return text, entities


def _read_keys(path: Path) -> dict[str, tuple[int, str]]:
    keys: dict[str, tuple[int, str]] = {}
    for number, line in read_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or fields[0] in keys:
            raise DataError(path, number, f"expected a new 'id<TAB>label' line, got {line!r}")
        keys[fields[0]] = (number, fields[1].strip())
    return keys


def _check_key(keys: dict[str, tuple[int, str]], key_path: Path, sid: str, label: str, where: str) -> None:
    """Consume the key of instance ``sid``; it must exist and name the same relation as ``label``."""
    if sid not in keys:
        raise DataError(key_path, 0, f"no key for id {sid} ({where})")
    key_line, key_label = keys.pop(sid)
    if key_label != label:
        raise DataError(key_path, key_line, f"key {key_label!r} for id {sid} disagrees with label {label!r} at {where}")


@adapter("semeval_rc")
def read_semeval_rc(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        key_name = spec.options.get("keys", {}).get(split)
        key_path = path.parent / key_name if key_name else None
        keys = _read_keys(key_path) if key_path else None
        for line, lines in read_blocks(path):
            with located(path, line):
                if len(lines) != 3 or not lines[2].startswith("Comment:"):
                    raise ValueError("expected 'id<TAB>sentence', a label and a 'Comment:' line")
                sid, sentence = lines[0].split("\t")
                text, entities = _untag(sentence.strip())
            with located(path, line + 1):
                label = _LABEL.fullmatch(lines[1].strip())
                if not label or (label["first"] is None) != (label["name"] == "Other"):
                    raise ValueError(f"bad relation label {lines[1]!r}")
                head, tail = entities[label["first"] or "e1"], entities[label["second"] or "e2"]
                if head is tail:
                    raise ValueError(f"relation label {lines[1]!r} names one entity twice")
                relation = spec.readable(label["name"])
            if keys is not None:
                _check_key(keys, key_path, sid, label["name"], f"{path.name}:{line + 1}")
            with located(path, line):
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    label_set=label_set,
                    given=Annotations(entities=(entities["e1"], entities["e2"])),
                    gold=Annotations(relations=(Relation(head=head.text, type=relation, tail=tail.text),)),
                )
            index += 1
        if keys:
            sid, (key_line, _) = next(iter(keys.items()))
            raise DataError(key_path, key_line, f"key for id {sid} has no instance in {path.name}")
