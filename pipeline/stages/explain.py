"""``adelie explain``: chain-of-thought explanations of gold answers (ADELIE Appendix A.2, Table 6).

For each IE task, ``instances`` records (1,000 by default) are sampled from the training pool (every
split of the registry's ``train`` datasets of that task; records with nothing to extract are skipped
unless ``skip_empty=false``). Each request shows the task question (``prompts/llm/explain.yaml``)
with the input and the gold answer rendered in the task's evaluation format, and asks for a
step-by-step explanation of at most N words, N drawn per record between ``min_words`` and
``max_words`` (seeded, so a rerun asks the same).

Output, in the output folder (default ``runs/explain``):

- ``explanations.jsonl``: the explanation store ``adelie instruct`` reads (``explanations=PATH``),
  one JSON line per record, in sampling order::

      {"record_id": "conll04/train/12", "dataset": "conll04", "task": "re",
       "format_id": "re-triplet-table9", "words": 137, "explanation": "..."}

  Keyed by ``record_id`` + ``format_id`` (the format the explained answer was written in). Text the
  model adds after an ``[Answer]`` mark is cut off: IEInstruct appends the answer itself.
- ``store.jsonl`` (every answer received, the resume point), ``manifest.json``, ``.done``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from corpora.registry import DatasetSpec, Role, registry, resolve_data_root
from pipeline.artifacts import atomic_write_text, hash_file, hash_json
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.llm.config import LLMConfig, add_arguments
from pipeline.llm.engine import Engine, LLMRequest
from pipeline.llm.stage import PROMPTS_DIR, dry_run, finish, incomplete, run_stage, template, usage
from pipeline.records import Record, Task
from pipeline.tasks import PLUGINS, plugin
from pipeline.tasks.base import ANSWER_MARK

OUTPUT_FILE = "explanations.jsonl"


@dataclass
class ExplainConfig(LLMConfig):
    seed: int = help_field(0, "Seeds the sampling of records and of their word limits.")
    data_root: str | None = help_field(None, "Folder of the raw datasets (also --data-root).")
    output: str | None = help_field(None, "Output folder (default runs/explain); holds the store to resume from.")
    tasks: list[str] = help_field([], "IE tasks to explain; empty means every task with a training pool.")
    datasets: list[str] = help_field([], "Training-pool datasets to sample from; empty means all of them.")
    instances: int = help_field(1000, "Records sampled per task (paper: 1,000).")
    skip_empty: bool = help_field(True, "Skip records with nothing to extract (explaining 'none' teaches little).")
    min_words: int = help_field(70, "Lowest word limit drawn per record (paper: 70).")
    max_words: int = help_field(200, "Highest word limit drawn per record (paper: 200).")
    max_tokens: int = help_field(400, "Output token cap per request (200 words are about 270 tokens).")


@dataclass(frozen=True)
class Item:
    """One record to explain and its request."""

    record: Record
    format_id: str
    words: int
    request: LLMRequest


# -- core ------------------------------------------------------------------------------------------
def pool_specs(config: ExplainConfig) -> list[DatasetSpec]:
    """The training-pool datasets of the selected tasks (held-out data is never explained)."""
    tasks = {Task(t) for t in config.tasks} if config.tasks else set(PLUGINS)
    specs = [s for s in registry().values() if s.role is Role.TRAIN and s.task in tasks and s.task in PLUGINS]
    if config.datasets:
        unknown = set(config.datasets) - {s.name for s in specs}
        if unknown:
            raise ValueError(f"not training-pool datasets of the selected tasks: {', '.join(sorted(unknown))}")
        specs = [s for s in specs if s.name in config.datasets]
    return specs


def sample(config: ExplainConfig, data_root: Path) -> dict[Task, list[Record]]:
    """``instances`` records per task: a seeded reservoir sample over every split of its datasets."""
    reservoirs: dict[Task, list[Record]] = {}
    seen: dict[Task, int] = {}
    for spec in tqdm(pool_specs(config), desc="sampling records", unit="dataset", file=sys.stderr):
        rng = random.Random(f"{config.seed}/explain/{spec.task.value}/{spec.name}")
        reservoir = reservoirs.setdefault(spec.task, [])
        for split in spec.splits:
            for record in spec.read(split, data_root):
                if config.skip_empty and not plugin(record.task).items(record.gold):
                    continue
                seen[spec.task] = seen.get(spec.task, 0) + 1
                if len(reservoir) < config.instances:
                    reservoir.append(record)
                else:
                    slot = rng.randrange(seen[spec.task])
                    if slot < config.instances:
                        reservoir[slot] = record
    return reservoirs


def question(record: Record) -> str:
    """The task question for ``record``: instruction, label set, format description and input."""
    p = plugin(record.task)
    given = record.given
    labels = record.label_set.labels
    values = {"text": record.text, "format": p.eval_format.description, "labels": ", ".join(labels),
              "text_labels": ", ".join(record.label_set.text_labels), "request": record.instruction,
              "task_word": record.instruction or "NER"}
    if len(given.entities) >= 2:
        values |= {"head": given.entities[0].text, "tail": given.entities[1].text}
    if given.events:
        event = given.events[0]
        values |= {"trigger": event.trigger, "event_type": event.type, "head_event": event.trigger,
                   "tail_event": given.events[-1].trigger}
        if record.task is Task.EAE:
            values["labels"] = ", ".join(record.label_set.roles.get(event.type, ()) or labels)
    if record.task is Task.EE:
        roles = record.label_set.roles
        values["labels"] = "; ".join(f"{t} ({', '.join(roles[t])})" if roles.get(t) else t for t in labels)
    try:
        return template("explain")["questions"][record.task.value].format(**values)
    except KeyError as exc:
        raise ValueError(f"{record.id}: the {record.task.value} question needs {exc.args[0]!r}, "
                         "which the record lacks") from None


def word_limit(config: ExplainConfig, record: Record) -> int:
    return random.Random(f"{config.seed}/explain/words/{record.id}").randint(config.min_words, config.max_words)


def items(config: ExplainConfig, records: dict[Task, list[Record]]) -> list[Item]:
    prompt = template("explain")["prompt"]
    out = []
    for task in sorted(records, key=lambda t: t.value):
        p = plugin(task)
        for record in records[task]:
            words = word_limit(config, record)
            content = prompt.format(words=words, question=question(record), answer=p.render(p.eval_format, record))
            out.append(Item(record, p.eval_format.id, words, LLMRequest.user(content, tag=record.id)))
    return out


def clean(explanation: str) -> str:
    """The explanation without a heading echo or a trailing answer the model may add."""
    text = explanation.split(ANSWER_MARK)[0].split("[Answer]")[0]
    return re.sub(r"^\s*\[?Step-by-Step Explanation\]?:?\s*", "", text, flags=re.IGNORECASE).strip()


def explanation_lines(work: list[Item], results: dict[str, dict], engine: Engine) -> list[dict]:
    lines = []
    for item in work:
        text = clean(results[engine.key(item.request)]["content"])
        if text:
            lines.append({"record_id": item.record.id, "dataset": item.record.dataset, "task": item.record.task.value,
                          "format_id": item.format_id, "words": item.words, "explanation": text})
    return lines


# -- CLI -------------------------------------------------------------------------------------------
def run(config: ExplainConfig, args: argparse.Namespace) -> int:
    return run_stage("explain", config, args, _run)


def _run(config: ExplainConfig, folder: Path) -> int:
    if not 0 < config.min_words <= config.max_words:
        raise ValueError(f"need 0 < min_words <= max_words, not {config.min_words} and {config.max_words}")
    data_root = resolve_data_root(config.data_root)
    specs = pool_specs(config)
    work = items(config, sample(config, data_root))
    engine = Engine(config, folder)
    requests = [item.request for item in work]
    if config.dry_run:
        return dry_run("explain", engine, requests)
    outcome = engine.run(requests, desc="explain")
    if not outcome.complete:
        return incomplete("explain", engine, outcome)
    lines = explanation_lines(work, outcome.results, engine)
    atomic_write_text(folder / OUTPUT_FILE, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    files = [path for spec in specs for split in spec.splits for path in spec.files(split, data_root)]
    inputs = {"datasets": hash_json(sorted(hash_file(path) for path in files)),
              "prompt": hash_file(PROMPTS_DIR / "explain.yaml")}
    per_task = {t.value: sum(1 for i in work if i.record.task is t) for t in {i.record.task for i in work}}
    finish("explain", engine, config, inputs, {"llm": usage(engine, [outcome]), "records_per_task": per_task,
                                               "explanations": len(lines), "empty_dropped": len(work) - len(lines)})
    return 0


STAGE = Stage(
    name="explain",
    help="LLM chain-of-thought explanations of gold answers (paper Table 6), resumable and cost-capped",
    description=__doc__,
    config=ExplainConfig,
    run=run,
    add_arguments=add_arguments,
)
