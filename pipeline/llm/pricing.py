"""Token estimates and costs from the recipe's price table.

Prices are USD per million tokens, per model: ``{gpt-4o-mini: {input: 0.15, output: 0.60}}``. They
live in the recipe, not in code, because they change. Before a request is sent only an estimate of
its input tokens exists; after it returns, the server's ``usage`` gives the exact count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators per chat message
INPUT_MARGIN = 1.25  # the budget reserves this much more than the input estimate


@dataclass(frozen=True)
class Price:
    input: float  # USD per million input tokens
    output: float  # USD per million output tokens

    def cost(self, input_tokens: int, output_tokens: int, factor: float = 1.0) -> float:
        return factor * (input_tokens * self.input + output_tokens * self.output) / 1e6


def price_for(prices: dict[str, Any], model: str) -> Price | None:
    """The model's price from the table, or None when the table does not list it."""
    entry = prices.get(model)
    if entry is None:
        return None
    if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
        raise ValueError(f"prices.{model} must be {{input: USD, output: USD}} per million tokens, not {entry!r}")
    try:
        return Price(float(entry["input"]), float(entry["output"]))
    except (TypeError, ValueError):
        raise ValueError(f"prices.{model} must hold numbers, not {entry!r}") from None


def estimate_tokens(text: str) -> int:
    """A cheap token estimate: four ASCII characters per token, one token per other character.

    chars/4 holds for English; CJK and other scripts take about a token per character, so counting
    them as four would underestimate Japanese input fourfold.
    """
    ascii_chars = len(text.encode("ascii", "ignore"))
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)


def estimate_input_tokens(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
