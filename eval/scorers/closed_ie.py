"""Closed IE scoring: exact-match micro F1 over the task plugins' items, one way for every task.

A model answer is read with the task plugin (``plugin(task).parse(fmt, text, record)``, which never
raises: text that cannot be read gives no structure and so scores zero), the gold answer is
``plugin(task).answer(record)``, and both become items with ``plugin(task).items``. What is compared
per item (the *key*) depends on the task:

=====  ==========================================================================================
NER    (entity, type)
RC     (relation,): the entity pair is given in the input, so only the label is scored; the
       pair's direction is not (our RC records put the direction in head/tail order)
RE     (head, relation, tail)
ED     (trigger, type)
EAE    (argument, role): the trigger and event type are given
EE     two scores: ``ee_trigger`` (trigger, type) and ``ee_argument`` (event type, argument, role)
ERE    (head, relation, tail)
=====  ==========================================================================================

Keys are compared as **sets per record**: an item the model repeats counts once, and so does a
repeated gold item (text-level items cannot tell two mentions apart), as ADELIE's and
UniversalNER/GNER's scorers do. Counts are summed over records (micro F1).

Two versions of every score are reported:

- ``normalised`` (the headline): every string of a key goes through :func:`normalise`: Unicode NFKC,
  lower case, whitespace runs collapsed, punctuation (Unicode category P*, quotes included) stripped
  from both ends, and one leading English article (``a``, ``an``, ``the``) dropped. Inner punctuation
  and inner articles are kept: "Bank of the West" is not "Bank of West". Labels are normalised too
  ("Person" = "person").
- ``strict``: the values exactly as parsed (the parsers only strip surrounding whitespace).

Open IE (CaRB), on-demand IE, GNER's BIO output and MRE have their own scorers in this package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from eval.scorers.prf import Prf
from pipeline.formats import Item, OutputFormat
from pipeline.records import Annotations, Record, Task
from pipeline.tasks import answer_part, plugin

Key = tuple[str, ...]
_ARTICLE = re.compile(r"^(?:a|an|the)\s+")


def normalise(text: str) -> str:
    """The documented normalisation of a compared string (module docstring)."""
    text = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    start, end = 0, len(text)
    while start < end and (_is_punctuation(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (_is_punctuation(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return _ARTICLE.sub("", text[start:end])


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _fields(*names: str) -> Callable[[Item], list[Key]]:
    return lambda item: [tuple(item[name] for name in names)]


def _event_arguments(item: Item) -> list[Key]:
    return [(item["type"], a["argument"], a["role"]) for a in item["arguments"]]


KEYS: dict[Task, dict[str, Callable[[Item], list[Key]]]] = {
    Task.NER: {"ner": _fields("entity", "type")},
    Task.RC: {"rc": _fields("relation")},
    Task.RE: {"re": _fields("head", "relation", "tail")},
    Task.ED: {"ed": _fields("trigger", "type")},
    Task.EAE: {"eae": _fields("argument", "role")},
    Task.EE: {"ee_trigger": _fields("trigger", "type"), "ee_argument": _event_arguments},
    Task.ERE: {"ere": _fields("head", "relation", "tail")},
}
"""Task → score name → the keys one plugin item contributes."""


@dataclass(frozen=True)
class ClosedScores:
    """Score name → counts, normalised (headline) and strict; ``unread`` counts answers that gave no
    structure although their text was not the format's "nothing to extract" answer."""

    normalised: dict[str, Prf] = field(default_factory=dict)
    strict: dict[str, Prf] = field(default_factory=dict)
    records: int = 0
    unread: int = 0

    def __add__(self, other: ClosedScores) -> ClosedScores:
        def merge(a: dict[str, Prf], b: dict[str, Prf]) -> dict[str, Prf]:
            return {name: a.get(name, Prf()) + b.get(name, Prf()) for name in {**a, **b}}

        return ClosedScores(
            merge(self.normalised, other.normalised), merge(self.strict, other.strict),
            self.records + other.records, self.unread + other.unread,
        )

    def as_dict(self) -> dict[str, float]:
        """Flat metrics: ``ner_f1``, ``ner_precision``..., ``ner_strict_f1``..., ``records``, ``unread``."""
        out: dict[str, float] = {"records": self.records, "unread": self.unread}
        for suffix, scores in (("", self.normalised), ("_strict", self.strict)):
            for name, prf in sorted(scores.items()):
                out.update({f"{name}{suffix}_{k}": v for k, v in prf.as_dict().items()})
        return out


def _key_sets(task: Task, ann: Annotations, norm: Callable[[str], str]) -> dict[str, set[Key]]:
    items = plugin(task).items(ann)
    return {
        name: {tuple(norm(v) for v in key) for item in items for key in keys_of(item)}
        for name, keys_of in KEYS[task].items()
    }


def _counts(pred: dict[str, set[Key]], gold: dict[str, set[Key]]) -> dict[str, Prf]:
    return {name: Prf(len(pred[name] & gold[name]), len(pred[name]), len(gold[name])) for name in gold}


def score_record(
    task: Task | str, prediction: str | None, record: Record, fmt: OutputFormat | None = None, symbols: bool = False
) -> ClosedScores:
    """Scores of one model answer (``None`` counts as an empty answer). ``symbols``: the answer names
    labels by the record's ``LABEL_k`` symbols (``plugin.label_map``)."""
    task = Task(task)
    if task not in KEYS:
        raise ValueError(f"{task.value} is not a closed IE task; closed tasks: {', '.join(t.value for t in KEYS)}")
    tp = plugin(task)
    fmt = fmt or tp.eval_format
    text = prediction or ""
    pred = tp.parse(fmt, text, record, tp.label_map(record) if symbols else None)
    gold = tp.answer(record)
    answer = answer_part(text)
    unread = int(not tp.items(pred) and bool(answer.strip()) and not fmt.is_none(answer))
    return ClosedScores(
        normalised=_counts(_key_sets(task, pred, normalise), _key_sets(task, gold, normalise)),
        strict=_counts(_key_sets(task, pred, str), _key_sets(task, gold, str)),
        records=1,
        unread=unread,
    )


def score_closed(
    task: Task | str,
    predictions: Sequence[str | None],
    records: Sequence[Record],
    fmt: OutputFormat | None = None,
    symbols: bool = False,
) -> ClosedScores:
    """Micro P/R/F1 of ``predictions`` (model answers, one per record, in ``fmt``, by default the
    task's evaluation format) against ``records``."""
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    return sum_scores(score_record(task, p, r, fmt, symbols) for p, r in zip(predictions, records))


def sum_scores(scores: Iterable[ClosedScores]) -> ClosedScores:
    total = ClosedScores()
    for score in scores:
        total = total + score
    return total
