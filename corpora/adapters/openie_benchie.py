"""BenchIE English gold: fact synsets over 300 sentences. One record per sentence.

Split globs are ``[sample300_en.txt, benchie_gold_annotations_en.txt]`` in that order: the input
sentences, one per line, and the gold file, whose blocks read::

    sent_id:1<TAB>He served as the first Prime Minister of Australia ...
    1--> Cluster 1:
    He --> served as --> [the] [first] Prime Minister [of Australia]
    He --> served --> as [the] [first] Prime Minister [of Australia]
    1--> Cluster 2:
    ...

Each cluster is a fact synset: any one of its triples counts as extracting that fact, and tokens in
``[brackets]`` are optional. The record's gold ``tuples`` are every triple of every synset, with the
brackets dropped and their words kept (the fully spelled-out triple), exact repeats removed. That
flattening suits rendering and lenient matching, NOT BenchIE scoring: the BenchIE scorer matches a
prediction against the synsets (one hit per synset, optional tokens may be left out), so score BenchIE
from the gold file's synsets, not from these tuples.

The gold file has a few harmless slips that are read as meant, as BenchIE's own reader does: one
cluster header without the space (``78-->Cluster 6:``), two headers numbered with another sentence's
id (lines 2331 and 4762: the cluster belongs to the block it is in) and two triples with a stray
``]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpora.adapters.openie import clean, openie_record
from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from pipeline.records import OpenTuple, Record

_SENTENCE = re.compile(r"^sent_id:(\d+)\t(.+)$")
_CLUSTER = re.compile(r"^\d+\s*-->\s*Cluster \d+:$")
_ARROW = " --> "


def benchie_triple(line: str) -> OpenTuple:
    parts = [clean(part.replace("[", " ").replace("]", " ")) for part in line.split(_ARROW)]
    if len(parts) < 3 or not all(parts[:2]):
        raise ValueError(f"expected 'subject --> relation --> object', got {line!r}")
    subject, predicate, obj, *extra = parts
    return OpenTuple(predicate=predicate, subject=subject, object=obj, extra=tuple(extra))


def read_gold(path: Path) -> dict[int, tuple[str, list[OpenTuple]]]:
    """Sentence id -> (sentence, triples of all its synsets)."""
    gold: dict[int, tuple[str, list[OpenTuple]]] = {}
    current = None
    for line_no, line in read_lines(path):
        line = line.strip()
        if not line:
            continue
        if sentence := _SENTENCE.match(line):
            current = int(sentence.group(1))
            if current in gold:
                raise DataError(path, line_no, f"sent_id {current} appears twice")
            gold[current] = (sentence.group(2).strip(), [])
        elif current is None:
            raise DataError(path, line_no, "annotation before the first sent_id line")
        elif _CLUSTER.match(line):
            continue  # synset boundaries are not kept (see the module docstring)
        elif _ARROW in line:
            with located(path, line_no):
                triple = benchie_triple(line)
            triples = gold[current][1]
            if triple not in triples:
                triples.append(triple)
        else:
            raise DataError(path, line_no, f"unexpected line {line[:80]!r}")
    return gold


@adapter("benchie")
def read_benchie(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    if len(paths) != 2:
        raise DataError(paths[0] if paths else Path(spec.name), 0, "BenchIE needs [sentences.txt, gold.txt]")
    sentences_path, gold_path = paths
    gold = read_gold(gold_path)
    count = 0
    for line_no, line in read_lines(sentences_path):
        if not line.strip():
            continue
        count += 1
        if count not in gold:
            raise DataError(sentences_path, line_no, f"no gold annotation for sentence {count}")
        text, triples = gold[count]
        if text != line.strip():
            raise DataError(sentences_path, line_no, f"sentence differs from gold sent_id {count}: {text[:60]!r}")
        yield openie_record(spec, split, count - 1, text, triples)
    if count != len(gold):
        raise DataError(gold_path, 0, f"{len(gold)} annotated sentences but {count} input sentences")
