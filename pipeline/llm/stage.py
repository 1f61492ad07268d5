"""What the three LLM stages share around the engine: prompt templates, the output folder, the
dry run, the messages of an incomplete run, and the manifest.

An LLM stage's output folder (``output``, default ``runs/<stage>``) is not keyed by its config like
other stages' folders: the request store inside it is the cache, keyed per request, so changing a
knob re-sends only the requests that changed. Results are derived from the store at the end of a
complete run and written atomically with the manifest; an incomplete run (budget reached, failed
requests) writes no results and exits non-zero, and a rerun continues from the store.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.artifacts import DONE, mark_done, runs_dir, write_manifest
from pipeline.config import ConfigError, to_dict
from pipeline.llm.config import C, apply_arguments
from pipeline.llm.engine import STORE_FILE, Engine, LLMError, LLMRequest, Outcome
from pipeline.llm.store import StoreError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts" / "llm"
EXIT_BAD_INPUT = 2


@cache
def template(name: str) -> dict[str, Any]:
    """``prompts/llm/<name>.yaml``."""
    return yaml.safe_load((PROMPTS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def run_stage(stage: str, config: C, args: argparse.Namespace, body: Callable[[C, Path], int]) -> int:
    """Apply ``--dry-run``/``--max-cost``, resolve the output folder, run ``body``; problems in the
    recipe or the inputs become one line on stderr and exit code 2."""
    config = apply_arguments(config, args)
    folder = Path(config.output) if config.output else runs_dir() / stage
    if not config.dry_run:  # results of an earlier run stop counting as done until this one finishes
        (folder / DONE).unlink(missing_ok=True)
    try:
        return body(config, folder)
    except (LLMError, ConfigError, StoreError, ValueError, KeyError, FileNotFoundError) as exc:
        print(f"adelie {stage}: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def dry_run(stage: str, engine: Engine, requests: list[LLMRequest], note: str = "") -> int:
    print(f"adelie {stage} (dry run): " + engine.plan(requests).summary(engine.config) + (f"\n{note}" if note else ""))
    return 0


def incomplete(stage: str, engine: Engine, outcome: Outcome) -> int:
    print(f"adelie {stage}: {outcome.message(engine.folder / STORE_FILE)}", file=sys.stderr)
    return outcome.exit_code


def usage(engine: Engine, outcomes: list[Outcome]) -> dict[str, Any]:
    """Tokens and cost of the answers a result uses, and what this run sent and spent."""
    results = {k: v for o in outcomes for k, v in o.results.items()}
    costs = [r["cost"] for r in results.values()]
    return {
        "model": engine.config.model,
        "base_url": engine.config.base_url,
        "requests": len(results),
        "sent_this_run": sum(o.sent for o in outcomes),
        "spent_this_run_usd": round(engine.spent, 6),
        "input_tokens": sum(r["input_tokens"] for r in results.values()),
        "output_tokens": sum(r["output_tokens"] for r in results.values()),
        "cost_usd": None if None in costs else round(sum(costs), 6),
    }


def finish(stage: str, engine: Engine, config: Any, inputs: dict[str, str], extra: dict[str, Any]) -> None:
    """Manifest (config without any key, input hashes, usage, stage figures), then the done marker."""
    write_manifest(engine.folder, stage, to_dict(config), inputs, extra)
    mark_done(engine.folder)
    llm = extra.get("llm", {})
    cost = llm.get("cost_usd")
    print(f"adelie {stage}: {llm.get('requests', 0):,} answers ({llm.get('sent_this_run', 0):,} sent this run, "
          f"${engine.spent:.4f} spent this run{'' if cost is None else f', ${cost:.4f} in all'}) -> {engine.folder}",
          file=sys.stderr)
