"""NER: entities with types. Also GNER's token-by-token BIO format for tokenised records."""

from __future__ import annotations

from pipeline.formats import BioFormat, Field, Item, OutputFormat, canonical_value
from pipeline.formats.bio import TOKEN_FIELDS, spans_to_tags, tags_to_spans
from pipeline.records import Annotations, Entity, Record, Task
from pipeline.tasks.base import TaskPlugin


class NerTask(TaskPlugin):
    task = Task.NER
    fields = (Field("entity"), Field("type", label=True))

    def items(self, gold: Annotations) -> list[Item]:
        return [{"entity": e.text, "type": e.type} for e in gold.entities]

    def structures(self, items: list[Item], record: Record) -> Annotations:
        return Annotations(entities=tuple(Entity(text=i["entity"], type=i["type"]) for i in items))

    def restrict(self, gold: Annotations, keep: set[str], record: Record) -> Annotations:
        return gold.model_copy(update={"entities": tuple(e for e in gold.entities if e.type in keep)})

    # GNER's BIO format works on tokens, so it has its own items.
    def fields_for(self, kind: str) -> tuple[Field, ...]:
        return TOKEN_FIELDS if kind == "bio" else self.fields

    def supports(self, kind: str, record: Record) -> bool:
        if kind == "bio":
            return token_spans(record) is not None
        return super().supports(kind, record)

    def format_items(self, fmt: OutputFormat, record: Record) -> list[Item]:
        if not isinstance(fmt, BioFormat):
            return super().format_items(fmt, record)
        spans = token_spans(record)
        if spans is None:
            raise ValueError(f"{record.id}: BIO needs tokens and non-overlapping token-aligned entities")
        tags = spans_to_tags(len(record.tokens), spans)
        return [{"word": w, "tag": t} for w, t in zip(record.tokens, tags)]

    def structures_from_format(self, fmt: OutputFormat, items: list[Item], record: Record) -> Annotations:
        if not isinstance(fmt, BioFormat):
            return super().structures_from_format(fmt, items, record)
        words = [i["word"] for i in items]
        entities = [
            Entity(text=" ".join(words[s:e]), type=label)
            for s, e, label in tags_to_spans([i["tag"] for i in items])
        ]
        return Annotations(entities=tuple(e for e in entities if canonical_value(e.text)))


def token_spans(record: Record) -> list[tuple[int, int, str]] | None:
    """Token spans of the gold entities, or ``None`` when BIO cannot express them (no tokens,
    entities without offsets or not on token boundaries, overlapping entities)."""
    if not record.tokens or " ".join(record.tokens) != record.text:
        return None
    starts, ends, pos = {}, {}, 0
    for i, token in enumerate(record.tokens):
        starts[pos], ends[pos + len(token)] = i, i + 1
        pos += len(token) + 1
    spans, taken = [], set()
    for e in sorted(record.gold.entities, key=lambda e: (e.start or 0, e.end or 0)):
        if e.start not in starts or e.end not in ends:
            return None
        s, t = starts[e.start], ends[e.end]
        if taken & set(range(s, t)) or any(" " in tok for tok in record.tokens[s:t]):
            return None
        taken.update(range(s, t))
        spans.append((s, t, e.type))
    return spans
