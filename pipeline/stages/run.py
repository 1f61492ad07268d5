"""``adelie run --config RECIPE``: every stage from one recipe, resumable, ending in a report.

corpora → (expand, explain when an API key is set) → instruct → mix → sft → sample → feedback → dpo →
eval (base, SFT, DPO) → report. The LLM stages come before instruct because it reads their
description pools and explanations. Each stage reads its recipe section; its inputs (the folders earlier
stages wrote) are filled in here. A stage's output folder is keyed by a hash of its config and of its
inputs' contents, and a finished folder is found again, so a rerun skips finished stages, a crash
costs only the step in flight, and changing a knob reruns that stage and the ones after it, never one
before it. ``--force STAGE`` reruns a stage into a fresh folder (the old one stays); ``--from STAGE``
forces that stage and every later one. ``run.train_dpo=false`` ends training at SFT (sample, feedback
and dpo are left out), e.g. for an SFT ablation.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.artifacts import RUNS_ENV, runs_dir
from pipeline.cli import Stage, stages
from pipeline.config import ConfigError, help_field, load_config

ORDER = ("corpora", "expand", "explain", "instruct", "mix", "sft", "sample", "feedback", "dpo", "eval", "report")


@dataclass
class RunConfig:
    key_env: str = help_field("OPENAI_API_KEY", "expand and explain run only when this environment variable is set.")
    eval_models: list[str] = help_field(["base", "sft", "dpo"], "Models that `eval` scores: base, sft and/or dpo.")
    train_dpo: bool = help_field(True, "Run sample, feedback and dpo; false ends training at SFT (e.g. an SFT ablation).")
    seed: int = help_field(0, "Shared by the recipe.")
    data_root: str | None = help_field(None, "Raw datasets (also --data-root).")
    output: str | None = help_field(None, f"Root of every stage's folder (default ${RUNS_ENV} or runs/).")
    accelerate: str | None = help_field(
        None, "Train sft and dpo under `accelerate launch` with this preset (recipes/accelerate/: single_gpu, "
        "ddp, zero2, zero3, fsdp) or an accelerate config file; the other stages run in this process.")
    num_processes: int | None = help_field(None, "Processes (GPUs) for `accelerate`; default: the preset's.")


@dataclass
class Step:
    stage: str
    status: str = ""
    seconds: float = 0.0
    folder: str = ""
    figures: str = ""


@dataclass
class Pipeline:
    recipe: dict
    overrides: dict
    run: RunConfig
    forced: set[str] = field(default_factory=set)
    start: str | None = None
    progress: bool = True
    steps: list[Step] = field(default_factory=list)

    def config(self, stage: str, **inputs):
        """The stage's config from the recipe, with its inputs filled in."""
        known = stages()
        cfg = load_config(known[stage].config, stage, self.recipe, self.overrides, tuple(known))
        if self.run.data_root and hasattr(cfg, "data_root"):
            inputs["data_root"] = self.run.data_root
        if self.is_forced(stage) and not cfg.output:
            # A forced stage writes a fresh folder: the finished one stays as it is.
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            inputs["output"] = str(runs_dir() / stage / f"forced-{stamp}")
        return dataclasses.replace(cfg, **inputs)

    def is_forced(self, stage: str) -> bool:
        base = stage.split()[0]
        return base in self.forced or (self.start is not None and ORDER.index(base) >= ORDER.index(self.start))

    def train(self, stage: str, fit: Callable[..., Path], cfg) -> Path:
        """Run a training stage here, or under ``accelerate launch`` when the run asks for it."""
        if not self.run.accelerate:
            return fit(cfg, resume=True, progress=self.progress)
        return launch_training(stage, cfg, self.run.accelerate, self.run.num_processes)

    def step(self, name: str, action: Callable[[], Path | None], figures: Callable[[Path], str] | None = None):
        step = Step(name)
        self.steps.append(step)
        started = time.perf_counter()
        folder = action()
        step.seconds = time.perf_counter() - started
        step.status = "done"
        if folder is not None:
            step.folder = str(folder)
            step.figures = figures(folder) if figures else ""
        return folder


