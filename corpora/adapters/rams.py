"""RAMS 1.0 event argument extraction (original ``*.jsonlines``, one document per line).

A line holds ``sentences`` (lists of tokens), ``evt_triggers`` ``[[start, end, [[type, 1.0]]]]``,
``ent_spans`` and ``gold_evt_links`` ``[[trigger span], [argument span], role]``; spans are inclusive
token offsets over the flattened document. RAMS annotates exactly one trigger per document, so a
record is one document: its text is all tokens joined by single spaces, ``given.events`` is the
trigger with its type and no arguments, ``gold.events`` the same event with its arguments.

Readable names: the event type keeps all its levels, with ``n/a`` and a repeated level left out and
the run-together words split (``conflict.attack.airstrikemissilestrike`` → ``conflict attack
airstrike missile strike``, ``life.die.n/a`` → ``life die``); a role drops its ``evtNNNargNN``
prefix and is looked up in ``options.role_names`` (``evt089arg01victim`` → ``victim``). Both maps
are written out in the registry entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from corpora.base import adapter, located, read_jsonl
from corpora.registry import DatasetSpec
from corpora.text import char_offsets, token_span
from pipeline.records import Annotations, Argument, Event, Record

_ROLE = re.compile(r"evt\d+arg\d+(\w+)")


def _role(raw: str, event_type: str, spec: DatasetSpec) -> str:
    match = _ROLE.fullmatch(raw)
    if match is None:
        raise ValueError(f"role {raw!r} is not of the form evtNNNargNN<role>")
    return spec.readable_role(event_type, match.group(1))


@adapter("rams")
def read_rams(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line_no, doc in read_jsonl(path):
            with located(path, line_no):
                tokens = [token for sentence in doc["sentences"] for token in sentence]
                offsets = char_offsets(tokens)
                if len(doc["evt_triggers"]) != 1:
                    raise ValueError(f"expected one trigger per document, got {len(doc['evt_triggers'])}")
                (t_start, t_end, [[raw_type, _score], *other_types]) = doc["evt_triggers"][0]
                if other_types:
                    raise ValueError("the trigger has more than one event type")
                event_type = spec.readable(raw_type)
                trigger, start, end = token_span(tokens, offsets, t_start, t_end + 1)
                arguments = []
                for trigger_span, (a_start, a_end), raw_role in doc["gold_evt_links"]:
                    if trigger_span != [t_start, t_end]:
                        raise ValueError(f"argument linked to {trigger_span}, not to the trigger")
                    text, a_char, a_char_end = token_span(tokens, offsets, a_start, a_end + 1)
                    role = _role(raw_role, event_type, spec)
                    arguments.append(Argument(role=role, text=text, start=a_char, end=a_char_end))
                given = Event(trigger=trigger, type=event_type, start=start, end=end)
                gold = Event(**given.model_dump(exclude={"arguments"}), arguments=tuple(arguments))
                yield Record(
                    id=f"{spec.name}/{split}/{index}",
                    dataset=spec.name,
                    task=spec.task,
                    text=" ".join(tokens),
                    tokens=tuple(tokens),
                    label_set=label_set,
                    given=Annotations(events=(given,)),
                    gold=Annotations(events=(gold,)),
                )
            index += 1
