"""On-demand IE: the table a user asks for. Items are table rows, the header first."""

from __future__ import annotations

from pipeline.formats import Item, canonical_value
from pipeline.formats.table import ROW_FIELDS
from pipeline.records import Annotations, Record, Table, Task
from pipeline.tasks.base import TaskPlugin


class OnDemandTask(TaskPlugin):
    task = Task.ONDEMAND
    fields = ROW_FIELDS

    def schema_labels(self, record: Record) -> list[str]:
        return []  # the user's request is the schema

    def given_fields(self, record: Record, labels) -> dict[str, str]:
        return {"request": record.instruction}

    def items(self, gold: Annotations) -> list[Item]:
        if gold.table is None:
            return []
        return [{"cells": tuple(row)} for row in (gold.table.header, *gold.table.rows)]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        rows = [tuple(" ".join(canonical_value(c).split()) for c in i["cells"]) for i in items]
        if not rows:
            return Annotations()
        width = len(rows[0])
        # Rows are cut or padded to the header's width, as a reader of the table would.
        body = tuple((row + ("",) * width)[:width] for row in rows[1:])
        return Annotations(table=Table(header=rows[0], rows=body))
