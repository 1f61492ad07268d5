"""WikiEvents (original ``*.jsonl``, one document per line), for event detection and argument extraction.

A document has ``tokens``, ``sentences`` (``[[[token, char_start, char_end], ...], sentence_text]``),
``entity_mentions`` (``id``, ``sent_idx``, token ``start``/``end`` exclusive, ``text``) and
``event_mentions`` (``event_type``, ``trigger`` {start, end, text, sent_idx}, ``arguments`` naming
entity ids and a ``role``). Token offsets are over the whole document.

Texts are the tokens joined by single spaces: the character offsets in ``sentences`` do not
line up with the document ``text`` (they drift by one or more characters), the token offsets do.
So an argument's text is its tokens re-joined ("Deir ez - Zor" for the entity text "Deir
ez-Zor"); it is checked against the entity text ignoring spaces.

Two readers:

- ``wikievents_ed``: one record per sentence, ``gold.events`` = the events triggered in it, without
  arguments. Sentences without events are kept.
- ``wikievents_eae``: one record per event mention. The text is the trigger's sentence with
  ``options.window`` sentences of context on each side (default 1); ``given.events`` is the trigger
  with its type, ``gold.events`` the event with its arguments. Arguments outside the window are
  dropped and logged: with window 1, none of the 991 dev+test arguments is (with window 0, 5 would
  be: 0.5%).

Event types keep their levels minus ``Unspecified`` and a repeated level, split into words
(``Conflict.Attack.DetonateExplode`` → ``conflict attack detonate explode``, ``Contact.Contact.Meet``
→ ``contact meet``); roles are split CamelCase via ``options.role_names``. The ontology is
``meta.json``; the data also uses three roles it does not list (``Regulator`` of
DemonstrateWithViolence; ``Place`` and ``Position`` of StartPosition), declared in the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from corpora.base import adapter, located, read_jsonl
from corpora.registry import DatasetSpec
from corpora.text import char_offsets, token_span
from pipeline.records import Annotations, Argument, Event, Record

log = logging.getLogger(__name__)


def _sentence_bounds(doc: dict[str, Any]) -> list[tuple[int, int]]:
    """Token range ``[start, end)`` of each sentence, checked against the document tokens."""
    bounds, pos = [], 0
    for sentence_tokens, _text in doc["sentences"]:
        words = [token for token, _start, _end in sentence_tokens]
        if words != doc["tokens"][pos : pos + len(words)]:
            raise ValueError(f"sentence {len(bounds)} does not match the document tokens at {pos}")
        bounds.append((pos, pos + len(words)))
        pos += len(words)
    if pos != len(doc["tokens"]):
        raise ValueError(f"sentences cover {pos} of {len(doc['tokens'])} tokens")
    return bounds


def _checked_span(mention: dict[str, Any], bounds: list[tuple[int, int]]) -> tuple[int, int]:
    """A mention's token span, required to lie in its own sentence."""
    first, last = bounds[mention["sent_idx"]]
    start, end = mention["start"], mention["end"]
    if not first <= start < end <= last:
        where = f"mention {mention['text']!r} [{start}, {end})"
        raise ValueError(f"{where} is not in its sentence {mention['sent_idx']}")
    return start, end


class _Window:
    """Tokens ``[first, last)`` of the document as a space-joined text."""

    def __init__(self, tokens: list[str], first: int, last: int):
        self.first, self.last = first, last
        self.tokens = tokens[first:last]
        self.text = " ".join(self.tokens)
        self._offsets = char_offsets(self.tokens)

    def contains(self, start: int, end: int) -> bool:
        return self.first <= start and end <= self.last

    def span(self, start: int, end: int, surface: str) -> tuple[str, int, int]:
        first = self.first  # spans are document token offsets; the window's tokens start at `first`
        text, char_start, char_end = token_span(self.tokens, self._offsets, start - first, end - first)
        if text.replace(" ", "") != surface.replace(" ", ""):
            raise ValueError(f"tokens [{start}, {end}) give {text!r}, not {surface!r}")
        return text, char_start, char_end

    def trigger(self, mention: dict[str, Any], event_type: str, arguments: Iterable[Argument] = ()) -> Event:
        trigger = mention["trigger"]
        text, start, end = self.span(trigger["start"], trigger["end"], trigger["text"])
        return Event(trigger=text, type=event_type, start=start, end=end, arguments=tuple(arguments))

    def record(
        self, spec: DatasetSpec, id_: str, given: Iterable[Event] = (), gold: Iterable[Event] = ()
    ) -> Record:
        return Record(
            id=id_,
            dataset=spec.name,
            task=spec.task,
            text=self.text,
            tokens=tuple(self.tokens),
            label_set=spec.label_set,
            given=Annotations(events=tuple(given)),
            gold=Annotations(events=tuple(gold)),
        )


@adapter("wikievents_ed")
def read_wikievents_ed(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    index = 0
    for path in paths:
        for line_no, doc in read_jsonl(path):
            with located(path, line_no):
                bounds = _sentence_bounds(doc)
                by_sentence: dict[int, list[dict[str, Any]]] = {}
                for mention in doc["event_mentions"]:
                    _checked_span(mention["trigger"], bounds)
                    by_sentence.setdefault(mention["trigger"]["sent_idx"], []).append(mention)
                records = []
                for number, (first, last) in enumerate(bounds):
                    window = _Window(doc["tokens"], first, last)
                    mentions = by_sentence.get(number, [])
                    events = [window.trigger(m, spec.readable(m["event_type"])) for m in mentions]
                    events.sort(key=lambda e: (e.start, e.end))
                    records.append(window.record(spec, f"{spec.name}/{split}/{index + number}", gold=events))
            yield from records
            index += len(records)


@adapter("wikievents_eae")
def read_wikievents_eae(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    size = spec.options.get("window", 1)
    index = dropped = total = 0
    for path in paths:
        for line_no, doc in read_jsonl(path):
            with located(path, line_no):
                bounds = _sentence_bounds(doc)
                entities = {entity["id"]: entity for entity in doc["entity_mentions"]}
                records = []
                for mention in doc["event_mentions"]:
                    event_type = spec.readable(mention["event_type"])
                    sentence = mention["trigger"]["sent_idx"]
                    _checked_span(mention["trigger"], bounds)
                    window = _Window(
                        doc["tokens"],
                        bounds[max(0, sentence - size)][0],
                        bounds[min(len(bounds) - 1, sentence + size)][1],
                    )
                    arguments = []
                    for arg in mention["arguments"]:
                        total += 1
                        role = spec.readable_role(event_type, arg["role"])
                        entity = entities[arg["entity_id"]]
                        start, end = _checked_span(entity, bounds)
                        if not window.contains(start, end):
                            dropped += 1
                            continue
                        text, char_start, char_end = window.span(start, end, arg["text"])
                        arguments.append(Argument(role=role, text=text, start=char_start, end=char_end))
                    records.append(
                        window.record(
                            spec,
                            f"{spec.name}/{split}/{index + len(records)}",
                            given=[window.trigger(mention, event_type)],
                            gold=[window.trigger(mention, event_type, arguments)],
                        )
                    )
            yield from records
            index += len(records)
    log.info(
        "%s/%s: dropped %d of %d arguments outside a window of %d sentence(s) each side",
        spec.name, split, dropped, total, size,
    )
