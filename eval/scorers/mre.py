"""MRE mix scoring (seed 001, §5.2 and Appendix E): text-level, word-level and ALL F1.

An answer such as ``nature /NER :animal name;pandas:nation;China`` is read by the ``mre`` task plugin
into text-level labels and (label, entity) pairs; an answer it cannot read gives neither. Per record,
with sets (Appendix E: precision = |Real ∩ Generated| / |Generated|, recall = |Real ∩ Generated| /
|Real|, summed over records):

- **TL** (text level): the set of text-level labels;
- **WL** (word level): the set of (label, entity) pairs;
- **ALL**: the whole answer as one element, (text labels, pair set), so a record counts only when
  both levels are exactly right ("TL and WL are correct simultaneously in one sentence"); a record
  whose answer gives nothing generates no ALL element.

Comparison is exact on the parsed strings (the paper: "any deviation, even a single incorrect
symbol, is considered an error"); pass ``normalise`` (e.g. the closed-IE normalisation) for a
lenient variant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.scorers.prf import Prf
from pipeline.formats import OutputFormat
from pipeline.records import Annotations, Record
from pipeline.tasks import plugin


@dataclass(frozen=True)
class MreScores:
    text_level: Prf = field(default_factory=Prf)
    word_level: Prf = field(default_factory=Prf)
    all: Prf = field(default_factory=Prf)

    def __add__(self, other: MreScores) -> MreScores:
        return MreScores(self.text_level + other.text_level, self.word_level + other.word_level, self.all + other.all)

    def as_dict(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, prf in (("tl", self.text_level), ("wl", self.word_level), ("all", self.all)):
            out |= {f"{name}_{k}": v for k, v in prf.as_dict().items()}
        return out


def _levels(ann: Annotations, norm: Callable[[str], str]) -> tuple[set, set, set]:
    text_labels = frozenset(norm(label) for label in ann.text_labels)
    pairs = frozenset((norm(e.type), norm(e.text)) for e in ann.entities)
    whole = {(text_labels, pairs)} if text_labels or pairs else set()
    return set(text_labels), set(pairs), whole


def _prf(pred: set, gold: set) -> Prf:
    return Prf(len(pred & gold), len(pred), len(gold))


def score_record(
    prediction: str | None, record: Record, fmt: OutputFormat | None = None, normalise: Callable[[str], str] = str
) -> MreScores:
    task = plugin("mre")
    pred = _levels(task.parse(fmt or task.eval_format, prediction or "", record), normalise)
    gold = _levels(task.answer(record), normalise)
    return MreScores(*(_prf(p, g) for p, g in zip(pred, gold)))


def score_mre(
    predictions: Sequence[str | None],
    records: Sequence[Record],
    fmt: OutputFormat | None = None,
    normalise: Callable[[str], str] = str,
) -> MreScores:
    """TL, WL and ALL micro P/R/F1 of MRE answers, one per record."""
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    total = MreScores()
    for prediction, record in zip(predictions, records):
        total = total + score_record(prediction, record, fmt, normalise)
    return total
