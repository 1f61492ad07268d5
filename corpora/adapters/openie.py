"""Line-based OpenIE formats: OIE2016 (``.oie``), CaRB (sentences + gold ``.tsv``) and the OpenIE-4 /
IMoJIE tagged extractions (``<arg1>..</arg1> <rel>..</rel> <arg2>..</arg2>``).

A record is one sentence with all its gold tuples (:class:`OpenTuple`): ``predicate`` is the relation
phrase, ``subject`` the first argument, ``object`` the second, further arguments go to ``extra`` in
file order. Whitespace inside each field is collapsed to single spaces.

Argument markers: CaRB's gold prefixes some arguments with ``T:`` (time), ``L:``
(location) or ``C:`` (context, an attribution clause such as ``C: the sources said``). Time and
location go to their fields without the marker; a context clause has no field of its own, so it is
kept in ``extra`` as ``C: <text>``, after the plain arguments. Marked arguments do not take part in
the subject/object positions. The CaRB scorer reads the gold file itself, where every argument (markers
included) is a plain argument; a scorer working from these records can rebuild that list as
``[subject, object, *extra, "T: " + time, "L: " + location]`` leaving out the empty ones (CaRB's binary
matcher compares the first argument and the bag of words of the rest, so their order does not matter).

Formats:
- OIE2016 ``train.oie``: ``SENTENCE<TAB>PRED_HEAD<TAB>FULL_PRED<TAB>ARG1<TAB>ARG2...``, one line per
  extraction; consecutive lines with the same sentence form one record. Only ``train.oie`` is
  registered: CaRB re-annotates the OIE2016 dev/test sentences, so those files must stay unused.
- CaRB: split globs are ``[sentences.txt, gold.tsv]`` in that order. Records follow the ``.txt`` order;
  the gold file is ``SENTENCE<TAB>RELATION<TAB>ARG1<TAB>ARG2...`` (fields are stripped, as CaRB's own
  gold reader does). A sentence without gold tuples gets an empty tuple list (CaRB does not score it).
  An empty trailing field (no second argument) leaves ``object`` empty; CaRB also has a few tuples
  with an empty relation, kept as they are.
- OpenIE-4 (``small_allen.tsv``): ``SENTENCE<TAB>TAGGED<TAB>CONFIDENCE``; consecutive lines with the same
  sentence form one record; the confidence is checked to be a number but not kept (gold tuples carry
  none). The copy in the data root has no ``<arg3>`` and no ``T:``/``L:`` markers (checked); both would
  be read, the markers by the same rule as CaRB's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, OpenTuple, Record

_MARKER = re.compile(r"^([TLC]):\s*(.*)$", re.DOTALL)


def clean(text: str) -> str:
    """Collapse runs of whitespace and strip: the files mix double spaces and padded fields."""
    return " ".join(text.split())


def open_tuple(predicate: str, args: Iterable[str]) -> OpenTuple:
    """A tuple from a relation and its arguments in file order, moving ``T:``/``L:``/``C:`` markers out."""
    plain: list[str] = []
    context: list[str] = []
    time = location = ""
    for raw in args:
        arg = clean(raw)
        marked = _MARKER.match(arg)
        if marked is None:
            plain.append(arg)
            continue
        kind, value = marked.groups()
        if kind == "T":
            if time:
                raise ValueError(f"two time arguments: {time!r} and {value!r}")
            time = value
        elif kind == "L":
            if location:
                raise ValueError(f"two location arguments: {location!r} and {value!r}")
            location = value
        else:
            context.append(f"C: {value}")
    # An empty trailing field (no second argument) is not an argument.
    while len(plain) > 2 and not plain[-1]:
        plain.pop()
    return OpenTuple(
        predicate=clean(predicate),
        subject=plain[0] if plain else "",
        object=plain[1] if len(plain) > 1 else "",
        time=time,
        location=location,
        extra=(*plain[2:], *context),
    )


def openie_record(spec: DatasetSpec, split: str, index: int, text: str, tuples: Iterable[OpenTuple]) -> Record:
    return Record(
        id=f"{spec.name}/{split}/{index}",
        dataset=spec.name,
        task=spec.task,
        text=text,
        label_set=spec.label_set,
        gold=Annotations(tuples=tuple(tuples)),
    )


def _tab_fields(path: Path, min_fields: int) -> Iterator[tuple[int, list[str]]]:
    for line_no, line in read_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < min_fields or not fields[0].strip():
            raise DataError(path, line_no, f"expected at least {min_fields} tab-separated fields, got {line!r}")
        yield line_no, fields


def _grouped(rows: Iterable[tuple[str, OpenTuple]]) -> Iterator[tuple[str, list[OpenTuple]]]:
    """Consecutive ``(sentence, tuple)`` rows with the same sentence as one (sentence, tuples) group."""
    sentence, tuples = None, []
    for text, tup in rows:
        if text != sentence:
            if sentence is not None:
                yield sentence, tuples
            sentence, tuples = text, []
        tuples.append(tup)
    if sentence is not None:
        yield sentence, tuples


@adapter("oie2016")
def read_oie2016(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    def rows():
        for path in paths:
            for line_no, fields in _tab_fields(path, 4):
                with located(path, line_no):
                    # fields[1] is the predicate head word; the full predicate is the relation phrase.
                    tup = open_tuple(fields[2], fields[3:])
                yield fields[0].strip(), tup

    for index, (sentence, tuples) in enumerate(_grouped(rows())):
        yield openie_record(spec, split, index, sentence, tuples)


@adapter("carb")
def read_carb(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    if len(paths) != 2:
        raise DataError(paths[0] if paths else Path(spec.name), 0, "CaRB needs [sentences.txt, gold.tsv]")
    sentences_path, gold_path = paths
    gold: dict[str, list[OpenTuple]] = {}  # sentence -> tuples, in the order of the sentence file
    for line_no, line in read_lines(sentences_path):
        text = line.strip()
        if not text:
            continue
        if text in gold:
            raise DataError(sentences_path, line_no, "sentence listed twice")
        gold[text] = []
    for line_no, fields in _tab_fields(gold_path, 3):
        text = fields[0].strip()
        if text not in gold:
            raise DataError(gold_path, line_no, f"gold sentence is not in {sentences_path.name}: {text[:80]!r}")
        with located(gold_path, line_no):
            gold[text].append(open_tuple(fields[1], fields[2:]))
    for index, (text, tuples) in enumerate(gold.items()):
        yield openie_record(spec, split, index, text, tuples)


_TAG = re.compile(r"\s*<(arg\d+|rel)>(.*?)</\1>")


def parse_tagged_extraction(tagged: str) -> OpenTuple:
    """``<arg1> A </arg1> <rel> r </rel> <arg2> B </arg2> [<arg3> ..]`` as a tuple."""
    parts: dict[str, str] = {}
    pos = 0
    while pos < len(tagged.rstrip()):
        match = _TAG.match(tagged, pos)
        if match is None:
            raise ValueError(f"unreadable extraction near {tagged[pos:pos + 40]!r}")
        name, value = match.groups()
        if name in parts:
            raise ValueError(f"<{name}> appears twice")
        parts[name] = value
        pos = match.end()
    if "rel" not in parts or "arg1" not in parts:
        raise ValueError("an extraction needs <arg1> and <rel>")
    numbers = sorted(int(name[3:]) for name in parts if name != "rel")
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"argument numbers {numbers} are not 1..n")
    return open_tuple(parts["rel"], [parts[f"arg{n}"] for n in numbers])


@adapter("openie4_tagged")
def read_openie4_tagged(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    def rows():
        for path in paths:
            for line_no, fields in _tab_fields(path, 3):
                if len(fields) != 3:
                    raise DataError(path, line_no, f"expected 3 tab-separated fields, got {len(fields)}")
                with located(path, line_no):
                    float(fields[2])  # a confidence must be a number, even though it is not kept
                    tup = parse_tagged_extraction(fields[1])
                yield fields[0].strip(), tup

    for index, (sentence, tuples) in enumerate(_grouped(rows())):
        yield openie_record(spec, split, index, sentence, tuples)
