"""From lm-eval's results to the general-capability table.

lm-eval reports every task on its own (``"acc,none": 0.41``, ``"exact_match,answer": 0.2``). A
benchmark with subtasks (MMLU subjects, BBH tasks) is summarised by the **macro** average over its
subtasks, every subtask weighing the same, as the MMLU and BBH papers report them; the item-weighted
micro average is kept beside it. The table's ``commonsense`` value is the mean over the seven
commonsense columns and ``average`` the mean over all nine, as the paper's Tables 4 and 10; each is
left out (``None``) unless every column it needs was scored, so a partial run never shows a
misleading average. Only the lm-eval results are read: a finished run is re-scored without a model.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any

from eval.general.benchmarks import COLUMNS, TASK_PREFIX, Benchmark, benchmarks


def task_metrics(task_result: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """``{"acc,none": .., "acc_stderr,none": ..}`` → (metrics, standard errors) by bare metric name.

    A benchmark uses one filter per metric, so dropping the filter part loses nothing; lm-eval writes
    ``"N/A"`` where it computed no standard error, which is left out.
    """
    metrics: dict[str, float] = {}
    errors: dict[str, float] = {}
    for key, value in task_result.items():
        name, sep, _filter = key.partition(",")
        if not sep or not isinstance(value, int | float):
            continue
        if name.endswith("_stderr"):
            errors[name.removesuffix("_stderr")] = float(value)
        else:
            metrics[name] = float(value)
    return metrics, errors


def benchmark_entry(bench: Benchmark, results: dict[str, Any]) -> dict[str, Any]:
    """The table entry of one benchmark from the lm-eval results of its run.

    ``score`` is the benchmark's metric (macro over subtasks), ``metrics`` every metric likewise
    averaged, ``n`` the number of scored items, ``seconds`` the evaluation's wall time; benchmarks
    with subtasks add ``micro`` and the per-subtask ``subtasks`` (metrics and ``n`` each), single-task
    ones the ``stderr`` lm-eval computed.
    """
    prefix = f"{TASK_PREFIX}{bench.name}_" if bench.subtasks else TASK_PREFIX
    per_task: dict[str, tuple[dict[str, float], dict[str, float], int]] = {}
    for task, task_result in sorted(results["results"].items()):
        metrics, errors = task_metrics(task_result)
        if bench.score not in metrics:
            raise ValueError(f"{task}: lm-eval reported no {bench.score!r} (got {', '.join(metrics) or 'nothing'})")
        per_task[task.removeprefix(prefix)] = metrics, errors, int(results["n-samples"][task]["effective"])
    if not per_task:
        raise ValueError(f"{bench.name}: the lm-eval results hold no task")
    names = sorted({name for metrics, _, _ in per_task.values() for name in metrics})
    macro = {name: fmean(m[name] for m, _, _ in per_task.values() if name in m) for name in names}
    entry: dict[str, Any] = {
        "column": bench.table_column,
        "metric": bench.score,
        "score": macro[bench.score],
        "metrics": macro,
        "n": sum(n for _, _, n in per_task.values()),
        "seconds": results.get("total_evaluation_time_seconds"),
    }
    if bench.subtasks:
        entry["micro"] = sum(m[bench.score] * n for m, _, n in per_task.values()) / max(entry["n"], 1)
        entry["subtasks"] = {sub: {**m, "n": n} for sub, (m, _, n) in per_task.items()}
    else:
        entry["stderr"] = next(iter(per_task.values()))[1]
    return entry


def table(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Columns, the commonsense mean and the overall mean from benchmark entries (by benchmark name)."""
    columns = {entry["column"]: entry["score"] for entry in entries.values()}
    commonsense = [b.table_column for b in benchmarks().values() if b.group == "commonsense"]
    ordered = {column: columns[column] for column in COLUMNS if column in columns}
    return {
        "columns": ordered,
        "commonsense": _mean_if_complete(columns, dict.fromkeys(commonsense)),
        "average": _mean_if_complete(columns, COLUMNS),
    }


def _mean_if_complete(columns: dict[str, float], needed) -> float | None:
    return fmean(columns[c] for c in needed) if all(c in columns for c in needed) else None
