"""CoNLL-2012 ``*.gold_conll`` files (OntoNotes 5.0): one record per sentence, NER from column 11.

Each document part opens with ``#begin document (path); part NNN`` and closes with ``#end document``;
inside, sentences are blank-line separated blocks of whitespace-separated rows: document id, part,
word index, word, POS, parse bit, lemma, frameset, sense, speaker, **named entities** (1-based column
11), one column per predicate's arguments, coreference. The NER column marks spans with brackets:
``(GPE)`` is a one-word entity, ``(ORG*`` opens one, ``*)`` closes it and ``*`` is any other word.
OntoNotes named entities do not nest, so a second opening before a close is malformed.

Words are un-escaped to plain text (``-LRB-`` → ``(``, ``/.`` → ``.``, ...): the Penn Treebank codes
mean nothing to a language model, and each word stays one whitespace token, so offsets still hold.
Document boundaries are not kept: ids run over the sentences of a split, as for the BIO formats.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from corpora.text import entities_from_tokens
from pipeline.records import Annotations, Record

INDEX, WORD, NER = 2, 3, 10  # 0-based columns: word index in the sentence, word, entity bracket
MIN_COLUMNS = 12  # up to NER, plus the coreference column every row ends with
Spans = list[tuple[int, int, str]]  # token spans [start, end) with their readable label

# Penn Treebank bracket codes (also found inside words, e.g. ``-LRB-c-RRB-x``) and the escaped
# sentence punctuation of the speech genres, which is a whole word.
_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_ESCAPED_WORDS = {"/.": ".", "/?": "?", "/-": "-"}
_NER_CELL = re.compile(r"\((?P<label>[^()*\s]+)(?P<rest>\)|\*)|(?P<star>\*\)?)")


def unescape(word: str) -> str:
    word = _ESCAPED_WORDS.get(word, word)
    for code, char in _BRACKETS.items():
        word = word.replace(code, char)
    return word


@adapter("gold_conll")
def read_gold_conll(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for tokens, spans, line_no in _sentences(path, spec.readable):
            with located(path, line_no):
                text, entities = entities_from_tokens(tokens, spans, str)  # labels are already readable
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    tokens=tuple(tokens),
                    label_set=spec.label_set,
                    gold=Annotations(entities=entities),
                )
            index += 1


def _sentences(path: Path, readable: Callable[[str], str]) -> Iterator[tuple[list[str], Spans, int]]:
    """``(tokens, token spans with readable labels, first line)`` per sentence; checks the markers."""
    in_document = False
    rows: list[tuple[int, list[str]]] = []
    line_no = 0
    for line_no, line in read_lines(path):
        if line.startswith("#begin document"):
            if in_document:
                raise DataError(path, line_no, "#begin document inside an open document")
            in_document = True
        elif line.startswith("#end document"):
            if not in_document:
                raise DataError(path, line_no, "#end document without #begin document")
            if rows:  # a sentence directly followed by the end marker is still complete
                yield _sentence(path, rows, readable)
                rows = []
            in_document = False
        elif not line.strip():
            if rows:
                yield _sentence(path, rows, readable)
                rows = []
        elif not in_document:
            raise DataError(path, line_no, "token row outside #begin/#end document")
        else:
            rows.append((line_no, line.split()))
    if in_document or rows:
        raise DataError(path, line_no, "file ends inside a document (missing #end document)")


def _sentence(
    path: Path, rows: list[tuple[int, list[str]]], readable: Callable[[str], str]
) -> tuple[list[str], Spans, int]:
    tokens: list[str] = []
    spans: Spans = []
    open_label, open_start, open_line = "", 0, 0
    for position, (line_no, cols) in enumerate(rows):
        if len(cols) < MIN_COLUMNS:
            raise DataError(path, line_no, f"expected at least {MIN_COLUMNS} columns, got {len(cols)}")
        if cols[INDEX] != str(position):
            raise DataError(path, line_no, f"word index {cols[INDEX]} where {position} was expected")
        cell = _NER_CELL.fullmatch(cols[NER])
        if cell is None:
            raise DataError(path, line_no, f"bad named-entity cell {cols[NER]!r}")
        tokens.append(unescape(cols[WORD]))
        if cell["label"]:
            with located(path, line_no):
                label = readable(cell["label"])
            if open_label:
                raise DataError(path, line_no, f"entity opens inside the open {open_label} entity")
            if cell["rest"] == ")":
                spans.append((position, position + 1, label))
            else:
                open_label, open_start, open_line = label, position, line_no
        elif cell["star"] == "*)":
            if not open_label:
                raise DataError(path, line_no, "entity closes but none is open")
            spans.append((open_start, position + 1, open_label))
            open_label = ""
    if open_label:
        raise DataError(path, open_line, f"{open_label} entity is never closed in its sentence")
    return tokens, spans, rows[0][0]
