"""General-capability benchmarks as :class:`BenchmarkItem`: multiple choice (``choices`` + 0-based
``answer`` index) or generative (``answer`` is the target string). Held out; run through lm-eval.

Formats:
- ``mmlu_csv``: one CSV per subject (``<subject>_<split>.csv``), header
  ``question,choice0,choice1,choice2,choice3,answer`` with a 0-based answer. Ids keep the subject:
  ``mmlu/test/<subject>/<index>``.
- ``bbh_json``: one file per task, ``{"canary": ..., "examples": [{input, target}]}``; generative. Ids
  keep the task: ``bbh/test/<task>/<index>``. Errors point at the line of ``examples`` (each file is
  one JSON document).
- ``icl_multiple_choice`` (llm-foundry ICL files: ARC, OpenBookQA, SIQA, CommonsenseQA, BoolQ):
  ``{query, choices, gold}``; the query is kept as written (SIQA and CommonsenseQA list their options
  inside it and use letters as ``choices``).
- ``icl_schema`` (llm-foundry WinoGrande): ``{context_options, continuation, gold}``: the context
  options are the ``choices`` and the shared continuation is the ``question`` (the model scores the
  continuation after each option, lm-eval's partial scoring).
- ``hellaswag``: original rowanz rows ``{ctx, endings, label}``; question = ``ctx``.
- ``piqa``: ``dev.jsonl`` ``{goal, sol1, sol2}`` and ``dev-labels.lst`` aligned by line (split globs in
  that order); question = goal, choices = the two solutions. A length mismatch is a DataError.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpora.base import DataError, adapter, located, read_json_object, read_jsonl, read_lines
from corpora.registry import DatasetSpec
from pipeline.records import BenchmarkItem

_MMLU_HEADER = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]


def _index(value: Any) -> int:
    """A 0-based answer index; bool is an int subclass but not an index."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"answer must be an integer index, got {value!r}")
    return int(value)


def _choices(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise TypeError(f"choices must be a non-empty list of strings, got {value!r}")
    return tuple(value)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """CSV rows with the line each starts on (quoted fields may span lines)."""
    reader = csv.reader(line + "\n" for _, line in read_lines(path))
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(path, reader.line_num, f"bad CSV: {exc}") from None


@adapter("mmlu_csv")
def read_mmlu_csv(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    index = 0
    for path in paths:
        subject = path.stem.rsplit("_", 1)[0]
        rows = _csv_rows(path)
        header = next(rows, (1, []))[1]
        if header != _MMLU_HEADER:
            raise DataError(path, 1, f"expected header {','.join(_MMLU_HEADER)}, got {header}")
        for line_no, row in rows:
            if len(row) != len(_MMLU_HEADER):
                raise DataError(path, line_no, f"expected {len(_MMLU_HEADER)} columns, got {len(row)}")
            with located(path, line_no):
                item = BenchmarkItem(
                    id=f"{spec.name}/{split}/{subject}/{index}",
                    dataset=spec.name,
                    question=row[0],
                    choices=tuple(row[1:5]),
                    answer=_index(row[5]),
                )
            yield item
            index += 1


@adapter("bbh_json")
def read_bbh_json(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    index = 0
    for path in paths:
        task = path.stem
        members = {key: (line_no, value) for line_no, key, value in read_json_object(path)}
        if "examples" not in members:
            raise DataError(path, 1, "no 'examples' list")
        line_no, examples = members["examples"]
        with located(path, line_no):
            items = [
                BenchmarkItem(
                    id=f"{spec.name}/{split}/{task}/{index + i}",
                    dataset=spec.name,
                    question=example["input"],
                    answer=example["target"],
                )
                for i, example in enumerate(examples)
            ]
        yield from items
        index += len(items)


def _jsonl_items(spec: DatasetSpec, split: str, paths: list[Path], build) -> Iterator[BenchmarkItem]:
    """Items built by ``build(row) -> (question, choices, answer)`` from JSON-lines files."""
    index = 0
    for path in paths:
        for line_no, row in read_jsonl(path):
            with located(path, line_no):
                question, choices, answer = build(row)
                item = BenchmarkItem(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    question=question,
                    choices=choices,
                    answer=answer,
                )
            yield item
            index += 1


@adapter("icl_multiple_choice")
def read_icl_multiple_choice(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    yield from _jsonl_items(
        spec, split, paths, lambda row: (row["query"], _choices(row["choices"]), _index(row["gold"]))
    )


@adapter("icl_schema")
def read_icl_schema(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    yield from _jsonl_items(
        spec, split, paths, lambda row: (row["continuation"], _choices(row["context_options"]), _index(row["gold"]))
    )


@adapter("hellaswag")
def read_hellaswag(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    yield from _jsonl_items(
        spec, split, paths, lambda row: (row["ctx"], _choices(row["endings"]), _index(row["label"]))
    )


@adapter("piqa")
def read_piqa(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[BenchmarkItem]:
    if len(paths) != 2:
        raise DataError(paths[0] if paths else Path(spec.name), 0, "PIQA needs [questions.jsonl, labels.lst]")
    questions_path, labels_path = paths
    questions = list(read_jsonl(questions_path))
    labels = [(n, line.strip()) for n, line in read_lines(labels_path) if line.strip()]
    if len(questions) != len(labels):
        raise DataError(labels_path, 0, f"{len(labels)} labels for {len(questions)} questions in {questions_path.name}")
    for index, ((line_no, row), (label_line, label)) in enumerate(zip(questions, labels)):
        if label not in ("0", "1"):
            raise DataError(labels_path, label_line, f"label must be 0 or 1, got {label!r}")
        with located(questions_path, line_no):
            item = BenchmarkItem(
                id=f"{spec.name}/{split}/{index}",
                dataset=spec.name,
                question=row["goal"],
                choices=(row["sol1"], row["sol2"]),
                answer=int(label),
            )
        yield item
