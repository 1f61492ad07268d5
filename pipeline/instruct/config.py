"""The IEInstruct recipe: every augmentation rate in one place, with the paper's values as defaults."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import help_field


@dataclass
class InstructConfig:
    seed: int = help_field(0, "Seeds every random choice; the same seed gives a byte-identical corpus.")
    data_root: str | None = help_field(None, "Folder of the raw datasets (also --data-root).")
    output: str | None = help_field(None, "Output folder (default runs/instruct/<key>).")

    # -- collect (paper §3.1) -------------------------------------------------------------------
    datasets: list[str] = help_field([], "Training-pool datasets to use; empty means every IE dataset with role train.")
    na_keep_rate: float = help_field(0.2, "Share of records with nothing to extract that are kept (paper: drop 80%).")
    per_dataset_cap: int = help_field(5000, "Examples-proportional mixing: at most this many records per dataset.")
    max_instances: int = help_field(0, "Cap on the whole corpus after mixing (0: none); datasets keep their shares.")
    decontaminate: bool = help_field(True, "Drop pool records whose text also occurs in a held-out evaluation set.")

    # -- instruction augmentations (paper §3.2) -------------------------------------------------
    subset_rate: float = help_field(1.0, "Share of instances whose schema is a random subset of 1..all types (always shuffled).")
    guideline_rate: float = help_field(0.2, "Share of instances with guidelines (definitions and examples) for the listed types.")
    symbol_rate: float = help_field(0.1, "Share of instances whose category names are replaced by symbols LABEL_k.")
    format_weights: dict[str, float] = help_field(
        {"triplet": 0.4, "json": 0.2, "nl": 0.3, "bio": 0.1},
        "Relative weights of the output format kinds a task offers (kinds not listed weigh 1).",
    )
    demo_rate: float = help_field(0.5, "Share of instances with in-context demonstrations.")
    min_demos: int = help_field(1, "Fewest demonstrations when they are added.")
    max_demos: int = help_field(8, "Most demonstrations when they are added.")
    cot_rate: float = help_field(0.1, "Share of instances given a chain-of-thought explanation, where the store has one.")

    # -- resources ------------------------------------------------------------------------------
    descriptions: str | None = help_field(None, "Folder of LLM-expanded description pools (adelie expand); hand-written ones are always used.")
    explanations: str | None = help_field(None, "Explanation store (adelie explain); without it no instance gets CoT.")
    tokenizer: str = help_field("smollm2-135m", "Tokenizer (and chat template) of the length filter: embedded alias, folder or hub name.")
    max_tokens: int = help_field(2048, "Instances longer than this many tokens (chat template applied) are dropped.")

    # -- evaluation prompts (paper §4, Table 9) -------------------------------------------------
    eval_seed: int = help_field(1234, "Seed of the frozen evaluation subsets and their demonstrations (independent of seed).")
    eval_subset: int = help_field(1000, "Instances per held-out dataset (on-demand IE keeps all 150).")
    shots_closed: int = help_field(4, "Demonstrations in few-shot prompts of closed IE.")
    shots_open: int = help_field(5, "Demonstrations in few-shot prompts of open IE.")
    eval_max_tokens: int = help_field(4096, "A few-shot prompt longer than this (tokenizer's chat template applied) drops its last demonstrations until it fits (the paper's LLaMA 2 reads 4,096 tokens).")
