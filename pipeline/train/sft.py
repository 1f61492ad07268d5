"""SFT with TRL: the config of ``adelie sft`` and the trainer it builds.

Everything here is TRL's ``SFTTrainer``; adelie adds the training chat template (assistant-only loss),
the device and precision choice, the global-batch arithmetic, model loading and the token-throughput
log. The benchmark builds its trainer with :func:`build_trainer` too, so what it measures is what the
stage runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.config import help_field
from pipeline.train.config import TrainConfig, trainer_arguments
from pipeline.train.data import load_columns

BATCHING = ("padded", "packed")


@dataclass
class SftConfig(TrainConfig):
    data: str | None = help_field(
        None, "Training conversations: the folder `adelie mix` (or `adelie instruct`) wrote, or any saved dataset "
        "with a messages column.")
    batching: str = help_field(
        "padded", "padded: one conversation per row, padded to the batch's longest (a batch counts conversations, "
        "as in the paper). packed: conversations packed whole into rows of up to max_length tokens (TRL's "
        "best-fit decreasing) and run padding-free; pays off on GPUs with flash_attention_2, not on CPU "
        "(BENCHMARKS.md), and a batch then counts packed rows.")


def load_conversations(path: str):
    """The ``messages`` column of the training data, as a ``datasets.Dataset``."""
    return load_columns(path, "adelie mix", ["messages"])


@cache
def trainer_class():
    """``SFTTrainer`` with the token-throughput log (built lazily: TRL takes seconds to import)."""
    from trl import SFTTrainer

    from pipeline.train.callbacks import TokenThroughput

    return type("AdelieSFTTrainer", (TokenThroughput, SFTTrainer), {})


def sft_arguments(cfg: SftConfig, output_dir: Path, progress: bool = True):
    if cfg.batching not in BATCHING:
        raise ValueError(f"batching must be one of {', '.join(BATCHING)}, not {cfg.batching!r}")
    from trl import SFTConfig

    return SFTConfig(
        **trainer_arguments(cfg, output_dir, progress),
        max_length=cfg.max_length,
        assistant_only_loss=True,
        packing=cfg.batching == "packed",
        packing_strategy="bfd",
    )


def build_trainer(cfg: SftConfig, conversations, output_dir: Path, progress: bool = True, random_init: bool = False):
    """The SFT trainer for ``conversations`` and the chat-template choice it trains with."""
    from pipeline.train.chat_template import choose_training_template
    from pipeline.train.loading import load_model, load_tokenizer

    args = sft_arguments(cfg, output_dir, progress)  # first: it registers a ZeRO-3 config before loading
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    choice = choose_training_template(tokenizer, cfg.chat_template)
    tokenizer.chat_template = choice.template
    model = load_model(cfg.model, cfg.model_dtype, cfg.attn_implementation, cfg.trust_remote_code, random_init)
    trainer = trainer_class()(model=model, args=args, train_dataset=conversations, processing_class=tokenizer)
    return trainer, choice
