"""CaRB scoring of Open IE extractions, re-implemented from the official scorer's behaviour.

Pinned variant: the official scorer's defaults (dair-iitd/CaRB ``carb.py`` / ``matcher.py`` at commit
024e0e9, no ``--binary`` flag, matcher ``Matcher.binary_linient_tuple_match``). It reproduces the AUC
and the optimal (precision, recall, F1) the official scorer prints, to 3 decimals, on every file of
``openie/carb/reference`` (OpenIE-4/5, ClausIE, PropS outputs and two tabbed files; see the tests).
What it does (copies of CaRB differ here: the "submitted" lenient matcher, IMoJIE's matcher, gold
readers that keep context arguments; each changes the scores):

- **Tuple match** (:func:`binary_lenient_match`). Both tuples are made binary: the first argument,
  and all further arguments joined into one. Words are whitespace tokens, compared case-sensitively,
  with no stop-word removal (the matcher receives ``ignoreStopwords``/``ignoreCase`` but ignores
  them). Per part (relation, first argument, rest) the matching words are a bag intersection; the
  relation also matches a predicted ``be`` with any form of *be* in the gold relation. No relation
  word in common, or a gold part among the first two arguments that the prediction lacks, scores
  (0, 0). Precision = matched words / predicted words, recall = matched words / gold words, summed
  over the parts; a gold tuple with a single argument ignores the prediction's further arguments.
  When the gold relation contains ``said``, ``told``, ``added``, ``adds`` or ``says`` (as a
  substring), the prediction with its two arguments swapped is tried too, and the better (precision
  first, then recall) is kept.
- **Sentence-level aggregation** (:func:`carb_score`). Thresholds are all distinct confidences of
  the predictions. At a threshold, the predictions of a gold sentence with at least that confidence
  count: *recall* adds, per gold tuple, its best recall over them (one prediction may serve many gold
  tuples); *precision* matches gold and predicted tuples one to one, greedily by descending tuple
  precision (ties: earlier gold tuple, then earlier prediction), and adds the matched precisions over
  the number of predictions. Predictions for sentences with no gold tuple are ignored, except that
  their confidences are thresholds too. Precision with no prediction is 1, recall with no gold 0.
- **Curve.** The optimal point is the first threshold with the highest F1 (an F1 with precision and
  recall both 0 counts as 0); the AUC is the trapezoidal area under (recall, precision) with the
  point (0, 1) appended, as scikit-learn's ``auc`` computes it. The official scorer prints both rounded
  to 3 decimals; :class:`CarbResult` keeps full precision.
- **Sentences** are matched by a key without spaces, with PTB bracket escapes (``-LRB-``...) undone
  and ASCII punctuation removed; when two sentences share a key the later one wins, as in CaRB.
- **Gold context arguments are not scored.** CaRB's gold reader drops every gold argument that
  contains ``C: `` (the attribution clauses of ``gold_test.tsv``, 89 of them), while predictions keep
  all their arguments; so even the gold tuples, predicted back, score precision 0.986, recall 0.995
  (the latter because 14 gold tuples have an empty relation, which nothing can match). Without this
  rule none of the reference scores are reproduced.

Readers for the reference systems' formats (:data:`READERS`) follow CaRB's, so that the same files
give the same tuples: OpenIE-4 keeps only the first second argument, ClausIE and PropS confidences are
min-max normalised (monotone, so the curve is unchanged). Our own records and model outputs are scored
with :func:`score_openie`: gold from the registry's records (CaRB's argument list rebuilt as the
adapter's docstring says) and predictions parsed with the ``openie`` task plugin, all at one default
confidence (then the curve is a single point and the AUC says little; report P/R/F1).

Re-OIE2016, WiRe57 and BenchIE are scored the same way over their records' gold tuples (CaRB-style
matching). For BenchIE that makes every variant of every fact synset a gold tuple of its own, so the
scores are CaRB scores on BenchIE sentences, not BenchIE scores; BenchIE's fact-synset scorer (one
hit per synset, optional tokens) is not implemented.
"""

from __future__ import annotations

import bisect
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpora.base import DataError, read_lines
from eval.scorers.prf import f1 as harmonic
from pipeline.formats import OutputFormat
from pipeline.records import OpenTuple, Record
from pipeline.tasks import plugin

_BE_FORMS = ("be", "is", "am", "are", "was", "were", "been", "being")
_SAID_VERBS = ("said", "told", "added", "adds", "says")
_PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


@dataclass(frozen=True)
class Extraction:
    """One tuple as CaRB sees it: a relation phrase, arguments in order, and a confidence."""

    predicate: str
    args: tuple[str, ...]
    confidence: float = 1.0


