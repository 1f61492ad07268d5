"""``adelie dpo``: DPO with TRL from the SFT model on IEFeedback (paper §4, App. B).

Writes to ``--output`` (default ``runs/dpo/<key>``, the key hashing the config, the pairs and the
model): ``checkpoints/`` while training, ``train_log.jsonl`` (loss, rewards, margins, tokens/s per log
step), ``model/`` (loads with plain transformers; LoRA adapters are merged in), ``manifest.json`` and
``.done``. The reference log-probs are computed once and cached on disk keyed by (model, data), so a
rerun or ``--resume`` skips that pass. An interrupted run continues from its last checkpoint with
``--resume``; ``--accelerate PRESET`` runs the same command under ``accelerate launch``.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

from pipeline.artifacts import output_folder, stage_key
from pipeline.cli import Stage
from pipeline.config import to_dict
from pipeline.feedback.dpo import DpoConfig, dataset_hash, dpo_precision
from pipeline.sampling import model_source
from pipeline.train.config import is_main_process, world_size
from pipeline.train.launch import accelerate_command, add_launch_arguments, stage_argv
from pipeline.train.run import RunFolder, RunStateError, checkpoint_step

LOGGED = ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected")


def inputs(cfg: DpoConfig) -> dict[str, str]:
    from pipeline.train.loading import model_fingerprint

    if not cfg.data:
        raise ValueError("set dpo.data to the folder adelie feedback wrote")
    return {"data": dataset_hash(cfg.data),
            "model": model_fingerprint(model_source(cfg.model))}


def run_dpo(cfg: DpoConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train (or find) the DPO model; return the run folder."""
    from pipeline.feedback.dpo import build_trainer, load_pairs
    from pipeline.train.callbacks import JsonlLog

    found = inputs(cfg)
    key = stage_key({k: v for k, v in to_dict(cfg).items() if k not in ("output", "ref_cache")}, found)
    run = RunFolder(output_folder("dpo", key, cfg.output))
    run.claim(key, is_main_process())
    if run.done():
        print(f"dpo: up to date in {run.root}", file=sys.stderr)
        return run.root
    checkpoint = run.resume_point(resume, is_main_process())
    pairs = load_pairs(cfg.data)
    if len(pairs) == 0:
        raise ValueError(f"{cfg.data} holds no preference pairs")
    trainer = build_trainer(cfg, pairs, run.checkpoints, progress)
    trainer.add_callback(JsonlLog(run.log))
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    tokenizer = trainer.processing_class
    if cfg.lora:
        trainer.model = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
    run.save_model(trainer, tokenizer, tokenizer.chat_template)
    if trainer.is_world_process_zero():
        history = [e for e in trainer.state.log_history if "loss" in e]
        speeds = [e["tokens_per_s"] for e in history if "tokens_per_s" in e][1:]  # first: warm-up
        summary = {
            "key": key,
            "seed": cfg.seed,
            "resumed_from_step": checkpoint_step(checkpoint) if checkpoint else None,
            "steps": result.global_step,
            "train_loss": result.training_loss,
            "runtime_s": result.metrics.get("train_runtime"),
            "tokens_per_s": statistics.median(speeds) if speeds else None,
            "pairs": len(trainer.train_dataset),
            "ref_logps": trainer.ref_logps_source,
            "precision": dpo_precision(cfg.precision),
            "processes": world_size(),
            "gradient_accumulation": trainer.args.gradient_accumulation_steps,
            "log": [{k: e[k] for k in ("step", *LOGGED) if k in e} for e in history],
        }
        run.finish("dpo", to_dict(cfg), found, summary, cfg.keep_checkpoints)
    print(f"dpo: model in {run.model}", file=sys.stderr)
    return run.root


# -- CLI -------------------------------------------------------------------------------------------
def run(config: DpoConfig, args: argparse.Namespace) -> int:
    try:
        if args.accelerate:
            command = accelerate_command(args.accelerate, args.num_processes, stage_argv("dpo", args, ("--resume",)))
            print(f"dpo: {shlex.join(command)}", file=sys.stderr)
            return subprocess.call(command)
        if args.num_processes:
            raise ValueError("--num-processes needs --accelerate PRESET")
        run_dpo(config, resume=args.resume)
    except (ValueError, FileNotFoundError, RunStateError) as exc:
        print(f"adelie dpo: {exc}", file=sys.stderr)
        return 2
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    add_launch_arguments(parser)


STAGE = Stage(name="dpo", help="DPO with TRL from the SFT model on IEFeedback (cached reference log-probs)",
              description=__doc__, config=DpoConfig, run=run, add_arguments=add_arguments)
