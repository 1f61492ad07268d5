"""The ``seqlabel:`` recipe section. Defaults are the paper's (§4, A.1) except where noted."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import help_field


@dataclass
class SeqlabelConfig:
    model: str = help_field("smollm2-135m", "Decoder LLM: the embedded alias, a local folder or a cached hub name.")
    dataset: str = help_field(
        "conll2003",
        "Registry dataset: conll2003 (NER), conll2003_chunk (chunking), semeval14_rest (aspect terms typed "
        "by polarity, ATE+ATP); any dataset whose records have tokens and entity offsets works.",
    )
    groups: int = help_field(4, "m: the decoder blocks are split into this many consecutive groups.")
    configs: list[str] = help_field(
        ["0000", "0011", "1111"],
        "Unmasking configurations to run, one 0/1 per group from the input side (1 removes the causal mask); "
        "quote them in YAML ('0011'). --sweep runs all 2^groups instead.",
    )
    seeds: list[int] = help_field(
        [], "Training seeds per configuration; empty: `seed` alone, or seed..seed+2 under --sweep "
        "(the paper averaged 5 seeds, 120-124).",
    )
    seed: int = help_field(0, "The seed when `seeds` is empty.")
    max_train: int = help_field(0, "Train on a fixed random subset of this many sentences; 0: all.")
    max_eval: int = help_field(0, "Score a fixed random subset of this many dev/test sentences; 0: all.")
    dev_fraction: float = help_field(0.1, "Share of the training sentences held out as dev where a dataset has none.")
    eval_splits: list[str] = help_field(["dev", "test"], "Splits to score after training.")
    max_length: int = help_field(128, "Maximum tokens per sentence (longer ones are cut; cut words count as O).")
    epochs: int = help_field(5, "Training epochs; the last model is scored.")
    batch_size: int = help_field(4, "Sentences per forward pass.")
    grad_accum: int = help_field(4, "Forward passes per optimizer step (4 × 4 = the paper's batch of 16).")
    lr: float = help_field(2e-4, "Peak learning rate (cosine decay to 0).")
    lora_r: int = help_field(64, "LoRA rank on q_proj and v_proj.")
    lora_alpha: int = help_field(16, "LoRA alpha.")
    lora_dropout: float = help_field(0.1, "LoRA dropout.")
    load_in_4bit: bool = help_field(
        False, "QLoRA as in the paper (NF4, double quantisation); needs bitsandbytes and a GPU, else a "
        "warning and full precision.",
    )
    bf16: bool = help_field(False, "bfloat16 autocast for training and prediction (the paper trained in bf16).")
    attention: str = help_field(
        "sdpa", "Base attention implementation the unmasking wraps: sdpa (tested), or another one transformers "
        "builds masks for (flash_attention_2, flex_attention; untested here).",
    )
    eval_batch_size: int = help_field(32, "Sentences per forward pass when predicting.")
    device: str = help_field("auto", "auto (cuda when available), cpu or cuda[:N].")
    data_root: str | None = help_field(None, "Folder of the raw datasets (also --data-root).")
    output: str | None = help_field(None, "Output folder (also --output); default runs/seqlabel/<key>.")

    def __post_init__(self) -> None:
        # a comma list (configs=0000,0011) is one string; each code is checked against `groups` when a
        # run plans its units, so that `groups=2 --sweep` needs no matching `configs`
        self.configs = [c for item in self.configs for c in str(item).split(",") if c]
        for name in ("epochs", "batch_size", "grad_accum", "max_length", "eval_batch_size", "groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 < self.dev_fraction < 1:
            raise ValueError("dev_fraction must be between 0 and 1")

    def run_seeds(self, sweep: bool) -> list[int]:
        return list(self.seeds) or ([self.seed, self.seed + 1, self.seed + 2] if sweep else [self.seed])
