"""Metrics of saved predictions, per dataset and setting, with bootstrap confidence intervals.

One headline metric per held-out dataset, in percent: micro F1 (normalised exact match) for closed
IE, CaRB F1 for open IE (one confidence per tuple, so the optimal-F1 point is the only point), header
soft-match F1 for on-demand IE (content ROUGE-L beside it). Intervals resample instances with a fixed
seed (percentile bootstrap, 95%); closed IE and on-demand IE resample per-instance counts, CaRB is
recomputed on each resample. Where several runs (seeds) are pooled, an instance is drawn with all of
its runs' answers. A task family's score (NER, RC, ..., and all closed IE) is the mean of
its datasets' scores; its interval pairs the datasets' resamples (a stratified bootstrap of the mean).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable

from pipeline.records import Record, Task

BOOTSTRAP = 1000
Resampler = Callable[[list], list]
CLOSED = {Task.NER, Task.RC, Task.RE, Task.ED, Task.EAE, Task.EE, Task.ERE}


def group(rows: Iterable[dict]) -> dict[tuple[str, str], list[dict]]:
    """Prediction rows by (dataset, setting), each group in id order (stable across reruns)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["setting"])].append(row)
    return {k: sorted(v, key=lambda r: r["id"]) for k, v in sorted(groups.items())}


def score_group(rows: list[dict], bootstrap: int = BOOTSTRAP, seed: int = 0) -> dict:
    """Metrics of one dataset × setting: headline ``score`` and its 95% interval, plus details."""
    task = Task(rows[0]["task"])
    records = [Record.model_validate(r["record"]) for r in rows]
    answers = [r["prediction"] for r in rows]
    rng = random.Random(f"{seed}/{rows[0]['dataset']}/{rows[0]['setting']}")  # independent draws per dataset
    draw = _instance_resampler([r["id"] for r in rows], rng)
    if task in CLOSED:
        result = _closed(task, answers, records, bootstrap, draw)
    elif task is Task.OPENIE:
        result = _openie(answers, records, bootstrap, draw)
    elif task is Task.ONDEMAND:
        result = _ondemand(answers, records, bootstrap, draw)
    else:
        raise ValueError(f"no held-out scorer for task {task.value}")
    return {"dataset": rows[0]["dataset"], "setting": rows[0]["setting"], "task": task.value,
            "instances": len(rows), **result}


def _closed(task: Task, answers, records, bootstrap: int, draw: Resampler) -> dict:
    from eval.scorers.closed_ie import score_record, sum_scores

    per_record = [score_record(task, a, r) for a, r in zip(answers, records)]
    total = sum_scores(per_record)
    main = "ee_trigger" if task is Task.EE else task.value

    def f1(sample) -> float:
        counts = [s.normalised[main] for s in sample]
        tp, pred, gold = (sum(getattr(c, k) for c in counts) for k in ("tp", "pred", "gold"))
        return 2 * tp / (pred + gold) if pred + gold else 0.0

    return {"score": 100 * total.normalised[main].f1, **_bootstrap(per_record, f1, bootstrap, draw),
            "metric": f"{main} F1", "details": total.as_dict()}


def _openie(answers, records, bootstrap: int, draw: Resampler) -> dict:
    from eval.scorers.carb import score_openie

    from pipeline.tasks import plugin

    task = plugin("openie")
    tuples = [task.parse(task.eval_format, answer, record).tuples for answer, record in zip(answers, records)]
    result = score_openie(tuples, records)
    pairs = list(zip(tuples, records))

    def f1(sample) -> float:
        return score_openie([t for t, _ in sample], [r for _, r in sample]).f1

    # CaRB's matching is recomputed per resample (answers are parsed once): fewer resamples keep it to seconds.
    return {"score": 100 * result.f1, **_bootstrap(pairs, f1, min(bootstrap, 200), draw), "metric": "CaRB F1",
            "details": result.as_dict()}


