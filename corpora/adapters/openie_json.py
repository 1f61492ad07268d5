"""JSON OpenIE gold sets: Re-OIE2016 and WiRe57. One record per sentence with all its gold tuples.

- Re-OIE2016 (``Re-OIE2016.json``): ``{sentence: [extraction]}``, each extraction with ``arg0``,
  ``pred``, ``arg1``..``arg3``, ``loc``, ``temp``, ``context`` strings (plus token indexes, not used:
  predicates may be discontinuous). ``arg0`` is the subject, ``arg1`` the object (kept in place even
  when empty and ``arg2`` is not), non-empty ``arg2``/``arg3`` go to ``extra``; ``temp``/``loc`` fill
  time/location; a context clause goes to ``extra`` as ``C: <text>``, the CaRB convention of
  :mod:`corpora.adapters.openie`.
- WiRe57 (``WiRe57_343-manual-oie.json``): ``{document: [{id, sent, tokens, tuples}]}``, each tuple with
  ``arg1``, ``rel``, ``arg2`` and a list ``arg3+``, every part carrying ``text`` (inferred words in
  ``[brackets]``) and ``words`` (the same words without brackets). Tuple fields are the space-joined
  ``words``, which is what the WiRe57 scorer compares. The ``attrib/spec?`` flag (21 tuples marked as
  attribution/specification) has no OpenTuple field and is not kept. Malformed items are reported at
  the line of their document (the whole document is one JSON value).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpora.adapters.openie import clean, openie_record
from corpora.base import adapter, located, read_json_object
from corpora.registry import DatasetSpec
from pipeline.records import OpenTuple, Record


def re_oie_tuple(extraction: dict[str, Any]) -> OpenTuple:
    context = clean(extraction["context"])
    extra = [clean(extraction[key]) for key in ("arg2", "arg3") if clean(extraction[key])]
    return OpenTuple(
        predicate=clean(extraction["pred"]),
        subject=clean(extraction["arg0"]),
        object=clean(extraction["arg1"]),
        time=clean(extraction["temp"]),
        location=clean(extraction["loc"]),
        extra=(*extra, f"C: {context}") if context else tuple(extra),
    )


@adapter("re_oie2016")
def read_re_oie2016(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for line_no, sentence, extractions in read_json_object(path):
            with located(path, line_no):
                if not isinstance(extractions, list):
                    raise ValueError("a sentence must map to a list of extractions")
                tuples = [re_oie_tuple(e) for e in extractions]
                # Two gold extractions have no predicate (one is empty, test/397): such a tuple
                # states no relation, so it is left out rather than scored as a target.
                record = openie_record(spec, split, index, sentence, (t for t in tuples if t.predicate))
            yield record
            index += 1


def _words(part: dict[str, Any]) -> str:
    words = part["words"]
    if not isinstance(words, list):
        raise ValueError(f"'words' must be a list, got {words!r}")
    return clean(" ".join(words))


def wire57_tuple(item: dict[str, Any]) -> OpenTuple:
    return OpenTuple(
        predicate=_words(item["rel"]),
        subject=_words(item["arg1"]),
        object=_words(item["arg2"]),
        extra=tuple(_words(arg) for arg in item["arg3+"]),
    )


@adapter("wire57")
def read_wire57(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for line_no, _document, sentences in read_json_object(path):
            with located(path, line_no):
                records = [
                    openie_record(spec, split, index + i, s["sent"], (wire57_tuple(t) for t in s["tuples"]))
                    for i, s in enumerate(sentences)
                ]
            yield from records
            index += len(records)
