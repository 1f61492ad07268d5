"""Time and peak memory of transformers batches with and without the token cap, in one run.

The same frozen few-shot prompts of held-out sets are answered twice by one loaded model:

- ``capped``: the default ``batch_tokens`` (8192 padded prompt tokens per ``generate`` call);
- ``padded`` (baseline): ``batch_size`` prompts per call whatever their length, as the backend did
  before ``batch_tokens``.

Peak memory is the process's maximum resident set after each variant; it only grows, so the capped
variant runs first and the padded one's figure is its own peak (or the capped one's, if lower).

Usage::

    .venv/bin/python benchmarks/eval_batching.py --datasets benchie --prompts 8 --batch-size 8
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from corpora.registry import get  # noqa: E402
from pipeline.instruct.config import InstructConfig  # noqa: E402
from pipeline.instruct.evalsets import eval_rows  # noqa: E402
from pipeline.instruct.prompts import load_prompts  # noqa: E402
from pipeline.sampling import SamplingParams  # noqa: E402
from pipeline.sampling.hf import TransformersBackend  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--datasets", nargs="+", default=["benchie", "semeval2010_task8"])
    parser.add_argument("--prompts", type=int, default=8, help="few-shot prompts per dataset")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    cfg = InstructConfig(data_root=args.data_root, eval_subset=args.prompts)
    prompts = load_prompts()
    backend = TransformersBackend(args.model, batch_size=args.batch_size)
    params = SamplingParams(n=1, temperature=0.01, max_new_tokens=args.max_new_tokens)
    print("| dataset | prompts | prompt tokens (mean) | capped | padded | padded / capped time | peak RSS capped | peak RSS padded |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        rows = eval_rows(get(name), cfg, prompts)["few_shot"][: args.prompts]
        messages = [r["messages"] for r in rows]
        texts = [backend.tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in messages]
        mean_tokens = sum(len(backend.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)
        backend.generate(messages[:1], [0], SamplingParams(n=1, temperature=0.01, max_new_tokens=2))  # warm-up
        times, peaks = {}, {}
        for variant, cap in (("capped", args.batch_tokens), ("padded", 10**9)):
            backend.batch_tokens = cap
            start = time.perf_counter()
            backend.generate(messages, [0] * len(messages), params)
            times[variant] = time.perf_counter() - start
            peaks[variant] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        print(f"| {name} | {len(rows)} | {mean_tokens:,.0f} | {times['capped']:.1f} s | {times['padded']:.1f} s "
              f"| {times['padded'] / times['capped']:.2f}x | {peaks['capped']:.1f} GiB | {peaks['padded']:.1f} GiB |",
              flush=True)


if __name__ == "__main__":
    main()
