"""Event tasks: ED (triggers and types), EAE (arguments of a given trigger) and EE (both)."""

from __future__ import annotations

from pipeline.formats import Field, Item
from pipeline.records import Annotations, Argument, Event, Record, Task
from pipeline.tasks.base import TaskPlugin

_ARGUMENT_FIELDS = (Field("argument"), Field("role", label=True))


class EdTask(TaskPlugin):
    task = Task.ED
    fields = (Field("trigger"), Field("type", label=True))

    def items(self, gold: Annotations) -> list[Item]:
        return [{"trigger": e.trigger, "type": e.type} for e in gold.events]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(events=tuple(Event(trigger=i["trigger"], type=i["type"]) for i in items))


class EaeTask(TaskPlugin):
    """Items are the arguments; the trigger and type come from ``record.given``."""

    task = Task.EAE
    fields = _ARGUMENT_FIELDS

    def items(self, gold: Annotations) -> list[Item]:
        return [{"argument": a.text, "role": a.role} for e in gold.events for a in e.arguments]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        if not record.given.events:
            return Annotations()
        given = record.given.events[0]
        arguments = tuple(Argument(role=i["role"], text=i["argument"]) for i in items)
        return Annotations(events=(Event(trigger=given.trigger, type=given.type, arguments=arguments),))


class EeTask(TaskPlugin):
    task = Task.EE
    fields = (Field("trigger"), Field("type", label=True), Field("arguments", items=_ARGUMENT_FIELDS))

    def items(self, gold: Annotations) -> list[Item]:
        return [
            {
                "trigger": e.trigger,
                "type": e.type,
                "arguments": [{"argument": a.text, "role": a.role} for a in e.arguments],
            }
            for e in gold.events
        ]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(
            events=tuple(
                Event(
                    trigger=i["trigger"],
                    type=i["type"],
                    arguments=tuple(Argument(role=a["role"], text=a["argument"]) for a in i["arguments"]),
                )
                for i in items
            )
        )
