"""Micro precision / recall / F1 from counts, shared by every scorer of this package.

Counts are floats because partial matching credits half a hit (GNER's partial F1). An empty side
scores zero, never an error: nothing predicted gives precision 0, nothing to find gives recall 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prf:
    """True positives, predicted items and gold items, summed over a corpus (micro averaging)."""

    tp: float = 0.0
    pred: float = 0.0
    gold: float = 0.0

    def __add__(self, other: Prf) -> Prf:
        return Prf(self.tp + other.tp, self.pred + other.pred, self.gold + other.gold)

    @property
    def precision(self) -> float:
        return self.tp / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "tp": self.tp, "pred": self.pred, "gold": self.gold,
        }


def f1(precision: float, recall: float) -> float:
    """Harmonic mean, 0 when both are 0."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
