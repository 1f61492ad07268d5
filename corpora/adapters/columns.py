"""CoNLL-style column files with BIO/IOB tags: CoNLL-2003, WNUT-17, WikiANN, CrossNER, Few-NERD,
BC5CDR, JNLPBA (token first) and MIT Restaurant / Movie (tag first).

Options: ``token_column`` / ``tag_column`` (default 0 / -1), ``token_prefix`` to strip (WikiANN's
``en:``), ``separator`` (default any whitespace). ``-DOCSTART-`` blocks are skipped. Text is the tokens
joined by single spaces, so entity offsets and GNER's token-by-token format agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_blocks
from corpora.registry import DatasetSpec
from corpora.text import entities_from_tokens
from pipeline.records import Annotations, Record


def bio_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token spans ``(start, end, type)`` of BIO/IOB1 tags; a stray ``I-`` opens a new span (IOB1)."""
    spans: list[tuple[int, int, str]] = []
    start, current = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I", "O") or (prefix == "O") != (tag == "O") or (prefix != "O" and not label):
            raise ValueError(f"bad BIO tag {tag!r} at token {i + 1}")
        continues = prefix == "I" and label == current
        if current and not continues:
            spans.append((start, i, current))
            current = ""
        if prefix == "B" or (prefix == "I" and not continues):
            start, current = i, label
    return spans


@adapter("bio_columns")
def read_bio_columns(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    opts = spec.options
    token_col, tag_col = opts.get("token_column", 0), opts.get("tag_column", -1)
    prefix, sep = opts.get("token_prefix", ""), opts.get("separator")
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line_no, lines in read_blocks(path):
            if lines[0].startswith("-DOCSTART-"):
                continue
            tokens, tags = [], []
            for offset, line in enumerate(lines):
                cols = line.split(sep)
                if len(cols) < 2:
                    raise DataError(path, line_no + offset, f"expected token and tag columns, got {line!r}")
                with located(path, line_no + offset):
                    token, tag = cols[token_col], cols[tag_col]
                tokens.append(token.removeprefix(prefix) if prefix else token)
                tags.append(tag)
            with located(path, line_no):
                text, entities = entities_from_tokens(tokens, bio_spans(tags), spec.readable)
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    tokens=tuple(tokens),
                    label_set=label_set,
                    gold=Annotations(entities=entities),
                )
            index += 1
