"""Open IE: schema-free tuples (predicate, subject, object, time, location).

Arguments past the second (``OpenTuple.extra``) are folded into ``object`` in answers, as the
paper's formats have one object slot; the CaRB scorer reads the original gold files anyway.
"""

from __future__ import annotations

from pipeline.formats import Field, Item
from pipeline.records import Annotations, OpenTuple, Record, Task
from pipeline.tasks.base import TaskPlugin


class OpenIeTask(TaskPlugin):
    task = Task.OPENIE
    fields = (
        Field("predicate"),
        Field("subject", required=False),  # real gold has subject-less tuples (Re-OIE2016)
        Field("object", required=False),
        Field("time", required=False),
        Field("location", required=False),
    )

    def schema_labels(self, record: Record) -> list[str]:
        return []  # schema-free

    def items(self, gold: Annotations) -> list[Item]:
        return [
            {
                "predicate": t.predicate,
                "subject": t.subject,
                "object": " ".join(a for a in (t.object, *t.extra) if a.strip()),
                "time": t.time,
                "location": t.location,
            }
            for t in gold.tuples
        ]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(tuples=tuple(OpenTuple(**{f.name: i.get(f.name, "") for f in self.fields}) for i in items))
