"""MAVEN event detection, sentence level (the re-split JSON arrays of rickltt/event_detection).

Each file is a JSON array of ``{id, tokens, events: [{text, start, end, event_type}]}`` with token
offsets (``end`` exclusive) and the 168-type MAVEN schema. A record is one sentence; its text is the
tokens joined by single spaces, so trigger offsets map exactly. Sentences without events are kept
(MAVEN annotates every trigger, so they are true negatives).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import adapter, located, read_json_array
from corpora.registry import DatasetSpec
from corpora.text import char_offsets, token_span
from pipeline.records import Annotations, Event, Record


@adapter("maven_ed")
def read_maven_ed(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line_no, item in read_json_array(path):
            with located(path, line_no):
                tokens = item["tokens"]
                offsets = char_offsets(tokens)
                events = []
                for mention in item["events"]:
                    trigger, start, end = token_span(tokens, offsets, mention["start"], mention["end"])
                    if trigger != mention["text"]:
                        raise ValueError(f"trigger tokens give {trigger!r}, not {mention['text']!r}")
                    event_type = spec.readable(mention["event_type"])
                    events.append(Event(trigger=trigger, type=event_type, start=start, end=end))
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=" ".join(tokens),
                    tokens=tuple(tokens),
                    label_set=label_set,
                    gold=Annotations(events=tuple(sorted(events, key=lambda e: (e.start, e.end)))),
                )
            index += 1
