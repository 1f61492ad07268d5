"""Markdown tables, the fixed answer format of on-demand IE (InstructIE answers are Markdown tables).

Items are rows, ``{"cells": [...]}``, the first row being the header. A ``|`` inside a cell is written
``\\|``. Parsing reads the first block of ``|``-delimited lines, skips the ``---`` rule and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.formats.base import Field, Item, LabelMap, OutputFormat, canonical_value

ROW_FIELDS = (Field("cells"),)
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass
class MarkdownTableFormat(OutputFormat):
    fields: tuple[Field, ...] = ROW_FIELDS

    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        if not items:
            return self.none
        rows = [[_escape(canonical_value(c)) for c in item["cells"]] for item in items]
        width = max(len(r) for r in rows)
        lines = [_line(rows[0], width), _line(["---"] * width, width)]
        lines += [_line(r, width) for r in rows[1:]]
        return "\n".join(lines)

    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        rows: list[list[str]] = []
        for line in text.split("\n"):
            stripped = line.strip()
            if "|" not in stripped:
                if rows:
                    break  # the first table ends at the first line that is not a row
                continue
            if _RULE.match(stripped):
                continue
            inner = stripped.removeprefix("|")
            inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
            rows.append([canonical_value(c.replace("\\|", "|")) for c in _CELL_SPLIT.split(inner)])
        return [{"cells": row} for row in rows]


def _escape(cell: str) -> str:
    return " ".join(cell.split()).replace("|", "\\|")  # a cell is one line: whitespace runs collapse


def _line(cells: list[str], width: int) -> str:
    cells = cells + [""] * (width - len(cells))
    return "| " + " | ".join(cells) + " |"
