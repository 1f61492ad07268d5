"""``adelie instruct``: build IEInstruct and the evaluation prompts of the held-out sets.

Writes to ``--output`` (default ``runs/instruct/<key>``, the key hashing the config and every input):
``dataset/`` (a Hugging Face dataset in TRL's conversational format), ``README.md`` (dataset card),
``stats.json``, ``evalsets/<dataset>/{zero_shot,few_shot}.jsonl`` and ``manifest.json``. An output
that is already complete for the same key is left as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from corpora.registry import resolve_data_root
from pipeline.artifacts import (
    atomic_dir, finished, hash_file, hash_tree, mark_done, output_folder, stage_key, write_manifest,
)
from pipeline.cli import Stage
from pipeline.instruct.build import build, write_outputs
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.evalsets import build_eval_sets
from pipeline.instruct.pool import heldout_specs, training_specs
from pipeline.instruct.prompts import load_prompts
from pipeline.tasks.base import PROMPTS_DIR


def inputs(cfg: InstructConfig) -> dict[str, str]:
    """Hashes of everything the corpus is made from: data files, prompt data, LLM-made resources."""
    root = resolve_data_root(cfg.data_root)
    found = {}
    for spec in [*training_specs(cfg.datasets), *heldout_specs()]:
        for split in spec.splits:
            for path in spec.files(split, root):
                found[f"data/{path.relative_to(root)}"] = hash_file(path)
    found["prompts"] = hash_tree(PROMPTS_DIR)
    found["guidelines"] = hash_tree(Path(__file__).resolve().parents[2] / "corpora" / "guidelines")
    for name in ("descriptions", "explanations"):
        if getattr(cfg, name):
            found[name] = hash_tree(Path(getattr(cfg, name)))
    return found


def config_for_key(cfg: InstructConfig) -> dict:
    """The config minus where things are read from or written to (those do not change the corpus)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("output", "data_root")}


def run_instruct(cfg: InstructConfig, progress: bool = True) -> Path:
    """Build (or find) the corpus; return its folder."""
    found = inputs(cfg)
    key = stage_key(config_for_key(cfg), found)
    folder = output_folder("instruct", key, cfg.output)
    if finished(folder, key):
        print(f"instruct: up to date in {folder}", file=sys.stderr)
        return folder
    with atomic_dir(folder) as staging:
        corpus = build(cfg, progress)
        stats = write_outputs(corpus, cfg, staging, key)
        eval_counts = build_eval_sets(cfg, load_prompts(cfg.descriptions, cfg.explanations), staging / "evalsets")
        write_manifest(staging, "instruct", dataclasses.asdict(cfg), found,
                       {"seed": cfg.seed, "key": key, "instances": stats["instances"], "evalsets": eval_counts})
        mark_done(staging)
    print(f"instruct: {stats['instances']:,} instances in {folder}", file=sys.stderr)
    return folder


def run(config: InstructConfig, args: argparse.Namespace) -> int:
    try:
        run_instruct(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"adelie instruct: {exc}", file=sys.stderr)
        return 2
    return 0


STAGE = Stage(
    name="instruct",
    help="build IEInstruct (and the held-out evaluation prompts) from the training pool",
    description=__doc__,
    config=InstructConfig,
    run=run,
)