Extractions = dict[str, list[Extraction]]
"""Sentence text → its extractions."""


@dataclass(frozen=True)
class CarbResult:
    auc: float
    precision: float  # at the optimal-F1 threshold
    recall: float
    f1: float
    curve: tuple[tuple[float, float, float], ...]  # (threshold, precision, recall), thresholds ascending

    def as_dict(self) -> dict[str, float]:
        return {"auc": self.auc, "precision": self.precision, "recall": self.recall, "f1": self.f1}


# -- matching ---------------------------------------------------------------------------------
def _overlap(gold_words: list[str], pred_words: list[str]) -> int:
    """Words of the gold part found in the predicted part, each predicted word used once."""
    return sum((Counter(gold_words) & Counter(pred_words)).values())


def lenient_match(gold: Extraction, pred: Extraction) -> tuple[float, float]:
    """Token-level (precision, recall) of ``pred`` against ``gold``, part by part (relation, then
    each gold argument position); (0, 0) when they are not a match at all."""
    gold_rel, pred_rel = gold.predicate.split(), pred.predicate.split()
    matched = _overlap(gold_rel, pred_rel)
    leftover = Counter(pred_rel) - Counter(gold_rel)
    if leftover["be"] and any(form in gold_rel for form in _BE_FORMS):
        matched += 1
    if matched == 0:
        return 0.0, 0.0
    p_num = r_num = matched
    p_den, r_den = len(pred_rel), len(gold_rel)
    for i, gold_arg in enumerate(gold.args):
        gold_words = gold_arg.split()
        r_den += len(gold_words)
        if i >= len(pred.args):
            if i < 2:
                return 0.0, 0.0
            continue
        pred_words = pred.args[i].split()
        p_den += len(pred_words)
        matched = _overlap(gold_words, pred_words)
        p_num += matched
        r_num += matched
    return (p_num / p_den if p_den else 0.0), (r_num / r_den if r_den else 0.0)


def _binary(args: tuple[str, ...]) -> tuple[str, ...]:
    return (args[0], " ".join(args[1:])) if len(args) >= 2 else args


def binary_lenient_match(gold: Extraction, pred: Extraction) -> tuple[float, float]:
    """CaRB's default matcher: :func:`lenient_match` on binarised tuples, both argument orders for
    reported speech."""
    binary_gold = Extraction(gold.predicate, _binary(gold.args))
    straight = lenient_match(binary_gold, Extraction(pred.predicate, _binary(pred.args)))
    if not any(verb in gold.predicate for verb in _SAID_VERBS) or len(pred.args) < 2:
        return straight
    swapped = Extraction(pred.predicate, (" ".join(pred.args[1:]), pred.args[0]))
    return max(straight, lenient_match(binary_gold, swapped))


# -- aggregation ------------------------------------------------------------------------------
def sentence_key(sentence: str) -> str:
    """CaRB's sentence identity: no spaces, PTB brackets unescaped, no ASCII punctuation."""
    key = sentence.replace(" ", "")
    for escape, bracket in _PTB_ESCAPES.items():
        key = key.replace(escape, bracket)
    return _PUNCTUATION.sub("", key)


def _by_key(extractions: Mapping[str, list[Extraction]]) -> Extractions:
    return {sentence_key(sentence): list(tuples) for sentence, tuples in extractions.items()}


def _greedy_precision(order: list[tuple[float, int, int]], allowed: set[int], n_gold: int) -> float:
    """Sum of tuple precisions of a one-to-one gold/prediction matching chosen greedily."""
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    total, wanted = 0.0, min(n_gold, len(allowed))
    for precision, i, j in order:
        if len(used_gold) == wanted:
            break
        if j in allowed and i not in used_gold and j not in used_pred:
            used_gold.add(i)
            used_pred.add(j)
            total += precision
    return total


