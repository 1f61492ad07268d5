"""UIE-style unified JSON lines (feili583/UIE ``remove_instruction`` files: CoNLL04, SciERC, CASIE).

One JSON object per line::

    {"id": ..., "schema": {"ent": [...], "rel": [...], "event": {type: [roles]}}, "text": ..., "bg": "",
     "ans": {"ent": [{"type", "text", "span"}],
             "rel": [{"relation", "head": {"text", "span"}, "tail": {"text", "span"}}],
             "event": [{"event_type", "trigger": {"text", "span"}, "args": [{"role", "text", "span"}]}]}}

Each line is one record. Relations go to ``gold.relations`` (head and tail are surface texts); events,
with their arguments, to ``gold.events``. Entities go to ``gold.entities`` for RE only: in the event
files they merely repeat the argument spans and are not part of what EE extracts.

Entity types are mapped by ``options.entity_types`` (raw -> readable) so that the label set stays the
task's relation (or event) types. Argument roles are already readable words in these files; each must be
among the entry's ``roles`` for its event type.

Spans: in this release a span ``[s, e]`` that does not start the text is off by one: it counts from the
space *before* the mention (the token-join offset), so the mention is ``text[s + 1 : e + 1]``; a span
starting at 0 is exact. Every mention is checked against the text after this correction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import adapter, located, read_jsonl
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Argument, Entity, Event, Record, Relation, Task


def char_span(text: str, mention: dict) -> tuple[int, int]:
    """``[start, end)`` of a mention, corrected for the release's space-before offset (see module doc)."""
    start, end = mention["span"]
    if start > 0:
        start, end = start + 1, end + 1
    if text[start:end] != mention["text"]:
        raise ValueError(f"span {mention['span']} does not locate {mention['text']!r} in the text")
    return start, end


def _entity(spec: DatasetSpec, text: str, raw: dict) -> Entity:
    types = spec.options.get("entity_types", {})
    if raw["type"] not in types:
        raise ValueError(f"entity type {raw['type']!r} is not in options.entity_types of {spec.name}")
    start, end = char_span(text, raw)
    return Entity(text=raw["text"], type=types[raw["type"]], start=start, end=end)


def _relation(spec: DatasetSpec, text: str, raw: dict) -> Relation:
    for argument in (raw["head"], raw["tail"]):
        char_span(text, argument)  # validates the mention; relations carry no offsets
    return Relation(head=raw["head"]["text"], type=spec.readable(raw["relation"]), tail=raw["tail"]["text"])


def _event(spec: DatasetSpec, text: str, raw: dict) -> Event:
    event_type = spec.readable(raw["event_type"])
    arguments = []
    for arg in raw["args"]:
        role = spec.readable_role(event_type, arg["role"])  # already readable: no options.role_names
        start, end = char_span(text, arg)
        arguments.append(Argument(role=role, text=arg["text"], start=start, end=end))
    start, end = char_span(text, raw["trigger"])
    return Event(trigger=raw["trigger"]["text"], type=event_type, start=start, end=end, arguments=tuple(arguments))


@adapter("uie_json")
def read_uie_json(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line, item in read_jsonl(path):
            with located(path, line):
                text, ans = item["text"], item["ans"]
                entities = tuple(_entity(spec, text, e) for e in ans["ent"]) if spec.task is Task.RE else ()
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=text,
                    label_set=label_set,
                    gold=Annotations(
                        entities=entities,
                        relations=tuple(_relation(spec, text, r) for r in ans["rel"]),
                        events=tuple(_event(spec, text, e) for e in ans["event"]),
                    ),
                )
            index += 1
