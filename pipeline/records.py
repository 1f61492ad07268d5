"""The one typed record schema every IE task, adapter, renderer, parser and scorer shares.

A :class:`Record` is one input text with its gold structures and the label set it was annotated
with. What the task *gives* in the input (the entity pair for RC, the trigger and event type for EAE,
the event mentions for ERE, the user's request for on-demand IE) lives in ``given``; what must be
extracted lives in ``gold``. Records are immutable, hashable and round-trip through JSON exactly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator


class Task(StrEnum):
    """IE task families (paper §2.1) plus the non-IE record kinds the registry also serves."""

    NER = "ner"  # named entity recognition
    RC = "rc"  # relation classification between two given entities
    RE = "re"  # end-to-end relation extraction
    ED = "ed"  # event detection (trigger + type)
    EAE = "eae"  # event argument extraction for a given trigger
    EE = "ee"  # end-to-end event extraction
    ERE = "ere"  # event-event relations between given event mentions
    OPENIE = "openie"  # schema-free n-ary tuples
    ONDEMAND = "ondemand"  # on-demand IE: a table the user asks for
    MRE = "mre"  # MRE mix: a text-level label plus label-entity pairs
    GENERAL = "general"  # general instruction/chat data (no structures)
    BENCHMARK = "benchmark"  # general-capability benchmark items (lm-eval)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(_Frozen):
    """Optional character offsets ``[start, end)`` into the record text."""

    start: int | None = None
    end: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end must both be set or both be None")
        if self.start is not None and not 0 <= self.start <= self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")
        return self


class Entity(Span):
    text: str
    type: str


class Relation(_Frozen):
    head: str
    type: str
    tail: str


class Argument(Span):
    role: str
    text: str


class Event(Span):
    """An event mention; ``start``/``end`` locate the trigger."""

    trigger: str
    type: str
    arguments: tuple[Argument, ...] = ()


class EventRelation(_Frozen):
    """A relation between two event mentions, named by their trigger words."""

    head: str
    type: str
    tail: str


class OpenTuple(_Frozen):
    """An OpenIE tuple; ``object`` may be empty, further arguments go to ``extra``."""

    predicate: str
    subject: str
    object: str = ""
    time: str = ""
    location: str = ""
    extra: tuple[str, ...] = ()


class Table(_Frozen):
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()


class Annotations(_Frozen):
    """Structures of a text. A record uses the fields its task needs and leaves the others empty."""

    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    events: tuple[Event, ...] = ()
    event_relations: tuple[EventRelation, ...] = ()
    tuples: tuple[OpenTuple, ...] = ()
    table: Table | None = None
    text_labels: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.entities
            or self.relations
            or self.events
            or self.event_relations
            or self.tuples
            or (self.table is not None and self.table.rows)
            or self.text_labels
        )


class LabelSet(_Frozen):
    """The schema a record was annotated with, in readable names.

    ``labels`` is the task's category set (entity types, relation types, event types, temporal
    relations, ...); ``roles`` maps event types to their argument roles (EE, EAE);
    ``text_labels`` is the text-level label set of MRE mix data.
    """

    labels: tuple[str, ...] = ()
    roles: dict[str, tuple[str, ...]] = {}
    text_labels: tuple[str, ...] = ()

    def __hash__(self) -> int:  # dicts are unhashable; the label tuple identifies a label set well enough
        return hash((self.labels, self.text_labels, tuple(sorted(self.roles))))


class Record(_Frozen):
    """One IE instance: input text, what the task gives, what must be extracted, and its schema."""

    id: str
    dataset: str
    task: Task
    text: str
    tokens: tuple[str, ...] = ()  # whitespace tokens when the source is tokenised (BIO formats)
    label_set: LabelSet = LabelSet()
    given: Annotations = Annotations()
    gold: Annotations = Annotations()
    instruction: str = ""  # the user's request (on-demand IE) or the task word (MRE)

    @model_validator(mode="after")
    def _offsets_match_text(self) -> Self:
        for ann in (self.given, self.gold):
            for span, surface in _spans(ann):
                if span.start is not None and self.text[span.start : span.end] != surface:
                    raise ValueError(
                        f"offsets [{span.start}, {span.end}) give {self.text[span.start:span.end]!r}, "
                        f"not {surface!r}"
                    )
        return self

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, line: str) -> Record:
        return cls.model_validate_json(line)


def _spans(ann: Annotations):
    for e in ann.entities:
        yield e, e.text
    for ev in ann.events:
        yield ev, ev.trigger
        for a in ev.arguments:
            yield a, a.text


class Message(_Frozen):
    role: str
    content: str


class Conversation(_Frozen):
    """General instruction data: a chat in TRL's conversational ``messages`` format."""

    id: str
    dataset: str
    messages: tuple[Message, ...]
    task: Task = Task.GENERAL

    @model_validator(mode="after")
    def _has_assistant_turn(self) -> Self:
        if not self.messages or self.messages[-1].role != "assistant":
            raise ValueError("a conversation must end with an assistant turn")
        return self


class BenchmarkItem(_Frozen):
    """A general-capability item: multiple choice (``choices`` + index ``answer``) or generative."""

    id: str
    dataset: str
    question: str
    choices: tuple[str, ...] = ()
    answer: int | str
    context: str = ""
    task: Task = Task.BENCHMARK

    @model_validator(mode="after")
    def _answer_in_range(self) -> Self:
        if self.choices and not (isinstance(self.answer, int) and 0 <= self.answer < len(self.choices)):
            raise ValueError(f"answer {self.answer!r} is not an index into {len(self.choices)} choices")
        return self
