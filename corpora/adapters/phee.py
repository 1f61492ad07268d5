"""PHEE pharmacovigilance event extraction (JSON lines, one sentence per line).

Each line is ``{id, context, is_mult_event, annotations: [{events: [...]}]}``. An event has
``event_type`` (``Adverse_event`` / ``Potential_therapeutic_event``), a ``Trigger`` and the main
arguments ``Subject``, ``Treatment`` and ``Effect``; Subject and Treatment carry sub-arguments
(``Subject.Age``, ``Treatment.Drug``, ...). Every span is ``{text: [[...]], start: [[...]]}``: the
outer list holds separate mentions, the inner list the fragments of one (discontinuous) mention;
offsets are character starts into ``context``.

Decisions:

- Sub-arguments become roles of their own, named "<main argument> <sub-argument>" (``Subject.Age``
  → ``subject age``, ``Treatment.Drug`` → ``treatment drug``): the prefix keeps ``Subject.Disorder``
  (the patient's condition) apart from ``Treatment.Disorder`` (what the drug was given for). The
  raw → readable role names are the entry's ``options.role_names``.
- Every fragment becomes its own argument with the mention's role (a discontinuous mention has no
  single offset span); identical (role, span) arguments are kept once.
- Event attributes (``Speculated``, ``Negated``, ``Severity``) are not arguments and are left out,
  and so is the nested ``Treatment.Combination`` event: its drugs are already ``treatment drug``
  arguments of the enclosing event.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpora.base import adapter, located, read_jsonl
from corpora.registry import DatasetSpec
from pipeline.records import Annotations, Argument, Event, Record

# Keys of an event (or main argument) that are not argument spans.
_ATTRIBUTES = {"Speculated", "Negated", "Severity"}
_NESTED_EVENTS = {"Combination"}
_SPAN_KEYS = {"text", "start", "entity_id"}


def _fragments(span: dict[str, Any]) -> Iterator[tuple[str, int]]:
    texts, starts = span["text"], span["start"]
    if len(texts) != len(starts):
        raise ValueError(f"{len(texts)} mentions but {len(starts)} start lists")
    for mention_texts, mention_starts in zip(texts, starts):
        if len(mention_texts) != len(mention_starts):
            raise ValueError(f"fragments {mention_texts!r} do not match starts {mention_starts!r}")
        yield from zip(mention_texts, mention_starts)


def _arguments(event: dict[str, Any], event_type: str, spec: DatasetSpec) -> tuple[Argument, ...]:
    found: dict[tuple[str, int, int], Argument] = {}

    def add(raw_role: str, span: dict[str, Any]) -> None:
        role = spec.readable_role(event_type, raw_role)
        for text, start in _fragments(span):
            arg = Argument(role=role, text=text, start=start, end=start + len(text))
            found.setdefault((arg.role, start, arg.end), arg)

    for key, value in event.items():
        if key in ("event_id", "event_type", "Trigger") or key in _ATTRIBUTES:
            continue
        add(key, value)
        for sub_key, sub_value in value.items():
            if sub_key in _SPAN_KEYS or sub_key in _NESTED_EVENTS:
                continue
            add(f"{key}.{sub_key}", sub_value)
    return tuple(found.values())


def _event(event: dict[str, Any], spec: DatasetSpec) -> Event:
    event_type = spec.readable(event["event_type"])
    (trigger, start), *rest = _fragments(event["Trigger"])
    if rest:
        raise ValueError(f"trigger of {event['event_id']} has more than one span")
    arguments = _arguments(event, event_type, spec)
    return Event(trigger=trigger, type=event_type, start=start, end=start + len(trigger), arguments=arguments)


@adapter("phee")
def read_phee(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line_no, item in read_jsonl(path):
            with located(path, line_no):
                context = item["context"]
                events = tuple(
                    _event(event, spec)
                    for annotation in item["annotations"]
                    for event in annotation["events"]
                )
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=context,
                    label_set=label_set,
                    gold=Annotations(events=events),
                )
            index += 1
