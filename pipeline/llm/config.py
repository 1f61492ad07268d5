"""The recipe keys every LLM-assisted stage shares, and the ``--dry-run`` / ``--max-cost`` flags.

Stage configs (``expand``, ``explain``, ``translate``) subclass :class:`LLMConfig`, so its keys sit
directly in each stage's section (``explain.model=gpt-4o``, ``max_cost=2``) and ``--help`` lists them.
A recipe shares one block between the stages with a YAML anchor (see ``recipes/llm.yaml``).

The API key itself is never a config value: the config names the environment variable that holds it
(``key_env``), so config dumps and manifests cannot leak it.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import TypeVar

from pipeline.config import help_field

C = TypeVar("C", bound="LLMConfig")


@dataclass
class LLMConfig:
    base_url: str = help_field("https://api.openai.com/v1", "Any OpenAI-compatible API (OpenAI, vLLM, a proxy, ...).")
    model: str = help_field("gpt-4o-mini", "Model name sent with every request; part of each request's store key.")
    key_env: str = help_field("OPENAI_API_KEY", "Environment variable holding the API key (the key is never stored).")
    temperature: float = help_field(0.7, "Sampling temperature (the paper's data construction used 0.7).")
    max_tokens: int = help_field(512, "Output token cap per request; also the worst case the cost cap reserves.")
    params: dict = help_field({}, "Further chat-completions parameters sent as they are (top_p, seed, ...).")
    concurrency: int = help_field(16, "Requests in flight at once.")
    timeout_s: float = help_field(120.0, "Seconds before a request counts as timed out (then retried).")
    max_retries: int = help_field(8, "Retries per request on 429, 5xx, timeouts and malformed answers.")
    backoff_s: float = help_field(1.0, "First retry delay (s); doubles per retry, with jitter (Retry-After wins).")
    backoff_max_s: float = help_field(60.0, "Cap of the exponential backoff delay.")
    prices: dict = help_field({}, "USD per million tokens by model: {MODEL: {input: X, output: Y}}; needed for costs.")
    max_cost: float | None = help_field(None, "Stop before this run's spend (USD) would exceed this (also --max-cost).")
    dry_run: bool = help_field(False, "Print the request count and estimated cost, send nothing (also --dry-run).")
    batch: bool = help_field(False, "Use the Batch API: upload a request file, poll, resume polling after a restart.")
    batch_poll_s: float = help_field(30.0, "Seconds between two polls of a running batch.")
    batch_size: int = help_field(50_000, "Most requests in one batch file.")
    batch_window: str = help_field("24h", "The batch completion window.")
    batch_price_factor: float = help_field(0.5, "Batch price as a share of the table's (OpenAI bills batches at half).")

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if self.max_cost is not None and self.max_cost < 0:
            raise ValueError("max_cost must not be negative")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` and ``--max-cost`` for every LLM stage (the same as ``dry_run=`` / ``max_cost=``)."""
    parser.add_argument("--dry-run", action="store_true",
                        help="print the request count and estimated cost, send nothing")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop before this run's spend would exceed USD")


def apply_arguments(config: C, args: argparse.Namespace) -> C:
    """The config with the command-line flags applied."""
    changes = {}
    if getattr(args, "dry_run", False):
        changes["dry_run"] = True
    if getattr(args, "max_cost", None) is not None:
        changes["max_cost"] = args.max_cost
    return dataclasses.replace(config, **changes) if changes else config
