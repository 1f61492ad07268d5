"""Build IEInstruct: pool → instances → length filter → a Hugging Face dataset with card, stats, manifest.

The dataset is in TRL's conversational format (``messages``) with metadata columns saying where each
instance came from and which augmentations fired. Everything random is seeded per record, so the same
seed gives a byte-identical dataset folder.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from corpora.registry import get
from pipeline.artifacts import atomic_write_json, atomic_write_text
from pipeline.instruct.compose import Instance, compose
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.pool import PoolStats, collect, mixture
from pipeline.instruct.prompts import load_prompts
from pipeline.models import resolve_model


@dataclass
class Corpus:
    instances: list[Instance]
    lengths: list[int]
    pool: PoolStats
    too_long: int
    cot_missing: int


def build(cfg: InstructConfig, progress: bool = True) -> Corpus:
    pool, pool_stats = collect(cfg)
    chosen = mixture(pool, cfg, pool_stats)
    prompts = load_prompts(cfg.descriptions, cfg.explanations)
    guidelines = {name: get(name).guidelines() for name in pool}
    instances = []
    for record in tqdm(chosen, desc="composing", unit="inst", disable=not progress, file=sys.stderr):
        rng = random.Random(f"{cfg.seed}/instance/{record.id}")
        instances.append(compose(record, pool[record.dataset], cfg, prompts, guidelines[record.dataset], rng))
    lengths = token_lengths(cfg.tokenizer, [i.messages for i in instances], progress)
    kept = [(i, n) for i, n in zip(instances, lengths) if n <= cfg.max_tokens]
    return Corpus(
        instances=[i for i, _ in kept],
        lengths=[n for _, n in kept],
        pool=pool_stats,
        too_long=len(instances) - len(kept),
        # CoT drawn where the store has no explanation: reported, never faked.
        cot_missing=sum(i.cot_unavailable for i in instances),
    )


def token_lengths(tokenizer_name: str, conversations: list[list[dict]], progress: bool = True) -> list[int]:
    """Tokens of each conversation with the tokenizer's chat template applied, in batches."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_name))
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
    lengths: list[int] = []
    batch = 512
    for start in tqdm(range(0, len(texts), batch), desc="tokenizing", unit="batch", disable=not progress, file=sys.stderr):
        encoded = tokenizer(texts[start : start + batch], add_special_tokens=False)["input_ids"]
        lengths += [len(ids) for ids in encoded]
    return lengths


def rows(corpus: Corpus) -> list[dict]:
    out = []
    for instance, length in zip(corpus.instances, corpus.lengths):
        row = dataclasses.asdict(instance)
        row["n_tokens"] = length
        out.append(row)
    return out


def statistics(corpus: Corpus, cfg: InstructConfig) -> dict:
    """Counts per task × format kind × augmentation, measured rates, and what the pool dropped."""
    per_task: dict[str, Counter] = defaultdict(Counter)
    for inst in corpus.instances:
        c = per_task[inst.task]
        c["instances"] += 1
        c[f"format:{inst.format_kind}"] += 1
        c["empty_answer"] += inst.empty_answer
        for aug in inst.augmentations:
            c[f"aug:{aug}"] += 1
    measured = {}
    for aug in ("subset", "guidelines", "symbols", "demos", "cot"):
        eligible = [i for i in corpus.instances if aug in i.eligible]
        measured[aug] = sum(aug in i.augmentations for i in eligible) / len(eligible) if eligible else None
    return {
        "instances": len(corpus.instances),
        "per_task": {task: dict(sorted(c.items())) for task, c in sorted(per_task.items())},
        "per_dataset": dict(sorted(Counter(i.dataset for i in corpus.instances).items())),
        "measured_rates": measured,
        "configured_rates": {
            "subset": cfg.subset_rate, "guidelines": cfg.guideline_rate, "symbols": cfg.symbol_rate,
            "demos": cfg.demo_rate, "cot": cfg.cot_rate,
        },
        "dropped_too_long": corpus.too_long,
        "cot_wanted_without_explanation": corpus.cot_missing,
        "pool": dataclasses.asdict(corpus.pool),
        "tokens": {"total": sum(corpus.lengths), "max": max(corpus.lengths, default=0)},
    }


def write_dataset(corpus: Corpus, folder: Path, seed: int) -> None:
    """``folder/dataset`` via ``save_to_disk``; the fingerprint is derived from the seed and content so
    the folder is byte-identical across runs (datasets would otherwise draw a random one)."""
    from datasets import Dataset

    from pipeline.artifacts import hash_json

    data = rows(corpus)
    dataset = Dataset.from_list(data)
    dataset._fingerprint = hash_json({"seed": seed, "n": len(data), "ids": [r["record_id"] for r in data]})[:16]
    dataset.save_to_disk(str(folder / "dataset"), num_shards=1)


def dataset_card(stats: dict, cfg: InstructConfig, key: str) -> str:
    lines = [
        "# IEInstruct (adelie)",
        "",
        f"{stats['instances']:,} instruction instances for information extraction, built by `adelie instruct`"
        f" (seed {cfg.seed}, key `{key}`) in TRL's conversational format (`messages`).",
        "",
        "## Sources",
        "",
        "| dataset | task | instances | licence |",
        "|---|---|---|---|",
    ]
    for name, count in stats["per_dataset"].items():
        spec = get(name)
        lines.append(f"| {name} | {spec.task.value} | {count:,} | {spec.licence} |")
    lines += ["", "## Augmentations (measured over eligible instances vs configured rate)", "", "| augmentation | measured | configured |", "|---|---|---|"]
    for aug, rate in stats["measured_rates"].items():
        shown = "n/a" if rate is None else f"{rate:.3f}"
        lines.append(f"| {aug} | {shown} | {stats['configured_rates'][aug]} |")
    lines += [
        "",
        f"Dropped as longer than {cfg.max_tokens} tokens: {stats['dropped_too_long']:,}. "
        f"CoT wanted but no explanation available: {stats['cot_wanted_without_explanation']:,}.",
        "",
        "## Per task",
        "",
        "```json",
        json.dumps(stats["per_task"], indent=1),
        "```",
        "",
        "## Config",
        "",
        "```json",
        json.dumps({k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("output", "data_root")}, indent=1, sort_keys=True),
        "```",
        "",
        "Licences vary by source (several are non-commercial or unstated; OntoNotes is an LDC corpus): "
        "check each before redistributing.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(corpus: Corpus, cfg: InstructConfig, folder: Path, key: str) -> dict:
    stats = statistics(corpus, cfg)
    write_dataset(corpus, folder, cfg.seed)
    atomic_write_json(folder / "stats.json", stats)
    atomic_write_text(folder / "README.md", dataset_card(stats, cfg, key))
    return stats