def run_pipeline(p: Pipeline) -> list[Step]:
    from corpora.registry import resolve_data_root
    from pipeline.stages.corpora import check, select
    from pipeline.stages.dpo import run_dpo
    from pipeline.stages.eval import run_eval
    from pipeline.stages.feedback import run_feedback
    from pipeline.stages.instruct import run_instruct
    from pipeline.stages.mix import run_mix
    from pipeline.stages.report import write_report
    from pipeline.stages.sample import run_sample
    from pipeline.stages.sft import run_sft

    def corpora() -> None:
        cfg = p.config("corpora")
        specs = select(cfg)
        counts, errors = check(specs, resolve_data_root(cfg.data_root), p.progress)
        if errors:
            raise ValueError("the data does not load:\n" + "\n".join(str(e) for e in errors))
        p.steps[-1].figures = f"{len(specs)} datasets, {sum(sum(c.values()) for c in counts.values()):,} records"

    p.step("corpora", corpora)
    llm_outputs = {}
    for name in ("expand", "explain"):
        if not os.environ.get(p.run.key_env):
            p.steps.append(Step(name, status=f"skipped: no ${p.run.key_env}"))
            continue
        llm_outputs[name] = p.step(name, lambda name=name: _llm_stage(name, p.config(name)))
    resources = {}
    if "expand" in llm_outputs:
        resources["descriptions"] = str(llm_outputs["expand"])
    if "explain" in llm_outputs:
        resources["explanations"] = str(llm_outputs["explain"] / "explanations.jsonl")
    instruct = p.step("instruct", lambda: run_instruct(p.config("instruct", **resources), p.progress),
                      _figure("instances"))
    mix = p.step("mix", lambda: run_mix(p.config("mix", instruct=str(instruct))), _figure("instances"))
    sft = p.step("sft", lambda: p.train("sft", run_sft, p.config("sft", data=str(mix))), _training)
    models = {"base": p.config("sft").model, "sft": str(sft)}
    if p.run.train_dpo:
        sample = p.step("sample", lambda: run_sample(p.config("sample", model=str(sft), exclude_instruct=str(instruct)),
                                                     p.progress))
        feedback = p.step("feedback", lambda: run_feedback(p.config("feedback", samples=str(sample)), p.progress),
                          _figure("pairs"))
        dpo = p.step("dpo", lambda: p.train("dpo", run_dpo, p.config("dpo", model=str(sft), data=str(feedback))), _training)
        models["dpo"] = str(dpo)
    evals = {}
    for name in p.run.eval_models:
        evals[name] = p.step(
            f"eval {name}",
            lambda name=name: run_eval(p.config("eval", model=models[name], evalsets=str(instruct)), p.progress),
            _average_score,
        )
    names = list(evals)  # every later model against each earlier one: sft-base, dpo-base, dpo-sft
    compare = [f"{later}-{earlier}" for i, later in enumerate(names) for earlier in names[:i]]
    p.step("report", lambda: write_report([f"{n}={f}" for n, f in evals.items()], runs_dir() / "report",
                                          compare=compare))
    return p.steps


def launch_training(stage: str, cfg, preset: str, num_processes: int | None) -> Path:
    """Train ``stage`` with ``cfg`` under ``accelerate launch``; return its run folder.

    The launched processes read the resolved config from a recipe file written next to the run
    folder, with the folder itself as output, so they train exactly what this process would have.
    """
    import importlib

    import yaml

    from pipeline.artifacts import atomic_write_text
    from pipeline.config import to_dict
    from pipeline.train.launch import accelerate_command

    folder, _, _ = importlib.import_module(f"pipeline.stages.{stage}").locate(cfg)
    if folder.done():
        return folder.root
    recipe = folder.root.parent / f"{folder.root.name}.launch.yaml"
    section = {**to_dict(cfg), "output": str(folder.root)}
    atomic_write_text(recipe, yaml.safe_dump({stage: section}, sort_keys=False))
    command = accelerate_command(preset, num_processes, [stage, "--config", str(recipe), "--resume"])
    print(f"{stage}: {' '.join(command)}", file=sys.stderr)
    if subprocess.call(command) or not folder.done():
        raise ValueError(f"{stage} under accelerate did not finish; rerun `adelie run` to resume from its checkpoint")
    return folder.root