def carb_score(
    gold: Mapping[str, list[Extraction]],
    predicted: Mapping[str, list[Extraction]],
    matcher: Callable[[Extraction, Extraction], tuple[float, float]] = binary_lenient_match,
) -> CarbResult:
    """AUC and optimal (precision, recall, F1) of ``predicted`` against ``gold`` (module docstring)."""
    import numpy as np

    gold, predicted = _by_key(gold), _by_key(predicted)
    thresholds = sorted({ex.confidence for tuples in predicted.values() for ex in tuples})
    p_num, p_den = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    r_num, r_den = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    for key, gold_tuples in gold.items():
        preds = predicted.get(key, [])
        scores = [[matcher(g, p) for p in preds] for g in gold_tuples]
        order = sorted(
            ((scores[i][j][0], i, j) for i in range(len(gold_tuples)) for j in range(len(preds))),
            key=lambda entry: (-entry[0], entry[1], entry[2]),
        )
        start = 0  # thresholds below ``start`` are already counted for this sentence
        for confidence in sorted({p.confidence for p in preds}):
            stop = bisect.bisect_left(thresholds, confidence) + 1
            kept = {j for j, p in enumerate(preds) if p.confidence >= confidence}
            p_num[start:stop] += _greedy_precision(order, kept, len(gold_tuples))
            p_den[start:stop] += len(kept)
            r_num[start:stop] += sum(max((row[j][1] for j in kept), default=0.0) for row in scores)
            r_den[start:stop] += len(gold_tuples)
            start = stop
        r_den[start:] += len(gold_tuples)  # thresholds above every prediction of this sentence
    precision = [float(n / d) if d > 0 else 1.0 for n, d in zip(p_num, p_den)]
    recall = [float(n / d) if d > 0 else 0.0 for n, d in zip(r_num, r_den)]
    curve = tuple(zip(thresholds, precision, recall))
    if not thresholds:
        return CarbResult(0.0, 0.0, 0.0, 0.0, curve)
    f1s = [harmonic(p, r) for p, r in zip(precision, recall)]
    best = int(np.argmax(f1s))
    return CarbResult(_auc([*recall, 0.0], [*precision, 1.0]), precision[best], recall[best], f1s[best], curve)


def _auc(x: list[float], y: list[float]) -> float:
    """Trapezoidal area under a curve whose ``x`` is monotone (scikit-learn's ``auc``)."""
    import numpy as np

    dx = np.diff(x)
    if np.all(dx <= 0):
        return float(-np.trapezoid(y, x))
    if np.all(dx >= 0):
        return float(np.trapezoid(y, x))
    raise ValueError("recall is not monotone over the thresholds")


# -- our records and model outputs ------------------------------------------------------------
def carb_args(t: OpenTuple) -> tuple[str, ...]:
    """CaRB's argument list of a tuple: subject (always, even empty), object, further arguments,
    ``T: time``, ``L: location``, leaving out the empty ones after the subject. This rebuilds the gold
    file's list from a registry record (corpora/adapters/openie.py) up to the order of arguments after
    the first, which the binary matcher does not see."""
    rest = (t.object, *t.extra, f"T: {t.time}" if t.time else "", f"L: {t.location}" if t.location else "")
    return (t.subject, *(a for a in rest if a.strip()))


def extractions(tuples: Iterable[OpenTuple], confidence: float = 1.0) -> list[Extraction]:
    return [Extraction(t.predicate, carb_args(t), confidence) for t in tuples]


def gold_from_records(records: Iterable[Record]) -> Extractions:
    """Gold extractions of registry records (sentences without gold tuples are not scored), with
    context arguments left out as CaRB's gold reader does."""
    gold: Extractions = {}
    for record in records:
        for ex in extractions(record.gold.tuples):
            args = tuple(a for a in ex.args if not _is_context(a))
            gold.setdefault(record.text, []).append(Extraction(ex.predicate, args))
    return gold


def score_openie(
    predictions: Sequence[str | Sequence[OpenTuple]],
    records: Sequence[Record],
    fmt: OutputFormat | None = None,
    confidence: float = 1.0,
) -> CarbResult:
    """CaRB scores of model outputs: each prediction is the model's answer text (parsed with the
    ``openie`` plugin in ``fmt``, default its evaluation format; unreadable text gives no tuple) or
    already its tuples. Every predicted tuple gets ``confidence``."""
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    task = plugin("openie")
    fmt = fmt or task.eval_format
    predicted: Extractions = {}
    for prediction, record in zip(predictions, records):
        tuples = task.parse(fmt, prediction, record).tuples if isinstance(prediction, str) else prediction
        predicted.setdefault(record.text, []).extend(extractions(tuples, confidence))
    return carb_score(gold_from_records(records), predicted)


# -- readers of the reference systems' outputs ------------------------------------------------
def _inner(field: str) -> str:
    """``SimpleArgument(text,List([0, 4)))`` → ``text`` (OpenIE-4/5 output)."""
    return field[field.index("(") + 1 : field.index(",List(")]


def _fields(path: Path) -> Iterator[tuple[int, list[str]]]:
    for line_no, line in read_lines(path):
        if line.strip():
            yield line_no, line.strip().split("\t")


def _add(out: Extractions, sentence: str, ex: Extraction) -> None:
    out.setdefault(sentence, []).append(ex)


def _parse_error(path: Path, line_no: int, exc: Exception) -> DataError:
    return DataError(path, line_no, f"unreadable extraction: {type(exc).__name__}: {exc}")


