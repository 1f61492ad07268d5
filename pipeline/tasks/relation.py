"""Triples between two argument strings: RC (relation of a given pair), RE (end to end) and ERE
(relations between given event mentions). They share items and formats' field names."""

from __future__ import annotations

from pipeline.formats import Field, Item, LabelMap
from pipeline.records import Annotations, EventRelation, Record, Relation, Task
from pipeline.tasks.base import TaskPlugin

_FIELDS = (Field("head"), Field("relation", label=True), Field("tail"))


class RelationTask(TaskPlugin):
    fields = _FIELDS

    def items(self, gold: Annotations) -> list[Item]:
        return [{"head": r.head, "relation": r.type, "tail": r.tail} for r in gold.relations]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(
            relations=tuple(Relation(head=i["head"], type=i["relation"], tail=i["tail"]) for i in items)
        )


    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"relations": tuple(r for r in gold.relations if r.type in keep)})


class RcTask(RelationTask):
    """The entity pair is given; an instruction whose subset left out the gold relation expects "none"."""

    task = Task.RC

    def given_fields(self, record: Record, labels: LabelMap | None) -> dict[str, str]:
        head, tail = record.given.entities[:2]
        return {"head": head.text, "tail": tail.text}


class ReTask(RelationTask):
    task = Task.RE


class EreTask(TaskPlugin):
    task = Task.ERE
    fields = _FIELDS

    def items(self, gold: Annotations) -> list[Item]:
        return [{"head": r.head, "relation": r.type, "tail": r.tail} for r in gold.event_relations]

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"event_relations": tuple(r for r in gold.event_relations if r.type in keep)})

    def given_fields(self, record: Record, labels: LabelMap | None) -> dict[str, str]:
        head, tail = record.given.events[:2]
        return {"head_event": head.trigger, "tail_event": tail.trigger}

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(
            event_relations=tuple(
                EventRelation(head=i["head"], type=i["relation"], tail=i["tail"]) for i in items
            )
        )
