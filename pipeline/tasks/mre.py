"""MRE mix (seed 001): a text-level label and word-level label-entity pairs in one answer,
``nature /NER :animal name;pandas:nation;China``. The task word comes from ``record.instruction``.

An answer is one item holding two lists, so the MRE format is a template with nested lists.
"""

from __future__ import annotations

from pipeline.formats import Field, Item
from pipeline.records import Annotations, Entity, Record, Task
from pipeline.tasks.base import TaskPlugin

_TEXT_LABEL = (Field("label", label=True),)
_PAIR = (Field("label", label=True), Field("entity"))


class MreTask(TaskPlugin):
    task = Task.MRE
    fields = (Field("text_labels", items=_TEXT_LABEL), Field("task", required=False), Field("pairs", items=_PAIR))

    def given_fields(self, record: Record, labels) -> dict[str, str]:
        return {"task_word": record.instruction or "NER"}

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"entities": tuple(e for e in gold.entities if e.type in keep)})

    def items(self, gold: Annotations) -> list[Item]:
        if not gold.text_labels and not gold.entities:
            return []
        return [self._item(gold, task_word="")]

    def format_items(self, fmt, record: Record) -> list[Item]:
        if record.gold.is_empty():
            return []
        return [self._item(record.gold, task_word=record.instruction or "NER")]

    @staticmethod
    def _item(gold: Annotations, task_word: str) -> Item:
        return {
            "text_labels": [{"label": label} for label in gold.text_labels],
            "task": task_word,
            "pairs": [{"label": e.type, "entity": e.text} for e in gold.entities],
        }

    def structures(self, items: list[Item], record: Record) -> Annotations:
        if not items:
            return Annotations()
        item = items[0]
        return Annotations(
            text_labels=tuple(t["label"] for t in item["text_labels"]),
            entities=tuple(Entity(text=p["entity"], type=p["label"]) for p in item["pairs"]),
        )
