"""``adelie feedback``: build IEFeedback, BLEU-ranked preference pairs, from ``adelie sample`` output.

Each sample's answer part is scored against the gold answer with smoothed sentence BLEU
(:mod:`pipeline.feedback.bleu`); online pairs (best over worst sample) and offline pairs (gold over
worst sample) are formed where the scores differ by more than ``margin`` and mixed with
``offline_share`` offline pairs, at most ``max_pairs`` (:mod:`pipeline.feedback.pairs`).

Writes to ``--output`` (default ``runs/feedback/<key>``): ``dataset/`` (a TRL preference dataset:
explicit ``prompt``, conversational ``chosen``/``rejected``, plus id, dataset, task, kind and scores),
``scores.jsonl`` (every prompt's sample scores), ``stats.json`` (per dataset, like paper Table 8),
``README.md`` (dataset card) and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pipeline.artifacts import (
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    finished,
    hash_file,
    hash_json,
    is_done,
    mark_done,
    output_folder,
    stage_key,
    write_manifest,
)
from pipeline.cli import Stage
from pipeline.config import help_field, to_dict
from pipeline.feedback.pairs import Pair, mix, offline_pair, online_pair, score_samples
from pipeline.feedback.stats import statistics, table8
from pipeline.stages.sample import SAMPLES


@dataclass
class FeedbackConfig:
    samples: str = help_field("", "Output folder of `adelie sample` (required).")
    margin: float = help_field(0.1, "A pair needs the preferred answer to beat the other by more than this BLEU (paper: 0.1).")
    offline_share: float = help_field(0.7, "Share of offline pairs, gold over the worst sample (paper: 0.7).")
    max_pairs: int = help_field(10_000, "Most pairs in all (paper: 10k).")
    fill_short: bool = help_field(False, "When one kind of pair runs short, fill up to max_pairs with the other instead of keeping the share exact.")
    bleu_tokens: str = help_field("word", "BLEU tokens: word (whitespace; BLEU proper) or char (as the reference code).")
    require_mark: bool = help_field(True, "A sample without the '[Answer]:' mark scores 0 (the evaluation format requires it).")
    seed: int = help_field(0, "Seeds the choice of pairs.")
    data_root: str | None = help_field(None, "Unused by this stage; shared by the recipe.")
    output: str | None = help_field(None, "Output folder (default runs/feedback/<key>).")


# -- core ------------------------------------------------------------------------------------------
def read_samples(folder: Path) -> list[dict]:
    """The rows of a finished ``adelie sample`` run; a bad line is an error naming file and line."""
    path = folder / SAMPLES
    if not is_done(folder):
        raise FileNotFoundError(f"{folder} is not a finished `adelie sample` output (rerun it to resume)")
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                missing = [k for k in ("id", "dataset", "task", "prompt", "gold", "samples") if k not in row]
                if missing:
                    raise KeyError(", ".join(missing))
                if not isinstance(row["samples"], list) or not isinstance(row["gold"], str):
                    raise TypeError("samples must be a list and gold a string")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: not a sample row ({exc})") from None
            rows.append(row)
    return rows


def build_feedback(rows: list[dict], cfg: FeedbackConfig, progress: bool = True) -> tuple[list[Pair], list[list[float]], dict]:
    """Scores, candidate pairs, the chosen mix and its statistics."""
    scores = [score_samples(r, cfg.bleu_tokens, cfg.require_mark)
              for r in tqdm(rows, desc="scoring", unit="prompt", disable=not progress, file=sys.stderr)]
    candidates: dict[str, list[Pair]] = {"online": [], "offline": []}
    for row, s in zip(rows, scores):
        for kind, rule in (("online", online_pair), ("offline", offline_pair)):
            pair = rule(row, s, cfg.margin)
            if pair is not None:
                candidates[kind].append(pair)
    pairs = mix(candidates["online"], candidates["offline"], cfg.offline_share, cfg.max_pairs, cfg.seed, cfg.fill_short)
    return pairs, scores, statistics(rows, scores, candidates, pairs)


def dataset_card(stats: dict, cfg: FeedbackConfig, key: str, source: dict) -> str:
    return "\n".join([
        "# IEFeedback (adelie)",
        "",
        f"{stats['total']['pairs']:,} preference pairs ({stats['total']['online']:,} online, "
        f"{stats['total']['offline']:,} offline) built by `adelie feedback` (key `{key}`) from "
        f"{stats['total']['prompts']:,} prompts sampled {source.get('n', '?')} times from `{source.get('model', '?')}`.",
        "",
        "TRL preference format: `prompt` (user turn), `chosen` / `rejected` (one assistant turn each).",
        f"Scores: sentence BLEU (nltk, SmoothingFunction().method3, {cfg.bleu_tokens} tokens) of the answer part; "
        f"the gold answer scores 1. A pair needs a difference above {cfg.margin}; offline share {cfg.offline_share}, "
        f"at most {cfg.max_pairs:,} pairs.",
        "",
        "## Per dataset (paper Table 8: pairs and mean Δ)",
        "",
        table8(stats),
        "",
        "Licences follow the source datasets of the prompts (see the IEInstruct card).",
        "",
    ])


def inputs(cfg: FeedbackConfig) -> dict[str, str]:
    folder = Path(cfg.samples)
    return {"samples": hash_file(folder / SAMPLES)}


def run_feedback(cfg: FeedbackConfig, progress: bool = True) -> Path:
    if not cfg.samples:
        raise ValueError("feedback needs samples=<folder of adelie sample>")
    from datasets import Dataset

    source_folder = Path(cfg.samples)
    rows = read_samples(source_folder)
    found = inputs(cfg)
    key = stage_key({k: v for k, v in to_dict(cfg).items() if k not in ("output", "data_root", "samples")}, found)
    folder = output_folder("feedback", key, cfg.output)
    if finished(folder, key):
        print(f"feedback: up to date in {folder}", file=sys.stderr)
        return folder
    source = json.loads((source_folder / "manifest.json").read_text()).get("config", {})
    pairs, scores, stats = build_feedback(rows, cfg, progress)
    with atomic_dir(folder) as staging:
        dataset = Dataset.from_list([p.to_trl() for p in pairs]) if pairs else Dataset.from_dict(
            {"prompt": [], "chosen": [], "rejected": []})
        dataset._fingerprint = hash_json({"key": key, "n": len(pairs)})[:16]  # deterministic folder bytes
        dataset.save_to_disk(str(staging / "dataset"), num_shards=1)
        atomic_write_text(staging / "scores.jsonl", "".join(
            json.dumps({"id": r["id"], "dataset": r["dataset"], "scores": s}) + "\n" for r, s in zip(rows, scores)))
        atomic_write_json(staging / "stats.json", stats)
        atomic_write_text(staging / "README.md", dataset_card(stats, cfg, key, source))
        write_manifest(staging, "feedback", to_dict(cfg), found, {"seed": cfg.seed, "key": key, **stats["total"]})
        mark_done(staging)
    print(f"feedback: {stats['total']['pairs']:,} pairs in {folder}", file=sys.stderr)
    return folder


# -- CLI -------------------------------------------------------------------------------------------
def run(config: FeedbackConfig, args: argparse.Namespace) -> int:
    try:
        run_feedback(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"adelie feedback: {exc}", file=sys.stderr)
        return 2
    return 0


STAGE = Stage(
    name="feedback",
    help="build IEFeedback: BLEU-ranked online and offline preference pairs from the samples",
    description=__doc__,
    config=FeedbackConfig,
    run=run,
)
