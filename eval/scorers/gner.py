"""GNER scoring: align the words of a token-by-token BIO answer back to the input tokens, then
score entities (strict and partial F1).

A GNER answer is ``word(tag) word(tag) ...`` (parsed by :mod:`pipeline.formats.bio`). The model may
drop, add or alter words, so its words are aligned to the input tokens by **hierarchical matching**
(GNER paper §4.3), cheapest case first:

1. the predicted words equal the input words: position i takes tag i (O(N));
2. the predicted words are a subsequence of the input (omissions only): greedy in-order matching
   (O(N));
3. otherwise a longest common subsequence, computed the Hunt–Szymanski way: each input word is
   replaced by the positions of its occurrences in the prediction, in decreasing order, and a
   strictly increasing subsequence of maximal length of that list is an LCS (patience sorting,
   O((N + R) log N) for R matching pairs, near O(N log N) as sentences repeat few words).

An input token with no aligned word gets ``O``. Words are compared lower-cased. With
``back_tokenize`` (GNER's back tokenisation), the input words are first passed through the model
tokenizer's encode/decode round trip (:func:`tokenizer_round_trip`), so that a word the tokenizer
cannot spell (``antropología`` → ``antropologa`` with an unknown character) still matches what the
model wrote. Predicted tags whose type is not in the record's label set become ``O``, as in GNER.

Entities are read from the aligned tags the way seqeval reads BIO by default (an ``I-`` that does not
continue an entity of its type starts one), so **strict** F1 (same start, end and type) equals
``seqeval.metrics.f1_score`` on the same tags. **Partial** F1 (GNER's Table 1, after UniversalNER)
credits a predicted entity that is not exact but overlaps a still unmatched gold entity of the same
type with 0.5 of a true positive (each gold entity is credited once, exact matches first, then
predictions in text order).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.scorers.prf import Prf
from pipeline.formats import BioFormat, LabelMap
from pipeline.formats.bio import spans_to_tags, tags_to_spans
from pipeline.records import Record
from pipeline.tasks import answer_part, plugin
from pipeline.tasks.ner import token_spans

Span = tuple[int, int, str]  # token start, end (exclusive), type
BackTokenize = Callable[[list[str]], list[str]]

EXACT, SUBSEQUENCE, LCS = "exact", "subsequence", "lcs"


# -- alignment --------------------------------------------------------------------------------
def in_order_match(words: Sequence[str], predicted: Sequence[str]) -> list[int] | None:
    """Greedy alignment when ``predicted`` is a subsequence of ``words``, else ``None``."""
    match = [-1] * len(words)
    k = 0
    for i, word in enumerate(words):
        if k == len(predicted):
            break
        if word == predicted[k]:
            match[i] = k
            k += 1
    return match if k == len(predicted) else None


def lcs_match(words: Sequence[str], predicted: Sequence[str]) -> list[int]:
    """For each word, the index of the predicted word a longest common subsequence pairs it with,
    or -1 (Hunt–Szymanski: LCS as a longest increasing subsequence of match positions)."""
    positions: dict[str, list[int]] = {}
    for j in range(len(predicted) - 1, -1, -1):
        positions.setdefault(predicted[j], []).append(j)  # decreasing order per word
    tails: list[int] = []  # tails[k]: smallest last position of an increasing run of length k + 1
    tail_node: list[int] = []  # the node ending that run
    nodes: list[tuple[int, int, int]] = []  # (word index, predicted index, previous node or -1)
    for i, word in enumerate(words):
        for j in positions.get(word, ()):
            k = bisect.bisect_left(tails, j)
            nodes.append((i, j, tail_node[k - 1] if k else -1))
            if k == len(tails):
                tails.append(j)
                tail_node.append(len(nodes) - 1)
            else:
                tails[k], tail_node[k] = j, len(nodes) - 1
    match = [-1] * len(words)
    node = tail_node[-1] if tail_node else -1
    while node != -1:
        i, j, node = nodes[node]
        match[i] = j
    return match


def lcs_match_dp(words: Sequence[str], predicted: Sequence[str]) -> list[int]:
    """The textbook O(N·M) dynamic-programming LCS alignment: the baseline hierarchical matching is
    measured against (benchmarks/gner_matching.py) and a test oracle."""
    n, m = len(words), len(predicted)
    length = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = length[i], length[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if words[i] == predicted[j] else max(below[j], row[j + 1])
    match, i, j = [-1] * n, 0, 0
    while i < n and j < m:
        if words[i] == predicted[j]:
            match[i] = j
            i, j = i + 1, j + 1
        elif length[i + 1][j] >= length[i][j + 1]:
            i += 1
        else:
            j += 1
    return match


def hierarchical_match(words: Sequence[str], predicted: Sequence[str]) -> tuple[list[int], str]:
    """The alignment of input ``words`` to ``predicted`` words and the level that produced it."""
    if list(words) == list(predicted):
        return list(range(len(words))), EXACT
    match = in_order_match(words, predicted)
    if match is not None:
        return match, SUBSEQUENCE
    return lcs_match(words, predicted), LCS


def tokenizer_round_trip(tokenizer) -> BackTokenize:
    """GNER's back tokenisation with a Hugging Face tokenizer: each word encoded (no special tokens)
    and decoded again, surrounding spaces stripped."""

    def round_trip(words: list[str]) -> list[str]:
        ids = tokenizer(words, add_special_tokens=False)["input_ids"]
        return [w.strip() for w in tokenizer.batch_decode(ids, skip_special_tokens=True)]

    return round_trip


def align_tags(
    tokens: Sequence[str],
    predicted: Sequence[tuple[str, str]],
    labels: set[str] | None = None,
    back_tokenize: BackTokenize | None = None,
) -> tuple[list[str], str]:
    """BIO tags for ``tokens`` from predicted ``(word, tag)`` pairs, and the matching level used.
    Tags of a type outside ``labels`` (when given) count as ``O``."""
    words = [t.lower() for t in tokens]
    if back_tokenize is not None:
        words = back_tokenize(words)
    pred_words = [w.lower() for w, _ in predicted]
    pred_tags = [_valid(tag, labels) for _, tag in predicted]
    match, level = hierarchical_match(words, pred_words)
    return [pred_tags[j] if j != -1 else "O" for j in match], level


def _valid(tag: str, labels: set[str] | None) -> str:
    prefix, _, label = tag.partition("-")
    if prefix not in ("B", "I") or not label or (labels is not None and label not in labels):
        return "O"
    return tag


# -- entity scores ----------------------------------------------------------------------------
def strict_counts(gold: set[Span], pred: set[Span]) -> Prf:
    return Prf(len(gold & pred), len(pred), len(gold))


def partial_counts(gold: set[Span], pred: set[Span]) -> Prf:
    """Exact matches count 1, a remaining same-type overlap 0.5 (module docstring)."""
    exact = gold & pred
    open_gold = sorted(gold - exact)
    tp = float(len(exact))
    for start, end, label in sorted(pred - exact):
        for g in open_gold:
            if g[2] == label and g[0] < end and start < g[1]:
                open_gold.remove(g)
                tp += 0.5
                break
    return Prf(tp, len(pred), len(gold))


@dataclass(frozen=True)
class GnerScores:
    strict: Prf = field(default_factory=Prf)
    partial: Prf = field(default_factory=Prf)
    levels: Counter = field(default_factory=Counter)  # matching level → number of answers

    def __add__(self, other: GnerScores) -> GnerScores:
        return GnerScores(self.strict + other.strict, self.partial + other.partial, self.levels + other.levels)

    def as_dict(self) -> dict[str, float]:
        out = {f"strict_{k}": v for k, v in self.strict.as_dict().items()}
        out |= {f"partial_{k}": v for k, v in self.partial.as_dict().items()}
        return out | {f"matched_{level}": n for level, n in sorted(self.levels.items())}


def bio_format() -> BioFormat:
    """The NER plugin's BIO (GNER) format."""
    return plugin("ner").formats["bio"][0]


