"""Run the general-capability benchmarks with lm-eval's Python API, offline, resumably.

One ``simple_evaluate`` call per benchmark, all sharing one loaded model. Each benchmark's outputs go
to ``<output_dir>/<benchmark>/``, written atomically and marked done last:

- ``results.json``: lm-eval's results (metrics, n-samples, task configs, versions) without samples;
- ``samples/<task>.jsonl``: every scored item with its prompt(s), model response(s) and metrics;
- ``tasks/<task>.yaml``: the generated task configs, absolute paths included, so that
  ``lm-eval run --include_path <output_dir>/<benchmark>/tasks ...`` reproduces the run;
- ``settings.json``: what the run depended on. A finished benchmark whose settings still match
  (model weights, prompts, data files, limit, chat template, dtype, seed, lm-eval version) is not
  run again, so an interrupted evaluation resumes with the next benchmark.

``<output_dir>/scores.json`` gathers the table (:mod:`eval.general.scores`); ``<output_dir>/data``
holds the JSON-lines inputs and ``<output_dir>/cache`` every Hugging Face cache the run touches.

Chat template: off by default, for every model alike. The base model has no template it was trained
with, and the paper's general-capability comparison (base vs SFT vs DPO) needs one prompt for all;
lm-eval's plain prompts are also what reproduces the paper's LLaMA-2 numbers. Turning it on changes
scores a lot and in both directions (lm-eval issues #1841, #3513): the prompt goes into a user turn,
multiple-choice continuations lose their leading space, few-shot exemplars become turns
(``fewshot_as_multiturn``) and SmolLM2's template adds its default system prompt. Compare runs made
with the same setting only; ``settings.json`` and ``scores.json`` record it.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from eval.general.benchmarks import benchmarks, select, task_configs
from eval.general.scores import benchmark_entry, table
from pipeline.artifacts import (
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    hash_file,
    hash_json,
    hash_tree,
    is_done,
    mark_done,
)
from pipeline.models import resolve_model

SCORES = "scores.json"
SETTINGS = "settings.json"


@contextmanager
def offline_hf(cache: Path) -> Iterator[None]:
    """Hugging Face libraries offline, their caches inside ``cache``; the environment is restored after.

    The cache variables only reach libraries imported inside the block (they are read at import), so
    the task configs also give ``datasets`` its ``cache_dir`` explicitly."""
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(cache / "hf"),
        "HF_DATASETS_CACHE": str(cache / "datasets"),
        "XDG_CACHE_HOME": str(cache / "xdg"),
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def per_task_limit(limit: int | None, tasks: int) -> int | None:
    """``limit`` counts scored items per benchmark; spread over its subtasks, at least one each, so
    that every MMLU subject and BBH task still enters the macro average."""
    return None if limit is None else max(1, math.ceil(limit / tasks))


def _model_identity(model: str) -> dict[str, str]:
    path = Path(model)
    return {"model": model, "model_hash": hash_tree(path) if path.exists() else ""}


def _load_lm(model: str, batch_size: int, device: str, dtype: str):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, batch_size=batch_size, device=device, dtype=dtype)


def _evaluate(lm, configs: list[dict[str, Any]], limit: int | None, apply_chat_template: bool | str,
              max_gen_toks: int | None, seed: int) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model=lm,
        tasks=configs,
        task_manager=TaskManager(include_defaults=False),
        limit=limit,
        log_samples=True,
        bootstrap_iters=1000,  # mean metrics get an analytic standard error; this only enables it
        apply_chat_template=apply_chat_template,
        fewshot_as_multiturn=bool(apply_chat_template),
        gen_kwargs={"max_gen_toks": max_gen_toks} if max_gen_toks else None,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )


def _write_benchmark(folder: Path, settings: dict[str, Any], configs: list[dict[str, Any]],
                     results: dict[str, Any]) -> dict[str, Any]:
    """Write one benchmark's outputs atomically; return the results as read back (plain JSON)."""
    from lm_eval.utils import handle_non_serializable

    def dumps(data: Any, **kwargs) -> str:
        return json.dumps(data, default=handle_non_serializable, ensure_ascii=False, **kwargs)

    samples = results.pop("samples", {})
    with atomic_dir(folder) as staging:
        atomic_write_text(staging / "results.json", dumps(results, indent=2) + "\n")
        for task, rows in samples.items():
            atomic_write_text(staging / "samples" / f"{task}.jsonl", "".join(dumps(row) + "\n" for row in rows))
        for config in configs:
            atomic_write_text(staging / "tasks" / f"{config['task']}.yaml", yaml.safe_dump(config, sort_keys=False))
        atomic_write_json(staging / SETTINGS, settings)
        mark_done(staging)
    return json.loads((folder / "results.json").read_text())


