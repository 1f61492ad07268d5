"""Evaluation prompts for the held-out datasets, from the same machinery as IEInstruct.

Per held-out IE dataset: a frozen subset of its evaluation split (``eval_subset`` instances, seeded by
``eval_seed`` only, so training seeds never change what is evaluated), each as a zero-shot and a k-shot
prompt (4 demonstrations for closed IE, 5 for open IE) drawn from the dataset's own train/dev splits,
or from the rest of its evaluation split when it has no other (Few-NERD INTER, InstructIE, the OpenIE
test sets; the subset itself is not used for demonstrations). Where the subset is the whole split
(InstructIE always; BenchIE, WiRe57, Re-OIE2016 and MATRES when ``eval_subset`` is at least their
size), the demonstrations are other instances of the set, never the instance itself.
A few-shot prompt that would exceed ``eval_max_tokens`` keeps fewer demonstrations: BenchIE's and
InstructIE's demonstrations run to thousands of tokens, and one prompt of 8,400 would not fit even
SmolLM2's 8,192-token context.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from corpora.cache import read_cached
from corpora.registry import DatasetSpec
from pipeline.artifacts import atomic_write_text
from pipeline.instruct.compose import eval_prompt
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.pool import heldout_specs
from pipeline.instruct.prompts import PromptData
from pipeline.records import Record, Task

EVAL_SPLITS = ("test", "dev", "val")
ALL_OF = {Task.ONDEMAND}  # on-demand IE keeps all 150 instances


def eval_split(spec: DatasetSpec) -> str:
    return next(s for s in (*EVAL_SPLITS, *spec.splits) if s in spec.splits)


def frozen_subset(spec: DatasetSpec, cfg: InstructConfig) -> tuple[list[Record], list[Record]]:
    """(evaluated records in a fixed order, records available as demonstrations)."""
    split = eval_split(spec)
    records = list(read_cached(spec, split, cfg.data_root))
    order = list(range(len(records)))
    random.Random(f"{cfg.eval_seed}/eval/{spec.name}").shuffle(order)
    size = len(records) if spec.task in ALL_OF else min(cfg.eval_subset, len(records))
    chosen = sorted(order[:size])
    others = [s for s in spec.splits if s != split and s in ("train", "dev")]
    if others:
        demos = [r for s in others for r in read_cached(spec, s, cfg.data_root)]
    else:
        taken = set(chosen)
        demos = [records[i] for i in range(len(records)) if i not in taken] or records
    return [records[i] for i in chosen], demos


def shots(task: Task, cfg: InstructConfig) -> int:
    return cfg.shots_open if task is Task.OPENIE else cfg.shots_closed


def build_eval_sets(cfg: InstructConfig, prompts: PromptData, folder: Path) -> dict[str, dict[str, int]]:
    """Write ``folder/<dataset>/{zero_shot,few_shot}.jsonl``; return counts per dataset."""
    counts = {}
    length = prompt_length(cfg.tokenizer)
    for spec in heldout_specs():
        files = eval_rows(spec, cfg, prompts, length)
        for setting, rows in files.items():
            lines = [json.dumps(row, ensure_ascii=False, sort_keys=True) for row in rows]
            atomic_write_text(folder / spec.name / f"{setting}.jsonl", "\n".join(lines) + "\n")
        counts[spec.name] = {"instances": len(files["zero_shot"]), "shots": shots(spec.task, cfg)}
    return counts


def prompt_length(tokenizer_name: str) -> Callable[[str], int]:
    """Tokens of a user prompt with the tokenizer's chat template and generation prompt applied."""
    from transformers import AutoTokenizer

    from pipeline.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_name))

    def length(prompt: str) -> int:
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return length


def eval_rows(spec: DatasetSpec, cfg: InstructConfig, prompts: PromptData,
              length: Callable[[str], int] | None = None) -> dict[str, list[dict]]:
    """One held-out dataset's frozen subset as zero-shot and k-shot evaluation prompts."""
    length = length or prompt_length(cfg.tokenizer)
    records, demo_pool = frozen_subset(spec, cfg)
    k = shots(spec.task, cfg)
    files: dict[str, list[dict]] = {"zero_shot": [], "few_shot": []}
    for record in records:
        rng = random.Random(f"{cfg.eval_seed}/shots/{record.id}")
        candidates = rng.sample(demo_pool, min(k + 1, len(demo_pool)))
        demos = [d for d in candidates if d.id != record.id][:k]
        for setting, chosen in (("zero_shot", []), ("few_shot", demos)):
            prompt, fmt = eval_prompt(record, chosen, prompts)
            while chosen and length(prompt) > cfg.eval_max_tokens:
                chosen = chosen[:-1]
                prompt, fmt = eval_prompt(record, chosen, prompts)
            files[setting].append({
                "id": record.id,
                "dataset": spec.name,
                "task": spec.task.value,
                "setting": setting,
                "format": fmt.id,
                "demos": [d.id for d in chosen],
                "messages": [{"role": "user", "content": prompt}],
                "record": json.loads(record.to_json()),
            })
    return files
