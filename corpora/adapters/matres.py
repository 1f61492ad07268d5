"""MATRES temporal relations between event pairs, joined with their TempEval-3 TimeML texts.

A MATRES file (``timebank.txt``, ``aquaint.txt``, ``platinum.txt``) has one pair per line:
``docid<TAB>word1<TAB>word2<TAB>eiid1<TAB>eiid2<TAB>relation`` with relation BEFORE, AFTER, EQUAL or
VAGUE. The text of ``docid`` is ``<docid>.tml``, looked up in ``options.text_dirs`` (folders relative
to the MATRES file, searched in order). An eiid is the number of a ``<MAKEINSTANCE eiid="ei123"
eventID="e45">``; its ``<EVENT eid="e45">`` inside ``<TEXT>`` gives the mention. The plain text is
``<TEXT>`` with its markup removed.

A record is one pair: ``text`` is the sentence(s) from the one holding the earlier event to the one
holding the later (sentences from :func:`corpora.text.sentence_spans`: a full stop, ``!`` or ``?``
before a capitalised word, or a line break), ``given.events`` the two mentions in MATRES order
(eiid1 first) with type ``event`` (MATRES has no event types), and ``gold.event_relations``
one relation ``word1 --type--> word2``. ``<EVENT>`` text padded with spaces (e.g. "  Taking") is
trimmed.

Four rows of ``timebank.txt`` (docid ``WSJ910225-0066``, eiid 0) name an eiid that no MAKEINSTANCE
defines; they are well-formed but cannot be joined, so they are skipped and logged: the train split
has 12,736 records for 12,740 lines. Any other failure (a row without six fields, an unknown label,
a docid without a text, an eventID without an ``<EVENT>``, a word that differs from the mention) is
a :class:`DataError`.
"""

from __future__ import annotations

import bisect
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpora.base import DataError, adapter, located, read_lines
from corpora.registry import DatasetSpec
from corpora.text import sentence_spans
from pipeline.records import Annotations, Event, EventRelation, Record

log = logging.getLogger(__name__)

EVENT_TYPE = "event"


@dataclass
class _TimeML:
    text: str
    events: dict[str, tuple[int, int]]  # eid -> character span in text
    instances: dict[int, str]  # eiid number -> eid
    sentences: list[tuple[int, int]] = field(init=False)
    _starts: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sentences = sentence_spans(self.text, protected=self.events.values())
        self._starts = [start for start, _ in self.sentences]

    def sentence(self, offset: int) -> tuple[int, int]:
        """The sentence span holding character ``offset``."""
        return self.sentences[bisect.bisect_right(self._starts, offset) - 1]


def _read_timeml(path: Path) -> _TimeML:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataError(path, exc.position[0], f"invalid TimeML: {exc}") from None
    except OSError as exc:
        raise DataError(path, 0, f"cannot read: {exc}") from None
    body = root.find("TEXT")
    if body is None:
        raise DataError(path, 0, "no <TEXT> element")
    parts: list[str] = []
    tagged: dict[str, tuple[int, int]] = {}
    length = 0

    def walk(element: ET.Element) -> None:
        nonlocal length
        parts.append(element.text or "")
        length += len(element.text or "")
        for child in element:
            start = length
            walk(child)
            if child.tag == "EVENT":
                tagged[child.get("eid")] = (start, length)
            parts.append(child.tail or "")
            length += len(child.tail or "")

    walk(body)
    text = "".join(parts)
    events = {}
    for eid, (start, end) in tagged.items():
        # trim padding inside the tag ("  Taking") so the mention is the bare word
        surface = text[start:end]
        lead = len(surface) - len(surface.lstrip())
        events[eid] = (start + lead, start + len(surface.rstrip()))
    instances = {}
    for instance in root.iter("MAKEINSTANCE"):
        eiid = instance.get("eiid", "")
        if not eiid.startswith("ei") or not eiid[2:].isdigit():
            raise DataError(path, 0, f"bad MAKEINSTANCE eiid {eiid!r}")
        instances[int(eiid[2:])] = instance.get("eventID")
    return _TimeML(text=text, events=events, instances=instances)


class _Texts:
    """TimeML documents by docid, read once, from the folders named in the options."""

    def __init__(self, base: Path, folders: list[str]):
        self.folders = [base / folder for folder in folders]
        self.docs: dict[str, _TimeML] = {}

    def get(self, docid: str) -> _TimeML:
        if docid not in self.docs:
            candidates = [folder / f"{docid}.tml" for folder in self.folders]
            found = next((p for p in candidates if p.is_file()), None)
            if found is None:
                raise ValueError(f"no TimeML text {docid}.tml in {', '.join(map(str, self.folders))}")
            self.docs[docid] = _read_timeml(found)
        return self.docs[docid]


def _mention(doc: _TimeML, eiid: int, word: str) -> tuple[int, int]:
    eid = doc.instances[eiid]
    if eid not in doc.events:
        raise ValueError(f"eiid {eiid} points to {eid!r}, which is not an <EVENT> in <TEXT>")
    start, end = doc.events[eid]
    if doc.text[start:end] != word:
        raise ValueError(f"eiid {eiid} is {doc.text[start:end]!r} in the text, not {word!r}")
    return start, end


@adapter("matres")
def read_matres(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = skipped = 0
    for path in paths:
        texts = _Texts(path.parent, spec.options["text_dirs"])
        for line_no, line in read_lines(path):
            if not line.strip():
                continue
            with located(path, line_no):
                fields = line.split("\t")
                if len(fields) != 6:
                    raise ValueError(f"expected 6 tab-separated fields, got {len(fields)}")
                docid, word1, word2, eiid1, eiid2, raw_label = fields
                relation = spec.readable(raw_label)
                eiids = int(eiid1), int(eiid2)
                doc = texts.get(docid)
                if any(eiid not in doc.instances for eiid in eiids):
                    log.info("%s:%d: skipped: eiid not defined in %s", path, line_no, docid)
                    skipped += 1
                    continue
                spans = [_mention(doc, eiid, word) for eiid, word in zip(eiids, (word1, word2))]
                first = doc.sentence(min(s for s, _ in spans))[0]
                last = doc.sentence(max(s for s, _ in spans))[1]
                events = tuple(
                    Event(trigger=word, type=EVENT_TYPE, start=s - first, end=e - first)
                    for word, (s, e) in zip((word1, word2), spans)
                )
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=doc.text[first:last],
                    label_set=label_set,
                    given=Annotations(events=events),
                    gold=Annotations(event_relations=(EventRelation(head=word1, type=relation, tail=word2),)),
                )
            index += 1
    if skipped:
        log.info("%s/%s: skipped %d rows whose eiid has no MAKEINSTANCE", spec.name, split, skipped)