def _finished(folder: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    if not is_done(folder):
        return None
    if json.loads((folder / SETTINGS).read_text()) != settings:
        return None
    return json.loads((folder / "results.json").read_text())


def run_general(
    model_path: str | os.PathLike,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    apply_chat_template: bool | str = False,
    output_dir: str | os.PathLike = "runs/general",
    dtype: str = "float32",
    max_gen_toks: int | None = None,
    seed: int = 1234,
    data_root: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Score a model on the general-capability benchmarks; return (and write) ``scores.json``.

    ``model_path``: a model folder or ``smollm2-135m``. ``tasks``: benchmark names or
    ``benchmark/subtask`` (see :func:`eval.general.benchmarks.select`); default the paper's table.
    ``limit``: at most about this many scored items per benchmark, the first ones of each subtask
    (``per_task_limit``); ``None`` scores everything. ``apply_chat_template``: ``False`` (default,
    see the module docstring), ``True`` for the tokenizer's template, or a template name.
    ``max_gen_toks`` caps generation (BBH CoT default 512). ``seed`` seeds Python, NumPy, torch and
    lm-eval's few-shot sampler (every exemplar list here is taken in order, so prompts do not move).
    """
    output_dir = Path(output_dir).resolve()
    selection = select(tasks)
    model = resolve_model(model_path)
    common = {
        **_model_identity(model),
        "limit": limit,
        "apply_chat_template": apply_chat_template,
        "dtype": dtype,
        "batch_size": batch_size,
        "device": device,
        "max_gen_toks": max_gen_toks,
        "seed": seed,
        "lm_eval": metadata.version("lm_eval"),
    }
    entries: dict[str, dict[str, Any]] = {}
    lm = None
    with offline_hf(output_dir / "cache"):
        for name, subtasks in tqdm(selection.items(), desc="general benchmarks", unit="benchmark"):
            bench = benchmarks()[name]
            configs = task_configs(bench, output_dir / "data", output_dir / "cache" / "datasets", subtasks, data_root)
            files = sorted(f for c in configs for f in c["dataset_kwargs"]["data_files"].values())
            settings = {
                **common,
                "benchmark": name,
                "per_task_limit": per_task_limit(limit, len(configs)),
                "configs": hash_json(configs),
                "data": {f: hash_file(Path(f)) for f in files},
            }
            folder = output_dir / name
            results = _finished(folder, settings)
            if results is None:
                if lm is None:  # loaded once, and only when some benchmark still has to run
                    lm = _load_lm(model, batch_size, device, dtype)
                start = time.perf_counter()
                raw = _evaluate(lm, configs, settings["per_task_limit"], apply_chat_template, max_gen_toks, seed)
                raw["total_evaluation_time_seconds"] = time.perf_counter() - start  # lm-eval's own key
                results = _write_benchmark(folder, settings, configs, raw)
            entries[name] = benchmark_entry(bench, results)
    scores = {**table(entries), "benchmarks": entries, "settings": common}
    atomic_write_json(output_dir / SCORES, scores)
    return scores
