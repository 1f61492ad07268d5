"""Preference pairs from five samples and the gold answer (paper §4 and §6.2).

- **online**: the best and the worst of a prompt's samples, when their scores differ by *more than*
  ``margin`` (0.1); the better one is preferred. Ties for best or worst go to the earliest sample.
- **offline**: the gold answer (score 1) over the worst sample, under the same margin rule: a worst
  sample within ``margin`` of the gold answer (a near copy) teaches nothing and is not paired.
- **mix**: ``offline_share`` of the pairs are offline (paper: 0.7, the best of its Table 11), at most
  ``max_pairs`` in all (paper: 10k). The share is kept exact, so when one kind runs short the total
  shrinks; ``fill_short`` lets the other kind fill up to the cap instead.

Scores are compared after rounding to 9 decimals, so a difference of exactly 0.1 in decimal (0.4 vs
0.3, which floating point makes 0.10000000000000003) is no pair, as the paper's "exceeds" says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from pipeline.feedback.bleu import Tokens, answer_bleu

GOLD_SCORE = 1.0


@dataclass(frozen=True)
class Pair:
    id: str
    dataset: str
    task: str
    kind: Literal["online", "offline"]
    prompt: list[dict[str, str]]
    chosen: str
    rejected: str
    chosen_score: float
    rejected_score: float

    @property
    def delta(self) -> float:
        return self.chosen_score - self.rejected_score

    def to_trl(self) -> dict:
        """A row of a TRL preference dataset: explicit prompt, conversational chosen/rejected."""
        return {
            "prompt": self.prompt,
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
            "id": self.id,
            "dataset": self.dataset,
            "task": self.task,
            "kind": self.kind,
            "chosen_score": self.chosen_score,
            "rejected_score": self.rejected_score,
            "delta": self.delta,
        }


def score_samples(row: dict, tokens: Tokens = "word", require_mark: bool = True) -> list[float]:
    return [answer_bleu(row["gold"], s, tokens, require_mark) for s in row["samples"]]


def clears(better: float, worse: float, margin: float) -> bool:
    return round(better - worse, 9) > margin


def extremes(scores: list[float]) -> tuple[int, int]:
    """Indices of the first best and the first worst score."""
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    worst = min(range(len(scores)), key=lambda i: (scores[i], i))
    return best, worst


def online_pair(row: dict, scores: list[float], margin: float = 0.1) -> Pair | None:
    if len(scores) < 2:
        return None
    best, worst = extremes(scores)
    if not clears(scores[best], scores[worst], margin):
        return None
    return _pair(row, "online", row["samples"][best], row["samples"][worst], scores[best], scores[worst])


def offline_pair(row: dict, scores: list[float], margin: float = 0.1) -> Pair | None:
    if not scores:
        return None
    _, worst = extremes(scores)
    if not clears(GOLD_SCORE, scores[worst], margin):
        return None
    return _pair(row, "offline", row["gold"], row["samples"][worst], GOLD_SCORE, scores[worst])


def _pair(row: dict, kind, chosen: str, rejected, chosen_score: float, rejected_score: float) -> Pair:
    return Pair(
        id=row["id"], dataset=row["dataset"], task=row["task"], kind=kind, prompt=row["prompt"],
        chosen=chosen, rejected=rejected if isinstance(rejected, str) else "",
        chosen_score=chosen_score, rejected_score=rejected_score,
    )


def mix(online: list[Pair], offline: list[Pair], offline_share: float = 0.7, max_pairs: int = 10_000,
        seed: int = 0, fill_short: bool = False) -> list[Pair]:
    """A seeded random selection with ``offline_share`` offline pairs, at most ``max_pairs``."""
    if not 0.0 <= offline_share <= 1.0:
        raise ValueError(f"offline_share must be in [0, 1], not {offline_share}")
    if fill_short:
        n_off = min(len(offline), round(max_pairs * offline_share))
        n_on = min(len(online), max_pairs - n_off)
        n_off = min(len(offline), max_pairs - n_on)
    else:
        total = max_pairs
        if offline_share > 0:
            total = min(total, int(len(offline) / offline_share + 1e-9))
        if offline_share < 1:
            total = min(total, int(len(online) / (1 - offline_share) + 1e-9))
        n_off = min(len(offline), round(total * offline_share))
        n_on = min(len(online), total - n_off)
    chosen = random.Random(f"{seed}/pairs/offline").sample(offline, n_off)
    chosen += random.Random(f"{seed}/pairs/online").sample(online, n_on)
    random.Random(f"{seed}/pairs/order").shuffle(chosen)
    return chosen
