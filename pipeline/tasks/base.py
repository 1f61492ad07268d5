"""The task plugin interface: one IE task = one small module (items, formats, schema pieces).

A plugin turns a record's gold structures into flat *items* and back, so every format of
:mod:`pipeline.formats` serves every task. Its formats come from ``prompts/formats/<task>.yaml``.
``parse`` accepts any text and never raises: what cannot be read scores zero.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from pathlib import Path

import yaml

from pipeline.formats import Field, Item, LabelMap, OutputFormat, build_format, canonical_value
from pipeline.records import Annotations, Record, Task

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
ANSWER_MARK = "[Answer]:"


class TaskPlugin:
    task: Task
    fields: tuple[Field, ...]

    # -- structures <-> items (each task) ----------------------------------------------------
    def items(self, gold: Annotations) -> list[Item]:
        raise NotImplementedError

    def structures(self, items: list[Item], record: Record) -> Annotations:
        raise NotImplementedError

    # -- the instruction: schema and input --------------------------------------------------
    def schema_labels(self, record: Record) -> list[str]:
        """The categories an instruction lists (and may subset); empty for schema-free tasks."""
        return list(record.label_set.labels)

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        """Gold limited to the categories an instruction kept (schema subset augmentation)."""
        return gold

    def given_fields(self, record: Record, labels: LabelMap | None) -> dict[str, str]:
        """Placeholders of the task's input block: what the task gives besides the text."""
        return {}

    def schema_text(self, kept: list[str], record: Record, labels: LabelMap | None) -> str:
        """The kept categories as the instruction lists them (symbols when ``labels`` is given)."""
        return ", ".join(labels.to_symbol(k) if labels else k for k in kept)

    # -- formats -----------------------------------------------------------------------------
    @cached_property
    def formats(self) -> dict[str, list[OutputFormat]]:
        """Format kind → the concrete formats of this task, from ``prompts/formats/<task>.yaml``."""
        raw = yaml.safe_load((PROMPTS_DIR / "formats" / f"{self.task.value}.yaml").read_text())
        return {
            kind: [build_format(kind, entry, self.fields_for(kind)) for entry in entries]
            for kind, entries in raw["formats"].items()
        }

    @cached_property
    def eval_format(self) -> OutputFormat:
        """The single format of the evaluation prompts (paper Table 9): the first one marked ``eval``."""
        raw = yaml.safe_load((PROMPTS_DIR / "formats" / f"{self.task.value}.yaml").read_text())
        kind, index = raw["eval"]["kind"], raw["eval"]["index"]
        return self.formats[kind][index]

    def fields_for(self, kind: str) -> tuple[Field, ...]:
        return self.fields

    def supports(self, kind: str, record: Record) -> bool:
        """Whether ``record`` can be rendered in this format kind (BIO needs tokens, say)."""
        return kind in self.formats

    def format_items(self, fmt: OutputFormat, record: Record) -> list[Item]:
        """The items a format renders; token formats override this."""
        return self.items(record.gold)

    def structures_from_format(self, fmt: OutputFormat, items: list[Item], record: Record) -> Annotations:
        return self.structures(items, record)

    # -- the public round trip ---------------------------------------------------------------
    def render(self, fmt: OutputFormat, record: Record, labels: LabelMap | None = None) -> str:
        return fmt.render_items(self.format_items(fmt, record), labels)

    def parse(self, fmt: OutputFormat, text: str, record: Record, labels: LabelMap | None = None) -> Annotations:
        """Structures read from model text; unreadable parts are skipped, never an error (the
        property and fuzz tests hold every format to that)."""
        items = fmt.parse_items(answer_part(text), labels)
        return self.structures_from_format(fmt, items, record)

    def answer(self, record: Record) -> Annotations:
        """The gold structures in the canonical form a parser can give back (no offsets, stripped)."""
        return self.structures(canonical_items(self.items(record.gold), self.fields), record)

    # -- comparing ---------------------------------------------------------------------------
    def keys(self, ann: Annotations) -> Counter:
        """Comparable items: a multiset of hashable tuples (scoring itself is eval.scorers')."""
        return Counter(_freeze(item) for item in self.items(ann))

    def label_map(self, record: Record) -> LabelMap:
        """Symbols (``LABEL_k``) for every label of the record's label set, in schema order."""
        ls = record.label_set
        labels = [*ls.labels, *(r for roles in ls.roles.values() for r in roles), *ls.text_labels]
        return LabelMap.symbols(dict.fromkeys(labels))


def answer_part(text: str) -> str:
    """The text after the last ``[Answer]:`` mark (an explanation may come before it)."""
    head, mark, tail = text.rpartition(ANSWER_MARK)
    return tail if mark else text


def canonical_items(items: list[Item], fields: tuple[Field, ...]) -> list[Item]:
    """Items as a parser gives them back: values stripped, items missing a required value dropped."""
    out = []
    for item in items:
        clean: Item = {}
        for f in fields:
            value = item.get(f.name)
            if f.items:
                clean[f.name] = canonical_items(value or [], f.items)
            elif isinstance(value, (list, tuple)):  # an ordered row of values (table cells)
                clean[f.name] = tuple(canonical_value(v) for v in value)
            else:
                clean[f.name] = canonical_value(value)
        if all(clean[f.name] for f in fields if f.required and not f.items):
            out.append(clean)
    return out


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):  # sub-items: a multiset
        return tuple(sorted((_freeze(v) for v in value), key=repr))
    if isinstance(value, tuple):  # an ordered row
        return tuple(_freeze(v) for v in value)
    return canonical_value(value)
