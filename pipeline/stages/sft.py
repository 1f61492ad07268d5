"""``adelie sft``: supervised fine-tuning with TRL on the mix, loss on assistant tokens only.

Writes to ``--output`` (default ``runs/sft/<key>``, the key hashing the config, the data and the
model): ``checkpoints/`` while training, ``train_log.jsonl`` (loss, learning rate, tokens/s per log
step, every attempt), ``model/`` (loads with plain transformers), ``manifest.json`` and ``.done``.
An interrupted run continues from its last checkpoint with ``--resume``; without it the stage refuses
to start over an unfinished run. ``--accelerate PRESET [--num-processes N]`` re-runs the same command
under ``accelerate launch`` (presets in recipes/accelerate/: single_gpu, ddp, zero2, zero3, fsdp).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.artifacts import hash_tree, output_folder, stage_key
from pipeline.cli import Stage
from pipeline.config import to_dict
from pipeline.train.config import is_main_process, key_config, world_size
from pipeline.train.data import dataset_hash
from pipeline.train.launch import add_training_arguments, run_or_launch
from pipeline.train.run import RunFolder, training_summary
from pipeline.train.sft import SftConfig


def inputs(cfg: SftConfig) -> dict[str, str]:
    """Hashes of what the model is trained from: data, model, and a chat template file if one is set."""
    from pipeline.train.chat_template import template_file
    from pipeline.train.loading import model_fingerprint

    if not cfg.data:
        raise ValueError("set sft.data to the folder adelie mix wrote (or any saved dataset with a messages column)")
    found = {"data": dataset_hash(cfg.data, "adelie mix"), "model": model_fingerprint(cfg.model)}
    if cfg.chat_template:
        found["chat_template"] = hash_tree(template_file(cfg.chat_template))
    return found


def locate(cfg: SftConfig) -> tuple[RunFolder, str, dict[str, str]]:
    """The run folder of this config and inputs, its key, and the input hashes."""
    found = inputs(cfg)
    key = stage_key(key_config(cfg), found)
    return RunFolder(output_folder("sft", key, cfg.output)), key, found


def run_sft(cfg: SftConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train (or find) the SFT model; return the run folder."""
    from pipeline.train.callbacks import JsonlLog
    from pipeline.train.device import resolve_precision
    from pipeline.train.sft import build_trainer, load_conversations

    run, key, found = locate(cfg)
    if run.up_to_date("sft", key):
        return run.root
    checkpoint = run.resume_point(resume, is_main_process())
    conversations = load_conversations(cfg.data)
    trainer, template = build_trainer(cfg, conversations, run.checkpoints, progress)
    trainer.add_callback(JsonlLog(run.log))
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    run.save_model(trainer, trainer.processing_class, template.for_saving())
    if trainer.is_world_process_zero():
        summary = {
            **training_summary(key, cfg.seed, checkpoint, trainer, result, world_size()),
            "conversations": len(conversations),
            "rows": len(trainer.train_dataset),  # packed rows, or conversations left after truncation
            "chat_template": template.source,
            "precision": resolve_precision(cfg.precision),
        }
        run.finish("sft", to_dict(cfg), found, summary, cfg.keep_checkpoints)
    print(f"sft: model in {run.model}", file=sys.stderr)
    return run.root


# -- CLI -------------------------------------------------------------------------------------------
def run(config: SftConfig, args: argparse.Namespace) -> int:
    return run_or_launch("sft", args, lambda resume: run_sft(config, resume=resume))


STAGE = Stage(name="sft", help="supervised fine-tuning with TRL on the mix (assistant tokens only)",
              description=__doc__, config=SftConfig, run=run, add_arguments=add_training_arguments)
