"""DPO with TRL on IEFeedback: the config of ``adelie dpo`` and the trainer it builds.

The trainer is TRL's ``DPOTrainer`` (1.16 API: ``max_length`` and ``truncation_mode`` only) with the
shared training knobs of :mod:`pipeline.train` (global batch, precision, checkpoints, token
throughput). adelie adds one thing: the reference model's log-probabilities are computed once and
**cached on disk**. TRL's ``precompute_ref_log_probs`` computes them in ``__init__`` and keeps them
only in a ``datasets`` cache file tied to the in-memory dataset's fingerprint, so every run (and every
``--resume``) pays the reference pass again (about 200 s per 100 pairs for the 135M model on CPU).
Here the result is stored under ``$ADELIE_CACHE/dpo-ref-logps/<key>.json``, the key hashing the
reference weights (TRL's own hash of the model), the tokenised pairs and the settings that change the
numbers (``max_length``, ``truncation_mode``, precision); a run that finds its key loads the two
columns and skips the pass.

Precision: ``auto`` means fp32 on CPU for DPO. With bf16 autocast on CPU the DPO rewards moved much
faster than in fp32 at the same learning rate, unexplained (docs/cpu-stack-facts.md §3), so bf16 on
CPU must be asked for explicitly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.artifacts import atomic_write_json, hash_file, hash_json
from pipeline.config import help_field
from pipeline.models import cache_dir
from pipeline.sampling import model_source
from pipeline.train.config import TrainConfig, trainer_arguments
from pipeline.train.data import saved_dataset

PAIR_COLUMNS = ["prompt", "chosen", "rejected"]
REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")


@dataclass
class DpoConfig(TrainConfig):
    # Paper App. B: 3 epochs, global batch 32, linear schedule peaking at 5e-7 after 10% warm-up, beta 0.1.
    epochs: float = help_field(3.0, "Passes over the pairs (paper: 3).")
    global_batch: int = help_field(32, "Pairs per optimizer step over all processes (paper: 32).")
    batch_size: int = help_field(2, "Pairs per forward pass on each process (each pair is two sequences).")
    lr: float = help_field(5e-7, "Peak learning rate (paper: 5e-7).")
    scheduler: str = help_field("linear", "Learning-rate schedule after warm-up (paper: linear).")
    warmup: float = help_field(0.1, "Warm-up: a share of all steps when below 1, else steps (paper: 0.1).")
    max_length: int = help_field(1024, "Longest prompt + answer in tokens; truncated as truncation_mode says.")
    precision: str = help_field(
        "auto", "auto (bf16 or fp16 on a GPU; fp32 on CPU, where bf16 autocast distorts DPO, see the module doc), "
        "bf16, fp16 or fp32.")
    data: str | None = help_field(None, "The pairs: the folder `adelie feedback` wrote (or a saved dataset with prompt/chosen/rejected).")
    beta: float = help_field(0.1, "DPO beta: how far the policy may move from the reference (paper: 0.1).")
    loss_type: list[str] = help_field(["sigmoid"], "TRL loss type(s); e.g. [sigmoid, sft] with loss_weights for the RPO mix.")
    loss_weights: list[float] = help_field([], "Weights of the loss types (empty: all 1).")
    truncation_mode: str = help_field("keep_start", "keep_start (drop pairs whose prompt fills max_length) or keep_end.")
    precompute_ref: bool = help_field(
        True, "Compute the reference log-probs once before training and cache them on disk (a rerun or --resume "
        "skips the pass); off: a reference forward pass every step.")
    ref_batch_size: int = help_field(8, "Pairs per forward pass when computing the reference log-probs.")
    ref_cache: str | None = help_field(None, "Folder of the reference log-prob cache (default $ADELIE_CACHE/dpo-ref-logps).")
    lora: bool = help_field(False, "Train LoRA adapters (the reference is the model with adapters off); merged into the saved model.")
    lora_r: int = help_field(16, "LoRA rank.")
    lora_alpha: int = help_field(32, "LoRA alpha.")
    lora_dropout: float = help_field(0.05, "LoRA dropout.")
    lora_targets: str = help_field("all-linear", "LoRA target modules (PEFT's names; all-linear: every linear layer but the head).")


def dpo_precision(precision: str) -> str:
    from pipeline.train.device import accelerator_available

    return "fp32" if precision == "auto" and not accelerator_available() else precision


def load_pairs(path: str):
    """The pairs, held in memory: TRL's tokenising ``map`` then writes no cache files into the feedback
    output (which would change its hash, and so this stage's key, after the first run)."""
    from datasets import load_from_disk

    folder = saved_dataset(path, "adelie feedback")
    data = load_from_disk(str(folder), keep_in_memory=True)
    missing = [c for c in PAIR_COLUMNS if c not in data.column_names]
    if missing:
        raise ValueError(f"{folder} lacks column(s) {', '.join(missing)} (it has {', '.join(data.column_names)})")
    return data.select_columns(PAIR_COLUMNS)


def dataset_hash(path: str, made_by: str = "adelie feedback") -> str:
    """A hash of a saved dataset's own files (info, state, data shards), not of the ``cache-*.arrow``
    files that ``datasets`` may later write beside them."""
    folder = saved_dataset(path, made_by)
    state = json.loads((folder / "state.json").read_text())
    names = ["dataset_info.json", "state.json", *(f["filename"] for f in state.get("_data_files", []))]
    return hash_json({name: hash_file(folder / name) for name in names})


def ref_cache_folder(cfg: DpoConfig) -> Path:
    return Path(cfg.ref_cache) if cfg.ref_cache else cache_dir() / "dpo-ref-logps"


def tokens_hash(dataset) -> str:
    """A hash of the tokenised pairs, in order (what the reference log-probs are computed from)."""
    digest = hashlib.sha256()
    for name in ("prompt_ids", "chosen_ids", "rejected_ids"):
        for ids in dataset[name]:
            digest.update(json.dumps(ids).encode())
            digest.update(b";")
        digest.update(b"|")
    return digest.hexdigest()


@cache
def trainer_class():
    """``DPOTrainer`` with the token-throughput log and the on-disk reference log-prob cache."""
    from trl import DPOTrainer

    from pipeline.train.callbacks import TokenThroughput

    class AdelieDPOTrainer(TokenThroughput, DPOTrainer):
        def __init__(self, *args, ref_cache_dir: Path | None = None, ref_cache_settings: dict | None = None, **kwargs):
            # Set before DPOTrainer.__init__, which runs the precompute.
            self.ref_cache_dir = ref_cache_dir
            self.ref_cache_settings = ref_cache_settings or {}
            self.ref_logps_source: str | None = None  # "cache" or "computed", for the manifest and tests
            super().__init__(*args, **kwargs)

        def _precompute_ref_logps(self, dataset, name, batch_size):
            if self.ref_cache_dir is None:
                return super()._precompute_ref_logps(dataset, name, batch_size)
            key = hash_json({"model": self._precompute_model_hash, "tokens": tokens_hash(dataset),
                             "split": name, **self.ref_cache_settings})[:24]
            path = self.ref_cache_dir / f"{key}.json"
            if path.exists():
                stored = json.loads(path.read_text())
                if all(len(stored[c]) == len(dataset) for c in REF_COLUMNS):
                    print(f"dpo: reference log-probs of {len(dataset):,} pairs from the cache ({path})", file=sys.stderr)
                    self.ref_logps_source = "cache"
                    for column in REF_COLUMNS:
                        dataset = dataset.add_column(column, stored[column])
                    return dataset
            dataset = super()._precompute_ref_logps(dataset, name, batch_size)
            if self.accelerator.is_main_process:
                atomic_write_json(path, {c: [float(x) for x in dataset[c]] for c in REF_COLUMNS})
            self.ref_logps_source = "computed"
            return dataset

    return AdelieDPOTrainer


def dpo_arguments(cfg: DpoConfig, output_dir: Path, progress: bool = True):
    from trl import DPOConfig

    shared = trainer_arguments(dataclasses.replace(cfg, precision=dpo_precision(cfg.precision)), output_dir, progress)
    return DPOConfig(
        **shared,
        max_length=cfg.max_length,
        truncation_mode=cfg.truncation_mode,
        beta=cfg.beta,
        loss_type=list(cfg.loss_type),
        loss_weights=list(cfg.loss_weights) or None,
        precompute_ref_log_probs=cfg.precompute_ref,
        precompute_ref_batch_size=cfg.ref_batch_size,
    )


def lora_config(cfg: DpoConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=cfg.lora_targets, task_type="CAUSAL_LM")


def build_trainer(cfg: DpoConfig, pairs, output_dir: Path, progress: bool = True):
    """The DPO trainer for ``pairs``; with ``precompute_ref`` the reference pass (or the cache) runs here."""
    from pipeline.train.loading import load_model, load_tokenizer

    args = dpo_arguments(cfg, output_dir, progress)  # first: it registers a ZeRO-3 config before loading
    source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = load_model(source, cfg.model_dtype, cfg.attn_implementation, cfg.trust_remote_code)
    settings = {"max_length": cfg.max_length, "truncation_mode": cfg.truncation_mode,
                "bf16": args.bf16, "fp16": args.fp16}
    return trainer_class()(
        model=model, args=args, train_dataset=pairs, processing_class=tokenizer,
        peft_config=lora_config(cfg) if cfg.lora else None,
        ref_cache_dir=ref_cache_folder(cfg) if cfg.precompute_ref else None, ref_cache_settings=settings,
    )
