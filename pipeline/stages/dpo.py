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
import sys
from pathlib import Path

from pipeline.artifacts import output_folder, stage_key
from pipeline.cli import Stage
from pipeline.config import to_dict
from pipeline.feedback.dpo import DpoConfig, dataset_hash, dpo_precision
from pipeline.sampling import model_source
from pipeline.train.config import is_main_process, key_config, world_size
from pipeline.train.launch import add_training_arguments, run_or_launch
from pipeline.train.run import RunFolder, training_summary

LOGGED = ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen", "rewards/rejected")


def inputs(cfg: DpoConfig) -> dict[str, str]:
    from pipeline.train.loading import model_fingerprint

    if not cfg.data:
        raise ValueError("set dpo.data to the folder adelie feedback wrote")
    return {"data": dataset_hash(cfg.data),
            "model": model_fingerprint(model_source(cfg.model))}


def locate(cfg: DpoConfig) -> tuple[RunFolder, str, dict[str, str]]:
    """The run folder of this config and inputs, its key, and the input hashes."""
    found = inputs(cfg)
    keyed = {k: v for k, v in key_config(cfg).items() if k != "ref_cache"}  # a cache's place, not a knob
    key = stage_key(keyed, found)
    return RunFolder(output_folder("dpo", key, cfg.output)), key, found


def run_dpo(cfg: DpoConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train (or find) the DPO model; return the run folder."""
    from pipeline.feedback.dpo import build_trainer, load_pairs
    from pipeline.train.callbacks import JsonlLog

    run, key, found = locate(cfg)
    if run.up_to_date("dpo", key):
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
        summary = {
            **training_summary(key, cfg.seed, checkpoint, trainer, result, world_size()),
            "pairs": len(trainer.train_dataset),
            "ref_logps": trainer.ref_logps_source,
            "precision": dpo_precision(cfg.precision),
            "log": [{k: e[k] for k in ("step", *LOGGED) if k in e} for e in history],
        }
        run.finish("dpo", to_dict(cfg), found, summary, cfg.keep_checkpoints)
    print(f"dpo: model in {run.model}", file=sys.stderr)
    return run.root


# -- CLI -------------------------------------------------------------------------------------------
def run(config: DpoConfig, args: argparse.Namespace) -> int:
    return run_or_launch("dpo", args, lambda resume: run_dpo(config, resume=resume))


STAGE = Stage(name="dpo", help="DPO with TRL from the SFT model on IEFeedback (cached reference log-probs)",
              description=__doc__, config=DpoConfig, run=run, add_arguments=add_training_arguments)
