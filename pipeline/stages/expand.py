"""``adelie expand``: self-instruct expansion of the hand-written task descriptions (ADELIE §3.2, Table 5).

Each request shows five numbered descriptions of one task, ``hand_examples`` hand-written (3) and
``generated_examples`` generated so far (2; hand-written ones fill in while fewer exist), and asks
for one more (``prompts/llm/expand.yaml``). Rounds of ``per_round`` requests per task repeat until
the task's pool holds ``pool_size`` descriptions or ``max_rounds`` rounds have passed. A candidate is
rejected when it

- lacks a placeholder every hand-written description has, or has one none of them has
  (``placeholders``; ``{text}`` style, so the description can still be filled in), or
- is a near-duplicate: ROUGE-L F1 above ``rouge_threshold`` (0.7) against any description in the pool.

Hand-written descriptions come from ``prompts/descriptions/<task>.yaml`` (``hand_written:``), or
from ``seed_descriptions: {task: [...]}`` in the recipe, which wins when given. The sampling is
seeded and the answers are replayed from the store, so a rerun rebuilds the same prompts and sends
only what is missing.

Output, in the output folder (default ``runs/expand``; pass it to ``adelie instruct`` as
``descriptions=runs/expand``):

- ``<task>.yaml`` per task::

      task: ner
      placeholders: []          # placeholders every description carries
      hand_written: [...]       # the seeds, as given
      generated: [...]          # accepted candidates, in acceptance order
      rejected: {placeholder: 2, near_duplicate: 5, empty: 0}

- ``store.jsonl``, ``manifest.json``, ``.done``.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.artifacts import atomic_write_text, hash_file, hash_json
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.llm.config import LLMConfig, add_arguments
from pipeline.llm.engine import Engine, LLMRequest, Outcome
from pipeline.llm.stage import PROMPTS_DIR, dry_run, finish, incomplete, run_stage, template, usage
from pipeline.records import Task
from pipeline.tasks.base import PROMPTS_DIR as ALL_PROMPTS

PLACEHOLDER = re.compile(r"\{(\w+)\}")
LABEL = re.compile(r"^\s*\**\s*description\s*\d+\s*\**\s*[:.)-]\s*\**\s*", re.IGNORECASE)


@dataclass
class ExpandConfig(LLMConfig):
    seed: int = help_field(0, "Seeds which examples each request shows.")
    data_root: str | None = help_field(None, "Unused by this stage; shared by the recipe.")
    output: str | None = help_field(None, "Output folder (default runs/expand); holds the store to resume from.")
    tasks: list[str] = help_field([], "Tasks to expand; empty means every task with hand-written descriptions.")
    seed_descriptions: dict = help_field({}, "Hand-written descriptions by task, in place of "
                                             "prompts/descriptions/<task>.yaml.")
    placeholders: dict = help_field({}, "Placeholders a task's descriptions must carry, e.g. {openie: [text]} "
                                        "(default: those every hand-written one has).")
    pool_size: int = help_field(31, "Descriptions per task in the end, hand-written included (paper Table 7: 27-35).")
    hand_examples: int = help_field(3, "Hand-written descriptions shown per request (paper: 3).")
    generated_examples: int = help_field(2, "Generated descriptions shown per request (paper: 2).")
    per_round: int = help_field(8, "Requests per task and round, sent concurrently.")
    max_rounds: int = help_field(20, "Give up on a task after this many rounds (its pool is written as it is).")
    rouge_threshold: float = help_field(0.7, "Reject a candidate whose ROUGE-L F1 against a pool member is above this.")
    max_tokens: int = help_field(300, "Output token cap per request.")


@dataclass
class TaskPool:
    """One task's pool as it grows: seeds, accepted candidates, rejection counts."""

    task: Task
    hand_written: list[str]
    required: frozenset[str]
    allowed: frozenset[str]
    rng: random.Random
    generated: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=lambda: {"placeholder": 0, "near_duplicate": 0, "empty": 0})

    @property
    def size(self) -> int:
        return len(self.hand_written) + len(self.generated)


# -- core ------------------------------------------------------------------------------------------
def hand_written(task: Task, config: ExpandConfig) -> list[str]:
    if task.value in config.seed_descriptions:
        return [str(d) for d in config.seed_descriptions[task.value]]
    path = ALL_PROMPTS / "descriptions" / f"{task.value}.yaml"
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("hand_written"), list):
        raise ValueError(f"{path}: expected a mapping with a hand_written: list")
    return [str(d) for d in data["hand_written"]]


def pools(config: ExpandConfig) -> list[TaskPool]:
    unknown = set(config.seed_descriptions) | set(config.placeholders) | set(config.tasks)
    unknown -= {t.value for t in Task}
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; known: {', '.join(t.value for t in Task)}")
    wanted = [Task(t) for t in config.tasks] if config.tasks else list(Task)
    out = []
    for task in wanted:
        seeds = hand_written(task, config)
        if not seeds:
            if config.tasks:
                raise ValueError(f"no hand-written descriptions for {task.value}: add prompts/descriptions/"
                                 f"{task.value}.yaml or seed_descriptions.{task.value}")
            continue
        if task.value in config.placeholders:
            required = allowed = frozenset(config.placeholders[task.value])
        else:
            found = [set(PLACEHOLDER.findall(d)) for d in seeds]
            required, allowed = frozenset(set.intersection(*found)), frozenset(set.union(*found))
        out.append(TaskPool(task, seeds, required, allowed, random.Random(f"{config.seed}/expand/{task.value}")))
    if not out:
        raise ValueError("no task has hand-written descriptions: add prompts/descriptions/<task>.yaml "
                         "or seed_descriptions")
    return out


