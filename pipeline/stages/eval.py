"""``adelie eval``: a model on the held-out IE sets (zero- and few-shot) and on general benchmarks.

Writes ``predictions/<dataset>.<setting>.jsonl`` (re-scorable with ``adelie score``), ``scores.json``
and ``manifest.json`` under ``--output`` (default ``runs/eval/<key>``). The evaluation prompts come
from ``evalsets`` (an ``adelie instruct`` output or its ``evalsets/`` folder); without it they are built
with the default evaluation settings. Answers are sampled at T=0.01 (near-greedy, as the paper), and an
interrupted run resumes from the answers already saved.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import (
    atomic_write_json, hash_json, hash_tree, finished, mark_done, output_folder, stage_key, write_manifest,
)
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.evaluate.predict import SETTINGS, eval_prompts, predict, read_predictions
from pipeline.evaluate.score import score_all


@dataclass
class EvalConfig:
    model: str = help_field("smollm2-135m", "Model: the embedded alias, a model or sft/dpo run folder, or a hub name.")
    evalsets: str | None = help_field(None, "Evaluation prompts: an `adelie instruct` output or its evalsets/ folder.")
    datasets: list[str] = help_field([], "Held-out datasets to evaluate; empty means all of them.")
    settings: list[str] = help_field(list(SETTINGS), "zero_shot and/or few_shot.")
    limit: int = help_field(0, "Instances per dataset and setting (0: the whole frozen subset); also caps general tasks.")
    backend: str = help_field("transformers", "Generation backend: transformers, vllm, vllm-server or openai.")
    dtype: str = help_field("bfloat16", "Weights dtype for local backends (bf16 samples ~1.6x faster on CPU).")
    batch_size: int = help_field(16, "Prompts per generate call.")
    batch_tokens: int = help_field(8192, "transformers: padded prompt tokens per generate call, which bounds peak memory; a longer prompt goes alone.")
    max_new_tokens: int = help_field(256, "Longest answer generated.")
    num_beams: int = help_field(1, "Beam search width (transformers backend; GNER decodes its BIO answers with beams); 1: near-greedy sampling at T=0.01.")
    base_url: str = help_field("", "OpenAI-compatible endpoint for backend=openai.")
    general: bool = help_field(True, "Also run the general-capability benchmarks through lm-eval.")
    general_tasks: list[str] = help_field([], "General benchmarks (mmlu, bbh, bbh_direct, arc_easy, ...) or benchmark/subtask; empty: the paper's table. limit caps items per benchmark.")
    bootstrap: int = help_field(1000, "Bootstrap resamples for the 95% confidence intervals.")
    seed: int = help_field(0, "Seed of the bootstrap.")
    data_root: str | None = help_field(None, "Raw datasets (needed only to build evaluation prompts).")
    output: str | None = help_field(None, "Output folder (default runs/eval/<key>).")


def evalsets_folder(cfg: EvalConfig, output: Path) -> Path:
    if cfg.evalsets:
        folder = Path(cfg.evalsets)
        return folder / "evalsets" if (folder / "evalsets").is_dir() else folder
    from pipeline.instruct.config import InstructConfig
    from pipeline.instruct.evalsets import build_eval_sets
    from pipeline.instruct.prompts import load_prompts

    folder = output / "evalsets"
    if not folder.is_dir():
        build_eval_sets(InstructConfig(data_root=cfg.data_root), load_prompts(), folder)
    return folder


def datasets_of(folder: Path, wanted: list[str]) -> list[str]:
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ValueError(f"no evaluation prompts for {', '.join(missing)} in {folder}")
    return [d for d in found if not wanted or d in wanted]


def run_eval(cfg: EvalConfig, progress: bool = True) -> Path:
    from pipeline.sampling import BackendSpec, SamplingParams, model_source, open_backend, resolve_backend

    if cfg.num_beams > 1 and resolve_backend(cfg.backend) != "transformers":
        raise ValueError(f"num_beams={cfg.num_beams}: beam search needs backend=transformers")
    key = stage_key({k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("output", "data_root")}, {})
    output = output_folder("eval", key, cfg.output)
    if finished(output, key):
        print(f"eval: up to date in {output}", file=sys.stderr)
        return output
    folder = evalsets_folder(cfg, output)
    model = model_source(cfg.model)
    params = SamplingParams(n=1, temperature=0.01, max_new_tokens=cfg.max_new_tokens,  # the paper: T=0.01
                            num_beams=cfg.num_beams)
    spec = BackendSpec(backend=cfg.backend, model=model, dtype=cfg.dtype, batch_size=cfg.batch_size,
                       batch_tokens=cfg.batch_tokens, base_url=cfg.base_url, api_model=model)
    with open_backend(spec) as backend:
        for dataset in datasets_of(folder, cfg.datasets):
            for setting in cfg.settings:
                prompts = eval_prompts(folder, dataset, setting, cfg.limit)
                predict(backend, prompts, output / "predictions" / f"{dataset}.{setting}.jsonl", params,
                        cfg.batch_size, progress)
    scores = {"ie": score_all(read_predictions([output / "predictions"]), cfg.bootstrap, cfg.seed)}
    if cfg.general:
        from eval.general import run_general

        scores["general"] = run_general(model, tasks=cfg.general_tasks or None, limit=cfg.limit or None,
                                        output_dir=output / "general")
    scores["model"] = cfg.model
    atomic_write_json(output / "scores.json", scores)
    write_manifest(output, "eval", dataclasses.asdict(cfg),
                   {"evalsets": hash_tree(folder), "model": hash_json(model)}, {"key": key})
    mark_done(output)
    print(format_table(scores["ie"]), file=sys.stderr)
    return output


def format_table(ie: list[dict]) -> str:
    lines = [f"{'dataset':22s} {'setting':9s} {'metric':16s} {'score':>6s}  95% CI", "-" * 68]
    for row in ie:
        low, high = row["ci"]
        lines.append(f"{row['dataset']:22s} {row['setting']:9s} {row['metric']:16s} {row['score']:6.1f}  [{low:.1f}, {high:.1f}]")
    return "\n".join(lines)


def run(config: EvalConfig, args: argparse.Namespace) -> int:
    try:
        run_eval(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"adelie eval: {exc}", file=sys.stderr)
        return 2
    return 0


STAGE = Stage(name="eval", help="evaluate a model on held-out IE and general benchmarks", description=__doc__,
              config=EvalConfig, run=run)
