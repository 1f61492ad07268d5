"""Event tasks: ED (triggers and types), EAE (arguments of a given trigger) and EE (both)."""

from __future__ import annotations

from pipeline.formats import Field, Item, LabelMap
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

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"events": tuple(e for e in gold.events if e.type in keep)})


class EaeTask(TaskPlugin):
    """Items are the arguments; the trigger and type come from ``record.given``."""

    task = Task.EAE
    fields = _ARGUMENT_FIELDS

    def items(self, gold: Annotations) -> list[Item]:
        return [{"argument": a.text, "role": a.role} for e in gold.events for a in e.arguments]

    def schema_labels(self, record: Record) -> list[str]:
        """The roles of the given event's type (its label set's roles), falling back to all roles."""
        if record.given.events:
            roles = record.label_set.roles.get(record.given.events[0].type)
            if roles:
                return list(roles)
        return list(dict.fromkeys(r for roles in record.label_set.roles.values() for r in roles))

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        events = tuple(
            e.model_copy(update={"arguments": tuple(a for a in e.arguments if a.role in keep)}) for e in gold.events
        )
        return gold.model_copy(update={"events": events})

    def given_fields(self, record: Record, labels: LabelMap | None) -> dict[str, str]:
        event = record.given.events[0]
        return {"trigger": event.trigger, "event_type": event.type}

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

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"events": tuple(e for e in gold.events if e.type in keep)})

    def schema_text(self, kept: list[str], record: Record, labels: LabelMap | None) -> str:
        def name(label: str) -> str:
            return labels.to_symbol(label) if labels else label

        return "; ".join(
            f"{name(t)} ({', '.join(name(r) for r in record.label_set.roles.get(t, ()))})" for t in kept
        )

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