def request_for(pool: TaskPool, config: ExpandConfig, variant: str) -> LLMRequest:
    spec = template("expand")
    n_generated = min(config.generated_examples, len(pool.generated))
    n_hand = min(len(pool.hand_written), config.hand_examples + config.generated_examples - n_generated)
    shown = pool.rng.sample(pool.hand_written, n_hand) + pool.rng.sample(pool.generated, n_generated)
    examples = "\n".join(spec["example"].format(number=i, text=text) for i, text in enumerate(shown, 1))
    rules = spec["placeholder_rules"]
    rule = (rules["some"].format(placeholders=", ".join(f"{{{p}}}" for p in sorted(pool.required)))
            if pool.required else rules["none"])
    info = spec["tasks"][pool.task.value]
    content = spec["prompt"].format(task_name=info["name"], task_summary=info["summary"], placeholder_rule=rule,
                                    examples=examples, next=len(shown) + 1)
    return LLMRequest.user(content, tag=f"{pool.task.value}/{variant}", variant=variant)


def candidate(answer: str) -> str:
    """The description in a reply: its first paragraph, without a "Description N:" label or quotes."""
    text = LABEL.sub("", answer.strip())
    text = re.split(r"\n\s*\n|\n\s*\**\s*description\s*\d+", text, maxsplit=1, flags=re.IGNORECASE)[0]
    return " ".join(text.split()).strip("\"'“”")


class Judge:
    """Accepts or rejects candidates into a pool (placeholders, then ROUGE-L near-duplicates)."""

    def __init__(self, threshold: float):
        from rouge_score import rouge_scorer

        self.threshold = threshold
        self.scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)

    def offer(self, pool: TaskPool, text: str) -> bool:
        if not text:
            pool.rejected["empty"] += 1
            return False
        used = set(PLACEHOLDER.findall(text))
        if not pool.required <= used or not used <= pool.allowed:
            pool.rejected["placeholder"] += 1
            return False
        if any(self.scorer.score(other, text)["rougeL"].fmeasure > self.threshold
               for other in pool.hand_written + pool.generated):
            pool.rejected["near_duplicate"] += 1
            return False
        pool.generated.append(text)
        return True


def expand(config: ExpandConfig, task_pools: list[TaskPool], engine: Engine) -> list[Outcome]:
    """Grow every pool round by round; stops early (returning the incomplete outcome last) when a
    round could not finish."""
    judge = Judge(config.rouge_threshold)
    outcomes = []
    for round_ in range(config.max_rounds):
        batch: list[tuple[TaskPool, LLMRequest]] = []
        for pool in task_pools:
            missing = config.pool_size - pool.size
            batch += [(pool, request_for(pool, config, f"{round_}/{i}")) for i in range(min(config.per_round, missing))]
        if not batch:
            break
        outcome = engine.run([request for _, request in batch], desc=f"expand round {round_ + 1}")
        outcomes.append(outcome)
        if not outcome.complete:
            break
        for pool, request in batch:
            if pool.size < config.pool_size:
                judge.offer(pool, candidate(outcome.results[engine.key(request)]["content"]))
    return outcomes


def pool_yaml(pool: TaskPool) -> str:
    return yaml.safe_dump({"task": pool.task.value, "placeholders": sorted(pool.required),
                           "hand_written": pool.hand_written, "generated": pool.generated, "rejected": pool.rejected},
                          allow_unicode=True, sort_keys=False, width=1000)


# -- CLI -------------------------------------------------------------------------------------------
def run(config: ExpandConfig, args: argparse.Namespace) -> int:
    return run_stage("expand", config, args, _run)


def _run(config: ExpandConfig, folder: Path) -> int:
    if config.pool_size < 1 or config.per_round < 1 or config.max_rounds < 1:
        raise ValueError("pool_size, per_round and max_rounds must be at least 1")
    task_pools = pools(config)
    engine = Engine(config, folder)
    if config.dry_run:
        first = [request_for(p, config, f"0/{i}") for p in task_pools for i in range(config.pool_size - p.size)]
        return dry_run("expand", engine, first, note="(one request per missing description: the least it can take; "
                                                     "rejected candidates add more)")
    outcomes = expand(config, task_pools, engine)
    if outcomes and not outcomes[-1].complete:
        return incomplete("expand", engine, outcomes[-1])
    for pool in task_pools:
        atomic_write_text(folder / f"{pool.task.value}.yaml", pool_yaml(pool))
    short = {p.task.value: p.size for p in task_pools if p.size < config.pool_size}
    inputs = {"seeds": hash_json({p.task.value: p.hand_written for p in task_pools}),
              "prompt": hash_file(PROMPTS_DIR / "expand.yaml")}
    finish("expand", engine, config, inputs, {
        "llm": usage(engine, outcomes),
        "pools": {p.task.value: {"size": p.size, "generated": len(p.generated), "rejected": p.rejected}
                  for p in task_pools},
        "short_of_pool_size": short,
    })
    if short:
        print(f"adelie expand: after {config.max_rounds} rounds these pools are short of {config.pool_size}: {short}")
    return 0


STAGE = Stage(
    name="expand",
    help="LLM self-instruct expansion of task descriptions (paper Table 5), resumable and cost-capped",
    description=__doc__,
    config=ExpandConfig,
    run=run,
    add_arguments=add_arguments,
)
