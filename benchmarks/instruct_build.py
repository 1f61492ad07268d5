"""Benchmark: the full IEInstruct build against bare tokenisation of the same texts.

Baseline: the recipe's tokenizer (a fast Rust tokenizer) encoding the final chat-templated texts in
batches of 512, which any builder with a token-length filter must do at least once. The full build is
the whole of ``build`` (pool from the record cache, NA filter, mixing, composing every instance, chat
template, tokenising) on the same config. Goal (issue 3): full build within 2x of bare tokenisation.

    .venv/bin/python benchmarks/instruct_build.py [--cap 5000] [--repeats 3]

The record cache is warmed first (a cold read of the raw files is reported separately), so both sides
measure steady-state work.
"""

from __future__ import annotations

import argparse
import statistics
import time

from corpora.cache import read_cached
from pipeline.instruct.build import build
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.pool import heldout_specs, training_specs
from pipeline.models import resolve_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cap", type=int, default=5000, help="per-dataset cap (5000 = the paper's full pool)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = InstructConfig(per_dataset_cap=args.cap)

    started = time.perf_counter()
    for spec in [*training_specs([]), *heldout_specs()]:
        for split in spec.splits:
            read_cached(spec, split)
    warm_cache = time.perf_counter() - started

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(cfg.tokenizer))
    builds, bare = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        corpus = build(cfg, progress=False)
        builds.append(time.perf_counter() - t0)
        texts = [tokenizer.apply_chat_template(i.messages, tokenize=False) for i in corpus.instances]
        t0 = time.perf_counter()
        for start in range(0, len(texts), 512):
            tokenizer(texts[start : start + 512], add_special_tokens=False)
        bare.append(time.perf_counter() - t0)
    b, t = statistics.median(builds), statistics.median(bare)
    print(f"instances: {len(corpus.instances):,}  tokens: {sum(corpus.lengths):,}")
    print(f"record cache warm-up (first run reads raw files): {warm_cache:.1f} s")
    print(f"full build (median of {args.repeats}): {b:.2f} s")
    print(f"bare tokenisation of the same texts (median): {t:.2f} s")
    print(f"ratio full build / bare tokenisation: {b / t:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
