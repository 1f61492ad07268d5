"""Triples between two argument strings: RC (relation of a given pair), RE (end to end) and ERE
(relations between given event mentions). They share items and formats' field names."""

from __future__ import annotations

from pipeline.formats import Field, Item
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


class RcTask(RelationTask):
    task = Task.RC


class ReTask(RelationTask):
    task = Task.RE


class EreTask(TaskPlugin):
    task = Task.ERE
    fields = _FIELDS

    def items(self, gold: Annotations) -> list[Item]:
        return [{"head": r.head, "relation": r.type, "tail": r.tail} for r in gold.event_relations]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(
            event_relations=tuple(
                EventRelation(head=i["head"], type=i["relation"], tail=i["tail"]) for i in items
            )
        )