def _is_context(arg: str) -> bool:
    """CaRB's gold reader drops every argument containing ``C: `` (an attribution context)."""
    return "C: " in arg


def read_gold(path: Path) -> Extractions:
    """CaRB gold ``.tsv``: ``sentence<TAB>relation<TAB>arg1<TAB>arg2...``, fields stripped, context
    arguments dropped."""
    out: Extractions = {}
    for line_no, data in _fields(path):
        if len(data) < 2:
            raise DataError(path, line_no, "expected at least a sentence and a relation")
        args = tuple(a.strip() for a in data[2:] if not _is_context(a))
        _add(out, data[0].strip(), Extraction(data[1].strip(), args))
    return out


def read_tabbed(path: Path) -> Extractions:
    """``sentence<TAB>confidence<TAB>relation<TAB>arg1<TAB>arg2...``."""
    out: Extractions = {}
    for line_no, data in _fields(path):
        try:
            _add(out, data[0], Extraction(data[2], tuple(data[3:]), float(data[1])))
        except (IndexError, ValueError) as exc:
            raise _parse_error(path, line_no, exc) from None
    return out


def read_openie4(path: Path) -> Extractions:
    """``confidence<TAB>context<TAB>Arg(arg1)<TAB>Relation(rel)<TAB>Arg(arg2)...<TAB>sentence``; lines
    missing an argument or the relation are skipped, as CaRB does."""
    out: Extractions = {}
    for line_no, data in _fields(path):
        if not all(data[2:5]):
            continue
        try:
            arg1, rel, arg2 = (_inner(f) for f in data[2:5])
            _add(out, data[5], Extraction(rel, (arg1, arg2), float(data[0])))
        except (IndexError, ValueError) as exc:
            raise _parse_error(path, line_no, exc) from None
    return out


def read_openie5(path: Path) -> Extractions:
    """OpenIE-5: like OpenIE-4, but every second argument (``);``-separated) is kept and a context
    (field 2) is prefixed to the first argument unless it already starts ``arg1 rel``."""
    out: Extractions = {}
    for line_no, data in _fields(path):
        if not all(data[2:5]):
            continue
        try:
            arg1, rel = _inner(data[2]), _inner(data[3])
            rest = [_inner(f) for f in data[4].strip().split(");")]
            if data[1]:
                context = _inner(data[1])
                if not f"{arg1} {rel}".startswith(context):
                    arg1 = f"{context} {arg1}"
            _add(out, data[5], Extraction(rel, (arg1, *rest), float(data[0])))
        except (IndexError, ValueError) as exc:
            raise _parse_error(path, line_no, exc) from None
    return out


def read_clausie(path: Path) -> Extractions:
    """ClausIE: a sentence line, then ``id<TAB>"arg1"<TAB>"rel"<TAB>"arg2"<TAB>score`` lines."""
    out: Extractions = {}
    sentence = None
    for line_no, data in _fields(path):
        if len(data) == 1:
            sentence = data[0]
        elif len(data) == 5:
            if sentence is None:
                raise DataError(path, line_no, "an extraction before any sentence")
            try:
                arg1, rel, arg2 = (f[1:-1] for f in data[1:4])
                _add(out, sentence, Extraction(rel, (arg1, arg2), float(data[4])))
            except ValueError as exc:
                raise _parse_error(path, line_no, exc) from None
    return _normalised(out)


def read_props(path: Path) -> Extractions:
    """PropS: ``score<TAB>sentence<TAB>relation<TAB>role<TAB>arg<TAB>role<TAB>arg...``."""
    out: Extractions = {}
    for line_no, data in _fields(path):
        try:
            _add(out, data[1], Extraction(data[2], tuple(data[4::2]), float(data[0])))
        except (IndexError, ValueError) as exc:
            raise _parse_error(path, line_no, exc) from None
    return _normalised(out)


def _normalised(out: Extractions, epsilon: float = 1e-3) -> Extractions:
    """Scores mapped into (0, 1) by min-max with a margin, as CaRB's ClausIE and PropS readers do."""
    scores = [ex.confidence for tuples in out.values() for ex in tuples]
    if not scores:
        return out
    low, span = min(scores), max(scores) - min(scores) + 2 * epsilon
    return {
        sentence: [Extraction(ex.predicate, ex.args, (ex.confidence - low + epsilon) / span) for ex in tuples]
        for sentence, tuples in out.items()
    }


READERS: dict[str, Callable[[Path], Extractions]] = {
    "tabbed": read_tabbed,
    "openiefour": read_openie4,
    "openiefive": read_openie5,
    "clausie": read_clausie,
    "props": read_props,
}
"""Reader by the name of the official scorer's command-line option."""