def gold_tags(record: Record) -> list[str]:
    """The record's gold entities as BIO tags over its tokens."""
    spans = token_spans(record)
    if spans is None:
        raise ValueError(f"{record.id}: BIO needs tokens and non-overlapping token-aligned entities")
    return spans_to_tags(len(record.tokens), spans)


def score_answer(
    prediction: str | None,
    record: Record,
    back_tokenize: BackTokenize | None = None,
    symbols: bool = False,
    fmt: BioFormat | None = None,
) -> tuple[GnerScores, list[str]]:
    """Scores of one answer and its aligned tags. ``symbols``: the answer names types by the record's
    ``LABEL_k`` symbols."""
    fmt = fmt or bio_format()
    label_map: LabelMap | None = plugin("ner").label_map(record) if symbols else None
    items = fmt.parse_items(answer_part(prediction or ""), label_map)
    tags, level = align_tags(
        record.tokens, [(i["word"], i["tag"]) for i in items], set(record.label_set.labels), back_tokenize
    )
    gold = set(tags_to_spans(gold_tags(record)))
    pred = set(tags_to_spans(tags))
    return GnerScores(strict_counts(gold, pred), partial_counts(gold, pred), Counter({level: 1})), tags


def score_gner(
    predictions: Sequence[str | None],
    records: Sequence[Record],
    back_tokenize: BackTokenize | None = None,
    symbols: bool = False,
) -> GnerScores:
    """Strict and partial entity micro F1 of GNER-style answers, one per record."""
    if len(predictions) != len(records):
        raise ValueError(f"{len(predictions)} predictions for {len(records)} records")
    total = GnerScores()
    for prediction, record in zip(predictions, records):
        total = total + score_answer(prediction, record, back_tokenize, symbols)[0]
    return total
