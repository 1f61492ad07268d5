"""CASIE cybersecurity event extraction: the original per-document annotation files.

Each ``annotation/<n>.json`` holds one news article: ``content`` (the text) and
``cyberevent.hopper[].events[]``, where an event has a ``subtype`` (Databreach, Phishing, Ransom,
DiscoverVulnerability, PatchVulnerability), a ``nugget`` (the trigger) and ``argument``s with a
``role.type``; spans carry ``startOffset``/``endOffset`` into ``content``. Hopper (coreference) and
realis information are not used.

A record is one sentence-sized unit, not a document: CASIE articles run to thousands of characters,
too long for one training example. Units come from :func:`corpora.text.sentence_spans`
(punctuation-based, see there), with a safeguard: the document is never cut inside an annotated
nugget or argument, so every span lies whole inside one unit and offsets stay exact (on this corpus
the safeguard never has to act). Units without events are kept as negative examples. An event
belongs to the unit of its nugget; its arguments in other sentences are dropped and logged (749 of
22,700, 3.3%). Repeated (role, span) arguments of an event are kept once. One "train" split reads
all 1,000 files: 15,965 units, 6,035 of them with events (8,484 events).

Offset repair: in 32 files the annotation tool's offsets are shifted by a constant against
``content`` (-1 in 30 files, -2 in ``996.json``, -12 in ``999.json``). A span whose offsets do not
give its text is moved to the nearest occurrence of that text within 16 characters. A span that
still cannot be found is dropped (with its event if it is a nugget) and logged: this happens once,
to the nugget "been leaked." of event E10 in ``464.json``, which runs past the end of ``content``.

Files are single-line JSON, so problems are reported at line 1 (or the JSON decoder's line).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpora.base import adapter, located, read_json
from corpora.registry import DatasetSpec
from corpora.text import sentence_spans
from pipeline.records import Annotations, Argument, Event, Record

log = logging.getLogger(__name__)

_MAX_SHIFT = 16  # the largest misalignment in the corpus is 12 characters

# A located event: (nugget start, nugget text, readable type, [(argument start, text, role)]).
_Located = tuple[int, str, str, list[tuple[int, str, str]]]


def _locate(content: str, span: dict[str, Any]) -> int | None:
    """Start of the span's text at (or nearest to) its annotated offset, or None if absent."""
    text, start = span["text"], span["startOffset"]
    if not isinstance(start, int) or not text:
        raise ValueError(f"bad span {span!r}")
    if content[start : start + len(text)] == text:
        return start
    for shift in range(1, _MAX_SHIFT + 1):
        for candidate in (start - shift, start + shift):
            if candidate >= 0 and content[candidate : candidate + len(text)] == text:
                return candidate
    return None


def _events(doc: dict[str, Any], spec: DatasetSpec, path: Path) -> list[_Located]:
    """Every event whose nugget can be located, with its located arguments."""
    content = doc["content"]
    events = []
    for hopper in doc["cyberevent"].get("hopper", []):
        for event in hopper["events"]:
            event_type = spec.readable(event["subtype"])
            nugget = event["nugget"]
            start = _locate(content, nugget)
            if start is None:
                log.info("%s: dropped event %s: nugget %r not found", path, event["index"], nugget["text"])
                continue
            arguments = []
            for arg in event.get("argument", []):
                role = spec.readable_role(event_type, arg["role"]["type"])
                arg_start = _locate(content, arg)
                if arg_start is None:
                    log.info("%s: dropped argument %s: %r not found", path, arg["index"], arg["text"])
                    continue
                arguments.append((arg_start, arg["text"], role))
            events.append((start, nugget["text"], event_type, arguments))
    return events


def _unit_events(events: list[_Located], unit_start: int, unit_end: int) -> tuple[tuple[Event, ...], int]:
    """Events whose nugget lies in the unit, re-based to it; also the number of arguments dropped."""

    def inside(start: int, text: str) -> bool:
        return unit_start <= start and start + len(text) <= unit_end

    result, dropped = [], 0
    for start, trigger, event_type, arguments in sorted(events, key=lambda e: e[0]):
        if not inside(start, trigger):
            continue
        kept: dict[tuple[str, int, int], Argument] = {}
        for arg_start, text, role in arguments:
            if not inside(arg_start, text):
                dropped += 1
                continue
            s = arg_start - unit_start
            argument = Argument(role=role, text=text, start=s, end=s + len(text))
            kept.setdefault((role, argument.start, argument.end), argument)
        s = start - unit_start
        arguments = tuple(kept.values())
        event = Event(trigger=trigger, type=event_type, start=s, end=s + len(trigger), arguments=arguments)
        result.append(event)
    return tuple(result), dropped


@adapter("casie")
def read_casie(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = dropped = 0
    for path in paths:
        doc = read_json(path)
        with located(path, 1):
            content = doc["content"]
            events = _events(doc, spec, path)
            protected = [(s, s + len(t)) for s, t, _, _ in events]
            protected += [(s, s + len(t)) for *_, arguments in events for s, t, _ in arguments]
            records = []
            for unit_start, unit_end in sentence_spans(content, protected):
                unit_events, unit_dropped = _unit_events(events, unit_start, unit_end)
                dropped += unit_dropped
                records.append(
                    Record(
                        id=f"{spec.name}/{split}/{index + len(records)}",
                        dataset=spec.name,
                        task=spec.task,
                        text=content[unit_start:unit_end],
                        label_set=label_set,
                        gold=Annotations(events=unit_events),
                    )
                )
        yield from records
        index += len(records)
    log.info("%s/%s: dropped %d arguments outside their trigger's sentence", spec.name, split, dropped)
