"""The sampling prompts of IEFeedback: built like IEInstruct, answered in the evaluation formats.

Paper App. B.1: 50,000 records are drawn from the raw training datasets as for IEInstruct (NA filtering,
decontamination, examples-proportional caps), and the only difference is the output format, which is
the task's single evaluation format (Table 9) so that BLEU against the gold answer is meaningful. The
prompt is :func:`pipeline.instruct.compose.eval_prompt` (fixed description, full schema, evaluation
format, optional demonstrations, input block); demonstrations are drawn as IEInstruct draws them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.instruct.compose import draw_demos, eval_prompt
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.pool import PoolStats, collect, mixture
from pipeline.instruct.prompts import load_prompts
from pipeline.records import Record
from pipeline.tasks import plugin
from pipeline.tasks.base import ANSWER_MARK


@dataclass
class PromptRow:
    """One sampling prompt with its gold answer; ``samples`` is filled by ``adelie sample``."""

    id: str
    dataset: str
    task: str
    format: str
    prompt: list[dict[str, str]]
    gold: str
    demos: list[str] = field(default_factory=list)
    seed: int = 0
    samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def gold_answer(record: Record) -> str:
    """The reference answer: ``[Answer]: `` and the record rendered in its task's evaluation format."""
    p = plugin(record.task)
    return f"{ANSWER_MARK} {p.render(p.eval_format, record)}"


def request_seed(seed: int, record_id: str) -> int:
    """A per-prompt sampling seed, stable across runs and independent of the prompt's position."""
    return random.Random(f"{seed}/sample/{record_id}").getrandbits(31)


def excluded_ids(instruct_folder: str | None) -> set[str]:
    """Record ids used by an IEInstruct corpus (``adelie instruct`` output), to sample other records."""
    if not instruct_folder:
        return set()
    from datasets import load_from_disk

    path = Path(instruct_folder) / "dataset"
    if not path.exists():
        raise FileNotFoundError(f"{path} is not an `adelie instruct` dataset folder")
    return set(load_from_disk(str(path))["record_id"])


def build_prompts(cfg: InstructConfig, exclude: set[str] = frozenset()) -> tuple[list[PromptRow], PoolStats]:
    """The prompts, in the seeded mixture order; ``cfg.max_instances`` caps their number."""
    pool, stats = collect(cfg)
    if exclude:
        pool = {name: [r for r in records if r.id not in exclude] for name, records in pool.items()}
    chosen = mixture(pool, cfg, stats)
    prompts = load_prompts(cfg.descriptions)
    missing = sorted({r.task.value for r in chosen} - {t.value for t in prompts.descriptions})
    if missing:
        raise FileNotFoundError(f"no task descriptions for {', '.join(missing)} in prompts/descriptions/")
    rows = []
    for record in chosen:
        rng = random.Random(f"{cfg.seed}/feedback/{record.id}")
        demos = draw_demos(record, pool[record.dataset], cfg, rng, accept=lambda d: True)
        text, fmt = eval_prompt(record, demos, prompts)
        rows.append(
            PromptRow(
                id=record.id,
                dataset=record.dataset,
                task=record.task.value,
                format=fmt.id,
                prompt=[{"role": "user", "content": text}],
                gold=gold_answer(record),
                demos=[d.id for d in demos],
                seed=request_seed(cfg.seed, record.id),
            )
        )
    return rows, stats
