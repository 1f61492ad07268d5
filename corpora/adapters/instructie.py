"""On-demand IE (InstructIE, ``ondemand_ie/instructie/test.json``) and the Markdown-table parser.

The file is a JSON array of ``{instruction, text, table, category, difficulty, domain, source,
source_type}``. A record has the user's request as ``instruction``, the source ``text``, and
``gold.table``: the header and rows of the Markdown table in ``table``. A gold answer without a table
is a :class:`DataError`, and so is a gold row whose cell count differs from the header's (the parser
keeps ragged rows as they are so that this can be checked). ``category`` (fixed / open header),
``difficulty`` and ``domain`` have no record field and are not kept.

:func:`parse_markdown_table` also reads model outputs, so it never raises: it finds the first table
in the text (prose and code fences around it are ignored), accepts tables with or without outer
pipes and with or without the ``| --- |`` separator row, and unescapes ``\\|`` inside cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_json_array
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Record, Table

_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(line)]


def _is_separator(cells: list[str]) -> bool:
    return all(_SEPARATOR_CELL.match(cell.replace(" ", "")) for cell in cells)


def parse_markdown_table(text: str) -> Table | None:
    """The first Markdown table in ``text`` as a :class:`Table`, or ``None`` when there is none.

    A table is a run of consecutive lines containing an unescaped ``|``; its first line is the header,
    a separator row right after it is skipped, and every further line is a row (cells as written, so
    a row may be shorter or longer than the header). A header whose cells are all empty is no table.
    """
    if not isinstance(text, str):
        return None
    block: list[list[str]] = []
    for line in text.splitlines():
        if _UNESCAPED_PIPE.search(line):
            block.append(_cells(line))
        elif block:
            break
    if not block or not any(block[0]):
        return None
    header, rows = block[0], block[1:]
    if rows and _is_separator(rows[0]):
        rows = rows[1:]
    return Table(header=tuple(header), rows=tuple(tuple(row) for row in rows))


@adapter("instructie")
def read_instructie(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for line_no, item in read_json_array(path):
            table = parse_markdown_table(item.get("table", "")) if isinstance(item, dict) else None
            if table is None or not table.rows:
                raise DataError(path, line_no, "the gold answer has no Markdown table with rows")
            if any(len(row) != len(table.header) for row in table.rows):
                raise DataError(path, line_no, f"a table row does not have the header's {len(table.header)} cells")
            with located(path, line_no):
                record = Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=item["text"],
                    instruction=item["instruction"],
                    label_set=spec.label_set,
                    gold=Annotations(table=table),
                )
            yield record
            index += 1
