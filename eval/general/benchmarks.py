"""General-capability benchmarks as lm-eval task configs over the registry's benchmark items.

Each ``eval/tasks/<name>.yaml`` declares one benchmark: the registry dataset and split it scores, the
lm-eval prompt fields (``lm_eval:``, copied into every task config), the metric that fills its table
column (``score``), and where few-shot exemplars come from. This module turns a benchmark into
plain-dict lm-eval task configs (lm-eval's ``TaskManager(include_defaults=False)`` takes dicts, which
spares indexing its 200+ built-in task folders) over JSON-lines files it writes under a data folder.

Every data file is written from :class:`pipeline.records.BenchmarkItem` records read through the
registry, one row ``{id, question, choices?, answer}`` per item, and referenced by absolute path:
lm-eval resolves a relative ``data_files`` entry against the current directory, not the config's.
Nothing is read from a hub.

Few-shot exemplars always sit in a ``fewshot`` split file of their own and are taken in file order
(lm-eval's ``first_n`` sampler), so prompts do not depend on a seed: MMLU takes the registry's dev rows
of the same subject, BBH the BBH authors' exemplars as shipped inside the installed lm-eval package.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.artifacts import atomic_write_bytes
from pipeline.records import BenchmarkItem

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
COLUMNS = ("mmlu", "bbh", "hellaswag", "arc_easy", "arc_challenge", "winogrande", "openbookqa", "siqa", "piqa")
"""The general-capability table, in the order of the paper's Table 10."""
TASK_PREFIX = "adelie_"  # keeps generated task names apart from lm-eval's built-in ones
TEST, FEWSHOT = "test", "fewshot"  # split names inside the generated configs
_MC_METRICS = [
    {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
    {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
]


@dataclass(frozen=True)
class Benchmark:
    """One ``eval/tasks/*.yaml`` file; the fields mirror its keys."""

    name: str
    dataset: str
    """Registry dataset whose items are scored."""
    split: str
    score: str
    """The lm-eval metric reported in the table (macro-averaged over subtasks)."""
    lm_eval: dict[str, Any]
    """lm-eval task-config fields shared by every task of the benchmark."""
    column: str = ""
    """Table column it fills (default: its name); two benchmarks may offer one column."""
    group: str = ""
    """Table average it belongs to (``commonsense``)."""
    subtasks: bool = False
    """One lm-eval task per subtask, the third part of the item ids (MMLU subjects, BBH tasks)."""
    fewshot_split: str = ""
    """Exemplars: the registry's items of this split with the same subtask."""
    fewshot_prompts: str = ""
    """Exemplars: ``fewshot_config.samples`` of ``lm_eval/tasks/<this>/<subtask>.yaml``."""
    description: str = ""
    """Text before the prompt; ``{subtask}`` becomes the subtask name with spaces."""
    preprocess: str = ""
    """A text clean-up applied to questions and choices (see ``PREPROCESS``)."""

    @property
    def table_column(self) -> str:
        return self.column or self.name


def _clean_hellaswag(text: str) -> str:
    """HellaSwag's WikiHow rows carry markup: "[title]" ends a heading, other [tags] are noise."""
    text = text.strip().replace(" [title]", ". ")
    return re.sub(r"\[.*?\]", "", text).replace("  ", " ")


PREPROCESS = {"hellaswag": _clean_hellaswag}


@cache
def benchmarks() -> dict[str, Benchmark]:
    """Every benchmark of ``eval/tasks/``, by name; a malformed file is an error naming it."""
    found: dict[str, Benchmark] = {}
    for path in sorted(TASKS_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text()) or {}
        try:
            bench = Benchmark(**raw)
        except TypeError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if bench.name != path.stem:
            raise ValueError(f"{path}: name {bench.name!r} must match the file name")
        if bench.table_column not in COLUMNS:
            raise ValueError(f"{path}: column {bench.table_column!r} is not one of {', '.join(COLUMNS)}")
        if bench.preprocess and bench.preprocess not in PREPROCESS:
            raise ValueError(f"{path}: unknown preprocess {bench.preprocess!r}")
        if bench.fewshot_split and bench.fewshot_prompts:
            raise ValueError(f"{path}: fewshot_split and fewshot_prompts exclude each other")
        found[bench.name] = bench
    return found


def select(tasks: Sequence[str] | None = None) -> dict[str, tuple[str, ...] | None]:
    """Benchmark name → chosen subtasks (``None``: all of them).

    ``tasks`` names benchmarks (``"mmlu"``) or single subtasks (``"mmlu/anatomy"``); ``None`` is the
    paper's table. Two benchmarks filling one column (``bbh`` and ``bbh_direct``) cannot be combined.
    """
    known = benchmarks()
    chosen: dict[str, list[str] | None] = {}
    for entry in COLUMNS if tasks is None else tasks:
        name, _, subtask = entry.partition("/")
        if name not in known:
            raise ValueError(f"unknown general benchmark {name!r}; known: {', '.join(known)}")
        if subtask and not known[name].subtasks:
            raise ValueError(f"{name} has no subtasks, so {entry!r} selects nothing")
        if not subtask:
            chosen[name] = None
        elif chosen.get(name, []) is not None:
            chosen.setdefault(name, []).append(subtask)
    columns: dict[str, str] = {}
    for name in chosen:
        other = columns.setdefault(known[name].table_column, name)
        if other != name:
            raise ValueError(f"{other} and {name} both fill the {known[name].table_column} column; choose one")
    return {name: None if subs is None else tuple(dict.fromkeys(subs)) for name, subs in chosen.items()}


def subtask_of(item: BenchmarkItem) -> str:
    """``mmlu/test/<subject>/<index>`` → ``<subject>``."""
    parts = item.id.split("/")
    if len(parts) != 4:
        raise ValueError(f"item id {item.id!r} has no subtask part")
    return parts[2]


def _row(item: BenchmarkItem, clean) -> dict[str, Any]:
    row: dict[str, Any] = {"id": item.id, "question": clean(item.question)}
    if item.choices:
        row["choices"] = [clean(c) for c in item.choices]
    row["answer"] = item.answer
    return row


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write unless the file already holds these bytes: an unchanged file keeps its mtime, and with it
    the ``datasets`` cache entry built from it."""
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    if not path.exists() or path.read_bytes() != data:
        atomic_write_bytes(path, data)
    return path


def _grouped(items: Iterable[BenchmarkItem], by_subtask: bool) -> dict[str, list[BenchmarkItem]]:
    groups: dict[str, list[BenchmarkItem]] = defaultdict(list)
    for item in items:
        groups[subtask_of(item) if by_subtask else ""].append(item)
    return groups


def lm_eval_prompts(folder: str, subtask: str) -> tuple[str, list[dict[str, str]]]:
    """The description and exemplars (``input``/``target``) of one task file shipped with lm-eval.

    Located without importing lm-eval (importing it is slow); a missing file is an error."""
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("lm-eval is not installed (pip install 'lm-eval[hf]')")
    path = Path(spec.submodule_search_locations[0]) / "tasks" / folder / f"{subtask}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: this lm-eval version has no {folder} prompts for {subtask}")
    raw = yaml.safe_load(path.read_text())
    return raw.get("description", ""), list(raw["fewshot_config"]["samples"])


def task_configs(
    bench: Benchmark,
    data_dir: Path,
    cache_dir: Path,
    subtasks: Sequence[str] | None = None,
    data_root: Path | str | None = None,
) -> list[dict[str, Any]]:
    """lm-eval task configs for one benchmark, writing the JSON-lines files they point at.

    Files go to ``data_dir/<benchmark>/[<subtask>/]{test,fewshot}.jsonl`` (absolute paths in the
    configs); ``cache_dir`` is where ``datasets`` keeps its Arrow copies. ``subtasks`` restricts a
    benchmark with subtasks to those named (an unknown one is an error listing the known ones).
    """
    from corpora.registry import get

    data_dir, cache_dir = Path(data_dir).resolve(), Path(cache_dir).resolve()
    spec = get(bench.dataset)
    clean = PREPROCESS.get(bench.preprocess, lambda text: text)
    groups = _grouped(spec.read(bench.split, data_root), bench.subtasks)
    pools = _grouped(spec.read(bench.fewshot_split, data_root), bench.subtasks) if bench.fewshot_split else {}
    names = list(groups) if subtasks is None else list(subtasks)
    unknown = [name for name in names if name not in groups]
    if unknown:
        raise ValueError(f"{bench.name} has no subtask {', '.join(unknown)}; known: {', '.join(sorted(groups))}")

    configs = []
    for subtask in names:
        folder = data_dir / bench.name / subtask if subtask else data_dir / bench.name
        files = {TEST: _write_jsonl(folder / f"{TEST}.jsonl", (_row(i, clean) for i in groups[subtask]))}
        description = bench.description.format(subtask=subtask.replace("_", " "))
        exemplars: list[dict[str, Any]] = []
        if bench.fewshot_split:
            exemplars = [_row(i, clean) for i in pools.get(subtask, [])]
        elif bench.fewshot_prompts:
            description, samples = lm_eval_prompts(bench.fewshot_prompts, subtask)
            exemplars = [
                {"id": f"lm_eval:{bench.fewshot_prompts}/{subtask}/{i}", "question": s["input"], "answer": s["target"]}
                for i, s in enumerate(samples)
            ]
        config = copy.deepcopy(bench.lm_eval)
        shots = config.get("num_fewshot", 0)
        if len(exemplars) < shots:
            raise ValueError(f"{bench.name}/{subtask}: {shots}-shot needs {shots} exemplars, found {len(exemplars)}")
        if exemplars:
            files[FEWSHOT] = _write_jsonl(folder / f"{FEWSHOT}.jsonl", exemplars)
            config |= {"fewshot_split": FEWSHOT, "fewshot_config": {"sampler": "first_n"}}
        if config.get("output_type") == "multiple_choice":
            config.setdefault("metric_list", copy.deepcopy(_MC_METRICS))
        configs.append({
            "task": TASK_PREFIX + (f"{bench.name}_{subtask}" if subtask else bench.name),
            "dataset_path": "json",
            "dataset_kwargs": {
                "data_files": {split: str(path) for split, path in files.items()},
                "cache_dir": str(cache_dir),
            },
            "test_split": TEST,
            "description": description,
            **config,
            "metadata": {"version": 1, "benchmark": bench.name, "subtask": subtask},
        })
    return configs
