"""The knobs every training stage shares (SFT here, DPO next), and their translation to TRL.

A stage's config subclasses :class:`TrainConfig`, adds its own fields and may override defaults
(DPO's learning rate, say). :func:`trainer_arguments` turns the shared part into the keyword arguments
of any TRL config (``SFTConfig``, ``DPOConfig``: both are ``TrainingArguments``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import help_field, to_dict
from pipeline.train.device import precision_arguments


@dataclass
class TrainConfig:
    seed: int = help_field(0, "Seeds the data order and everything random in training.")
    output: str | None = help_field(None, "Output folder (default runs/<stage>/<key>); holds checkpoints, model/, logs, manifest.")
    model: str = help_field("smollm2-135m", "Model to train: the embedded alias, a local folder or a hub name.")
    trust_remote_code: bool = help_field(False, "Run model code shipped with a hub model (off: downloaded code never runs).")
    model_dtype: str = help_field(
        "float32", "dtype of the loaded weights (float32 or bfloat16); mixed precision computes on top of them. "
        "bfloat16 halves memory for models whose fp32 weights and optimizer state do not fit.")
    attn_implementation: str = help_field("sdpa", "Attention kernel: sdpa (anywhere), eager, or flash_attention_2 where installed.")
    chat_template: str | None = help_field(
        None, "A .jinja chat template with {% generation %} markers to train with (a path, or tulu / smollm2 from "
        "prompts/chat_templates/). Default: the model's own if it "
        "has markers, else one of prompts/chat_templates/ that renders exactly like it, else TRL's patched one; "
        "models without a template get the TULU 2 format.")
    max_length: int = help_field(512, "Longest training sequence in tokens; longer ones are cut at the end.")
    epochs: float = help_field(1.0, "Passes over the data (ignored when max_steps > 0).")
    max_steps: int = help_field(0, "Optimizer steps to train for; 0: as many as epochs gives.")
    global_batch: int = help_field(
        8, "Sequences per optimizer step summed over all processes; gradient accumulation makes up the difference "
        "to batch_size × processes, so a recipe means the same on 1 CPU or 8 GPUs.")
    batch_size: int = help_field(4, "Sequences per forward pass on each process (the micro-batch).")
    lr: float = help_field(2e-5, "Peak learning rate.")
    scheduler: str = help_field("cosine", "Learning-rate schedule after warm-up (transformers names: cosine, linear, constant, …).")
    warmup: float = help_field(0.03, "Warm-up: a share of all steps when below 1, else a number of steps.")
    weight_decay: float = help_field(0.0, "AdamW weight decay.")
    precision: str = help_field(
        "auto", "auto (bf16 on GPUs that have it and CPUs with native bf16, else fp16 on GPU or fp32 on CPU), "
        "bf16, fp16 or fp32.")
    gradient_checkpointing: bool = help_field(True, "Recompute activations in the backward pass: less memory, 20–30% slower.")
    logging_steps: int = help_field(1, "Optimizer steps between log lines (loss, learning rate, tokens/s).")
    save_steps: int = help_field(50, "Optimizer steps between checkpoints (continue an interrupted run with --resume).")
    save_total_limit: int = help_field(2, "Checkpoints kept at a time; older ones are deleted.")
    keep_checkpoints: bool = help_field(False, "Keep the checkpoints after the final model is saved.")
    report_to: str = help_field("none", "Experiment tracker through transformers' integrations: none, tensorboard, wandb, …")


# Knobs that do not change the trained model. Stage keys leave them out, so changing one neither
# retrains a finished model nor strands an unfinished run's checkpoints in a folder of another key.
OPERATIONAL = ("output", "logging_steps", "save_steps", "save_total_limit", "keep_checkpoints", "report_to")


def key_config(cfg: TrainConfig) -> dict[str, Any]:
    """The part of a training config that goes into its stage key."""
    return {k: v for k, v in to_dict(cfg).items() if k not in OPERATIONAL}


def world_size() -> int:
    """Processes in this run (``accelerate launch`` sets ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """The process that writes shared files (rank 0; a plain run is always it)."""
    return int(os.environ.get("RANK", "0")) == 0


def accumulation_steps(global_batch: int, batch_size: int, processes: int) -> int:
    per_pass = batch_size * processes
    if global_batch < per_pass or global_batch % per_pass:
        raise ValueError(
            f"global_batch {global_batch} is not a multiple of batch_size {batch_size} × {processes} process(es)"
        )
    return global_batch // per_pass


def checkpointing_argument(enabled: bool) -> dict[str, bool]:
    """Activation checkpointing under the name this transformers knows (``gradient_checkpointing``
    became ``activation_checkpointing`` in 5.x and warns)."""
    from transformers import TrainingArguments

    name = "activation_checkpointing" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__ \
        else "gradient_checkpointing"
    return {name: enabled}


def trainer_arguments(cfg: TrainConfig, output_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Keyword arguments for a TRL config (``SFTConfig(**args, **stage_specific)``)."""
    return dict(
        output_dir=str(output_dir),
        seed=cfg.seed,
        data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=accumulation_steps(cfg.global_batch, cfg.batch_size, world_size()),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps > 0 else -1,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.scheduler,
        warmup_steps=cfg.warmup if cfg.warmup < 1 else int(cfg.warmup),
        weight_decay=cfg.weight_decay,
        **checkpointing_argument(cfg.gradient_checkpointing),
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        report_to=cfg.report_to,
        dataloader_num_workers=0,
        disable_tqdm=not progress,
        **precision_arguments(cfg.precision),
    )