def _ondemand(answers, records, bootstrap: int, draw: Resampler) -> dict:
    from eval.scorers.ondemand import gold_answer, header_cells, header_soft_score, load_header_model, score_ondemand

    model = load_header_model()
    total = score_ondemand(answers, records, model=model)
    per = [header_soft_score([header_cells(a or "")], [header_cells(gold_answer(r))], model)
           for a, r in zip(answers, records)]

    def f1(sample) -> float:
        p_hits, p_cells = sum(s.pred_hits for s in sample), sum(s.pred_cells for s in sample)
        g_hits, g_cells = sum(s.gold_hits for s in sample), sum(s.gold_cells for s in sample)
        p, r = (p_hits / p_cells if p_cells else 0.0), (g_hits / g_cells if g_cells else 0.0)
        return 2 * p * r / (p + r) if p + r else 0.0

    return {"score": 100 * total.header.f1, **_bootstrap(per, f1, bootstrap, draw), "metric": "header F1",
            "details": total.as_dict()}


def _bootstrap(items: list, statistic, bootstrap: int, draw: Resampler) -> dict:
    """The statistic (in %) on ``bootstrap`` resamples of the items, in drawing order, and their 95% interval."""
    replicates = [100 * statistic(draw(items)) for _ in range(bootstrap)] if items else []
    return {"ci": interval(replicates), "replicates": replicates}


def _instance_resampler(ids: list[str], rng: random.Random) -> Resampler:
    """Draws one bootstrap resample of a group's items (aligned with ``ids``): instances with replacement.

    An instance answered by several pooled runs is drawn with all of its answers, so pooling seeds
    does not pass for more instances. With one answer per instance the draws are the plain
    bootstrap's, and two labels scoring the same instances draw the same instances (paired).
    """
    positions: dict[str, list[int]] = defaultdict(list)
    for i, instance in enumerate(ids):
        positions[instance].append(i)
    clusters = list(positions.values())

    def draw(items: list) -> list:
        return [items[i] for _ in range(len(clusters)) for i in clusters[rng.randrange(len(clusters))]]

    return draw


def interval(replicates: list[float]) -> list[float]:
    """The percentile 95% interval of bootstrap replicates ([0, 0] without any)."""
    if not replicates:
        return [0.0, 0.0]
    values = sorted(replicates)
    return [values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]]


def score_all(rows: Iterable[dict], bootstrap: int = BOOTSTRAP, seed: int = 0, replicates: bool = False) -> list[dict]:
    """Every (dataset, setting) group scored; ``replicates`` keeps the bootstrap draws (for :func:`families`)."""
    scored = [score_group(g, bootstrap, seed) for g in group(rows).values()]
    if not replicates:
        for row in scored:
            del row["replicates"]
    return scored


CLOSED_IE = "closed IE"


def families(scored: list[dict]) -> list[dict]:
    """Per setting, each task family's mean score over its datasets, and all closed-IE datasets together.

    ``scored`` comes from :func:`score_all` with ``replicates=True``. The b-th resample of the family
    mean averages the b-th resamples of its datasets, which are drawn independently per dataset; the
    family's resamples are kept (``replicates``) for intervals of differences between runs.
    """
    members: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in scored:
        members[(row["task"], row["setting"])].append(row)
        if Task(row["task"]) in CLOSED:
            members[(CLOSED_IE, row["setting"])].append(row)
    out = []
    for (family, setting), rows in sorted(members.items()):
        draws = min(len(r["replicates"]) for r in rows)
        means = [sum(r["replicates"][b] for r in rows) / len(rows) for b in range(draws)]
        out.append({"family": family, "setting": setting, "datasets": sorted(r["dataset"] for r in rows),
                    "instances": sum(r["instances"] for r in rows),
                    "score": sum(r["score"] for r in rows) / len(rows), "ci": interval(means), "replicates": means})
    return out