def _llm_stage(name: str, cfg) -> Path:
    """Run an LLM stage as its CLI would (no dry run, the recipe's cost cap); fail on a non-zero exit."""
    code = stages()[name].run(cfg, argparse.Namespace(dry_run=False, max_cost=None, targets=[]))
    if code:
        raise ValueError(f"{name} stopped with exit code {code}; rerun `adelie run` to continue from its store")
    return Path(cfg.output or runs_dir() / name)


def _figure(key: str) -> Callable[[Path], str]:
    def read(folder: Path) -> str:
        import json

        for name in ("stats.json", "manifest.json"):
            try:
                value = json.loads((folder / name).read_text()).get(key)
            except (OSError, ValueError):
                continue
            if value is not None:
                return f"{value:,} {key}"
        return ""

    return read


def _training(folder: Path) -> str:
    import json

    run = json.loads((folder / "manifest.json").read_text())
    figures = f"{run['steps']} steps, loss {run['train_loss']:.3f}, {run['tokens_per_s'] or 0:.0f} tokens/s"
    if run.get("log"):  # dpo: where the reward margin ended
        figures += f", margin {run['log'][-1].get('rewards/margins', 0):.2f}"
    return figures


def _average_score(folder: Path) -> str:
    import json

    ie = json.loads((folder / "scores.json").read_text()).get("ie", [])
    if not ie:
        return ""
    return f"IE average {sum(r['score'] for r in ie) / len(ie):.1f} over {len(ie)} sets"


def summary(steps: list[Step]) -> str:
    lines = [f"{'stage':12s} {'status':28s} {'time':>8s}  key figures", "-" * 78]
    for s in steps:
        lines.append(f"{s.stage:12s} {s.status:28s} {s.seconds:7.1f}s  {s.figures}")
    return "\n".join(lines)


def run(config: RunConfig, args: argparse.Namespace) -> int:
    from pipeline.config import parse_overrides, read_recipe

    if config.output:
        os.environ[RUNS_ENV] = config.output
    overrides = parse_overrides([w for w in args.overrides if "=" in w])
    for stage in [*args.force, *([args.start] if args.start else [])]:
        if stage not in ORDER:
            print(f"adelie run: unknown stage {stage!r}; stages: {', '.join(ORDER)}", file=sys.stderr)
            return 2
    unknown = sorted(set(config.eval_models) - {"base", "sft", "dpo"})
    if unknown or ("dpo" in config.eval_models and not config.train_dpo):
        what = f"unknown models {unknown}" if unknown else "dpo is evaluated but run.train_dpo is false"
        print(f"adelie run: run.eval_models: {what}; choose from base, sft and dpo", file=sys.stderr)
        return 2
    pipeline = Pipeline(read_recipe(args.config), overrides, config, set(args.force), args.start)
    try:
        run_pipeline(pipeline)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(summary(pipeline.steps), file=sys.stderr)
        print(f"adelie run: {exc}", file=sys.stderr)
        return 2
    print(summary(pipeline.steps))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", metavar="STAGE", help="rerun STAGE and every stage after it")
    parser.add_argument("--force", action="append", default=[], metavar="STAGE", help="rerun STAGE (repeatable)")


STAGE = Stage(name="run", help="run every stage from one recipe, resumable, ending in a report",
              description=__doc__, config=RunConfig, run=run, add_arguments=add_arguments)
