"""The evaluation report: Markdown and HTML with plots, comparing labelled runs (base / SFT / DPO...).

Runs given the same label (several seeds of one recipe) are pooled: their predictions are scored
together, the bootstrap drawing each instance with all of its runs' answers; each such run is also
scored alone for the *Seeds* table (mean ± standard deviation over seeds, as papers report). Task
families (NER, RC, ..., all closed IE) average their datasets' scores
(:func:`pipeline.evaluate.score.families`).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

from pipeline.evaluate.predict import read_predictions
from pipeline.evaluate.score import CLOSED, CLOSED_IE, families, interval, score_all
from pipeline.records import Task

Z95 = 1.96  # a standard error times this is the half-width of a normal 95% interval


def parse_runs(targets: list[str]) -> dict[str, list[Path]]:
    """``LABEL=PATH`` or ``PATH`` (labelled by its folder name) → label → eval output folders."""
    runs: dict[str, list[Path]] = defaultdict(list)
    for target in targets:
        label, _, path = target.rpartition("=")
        folder = Path(path)
        if not (folder / "scores.json").exists():
            raise FileNotFoundError(f"{target!r}: {folder} is not an `adelie eval` output (no scores.json)")
        runs[label or folder.name].append(folder)
    return dict(runs)


def collect(runs: dict[str, list[Path]], bootstrap: int = 1000, seed: int = 0,
            names: dict[Path, str] | None = None) -> dict:
    """Per label: pooled IE scores per dataset and per task family, and mean general-capability scores.

    A label with several runs also gets each run's summary (:func:`_run_summary`) under ``runs``,
    named by ``names`` (default: the folder's name).
    """
    table: dict = {"ie": {}, "families": {}, "general": {}, "general_se": {}, "runs": {},
                   "seeds": {label: len(paths) for label, paths in runs.items()}}
    for label, paths in runs.items():
        benchmarks = {path: _general_scores(path) for path in paths}
        if len(paths) > 1:
            table["runs"][label] = [_run_summary(path, (names or {}).get(path, path.name), benchmarks[path])
                                    for path in paths]
        scored = score_all(read_predictions([p / "predictions" for p in paths]), bootstrap, seed, replicates=True)
        table["families"][label] = {(f["family"], f["setting"]): f for f in families(scored)}
        table["ie"][label] = {(s["dataset"], s["setting"]): {k: v for k, v in s.items() if k != "replicates"}
                              for s in scored}
        general: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
        for path in paths:
            for task, value in benchmarks[path].items():
                general[task].append(value)
        pooled = {task: _mean_and_se(seeds) for task, seeds in general.items()}
        table["general"][label] = {task: 100 * mean for task, (mean, _) in pooled.items()}
        table["general_se"][label] = {task: 100 * se for task, (_, se) in pooled.items() if se is not None}
    return table


def _run_summary(path: Path, name: str, general: dict[str, tuple[float, float | None]]) -> dict:
    """One run scored alone: its closed-IE F1 per setting and the average of its ``general`` scores."""
    summary: dict = {"name": name}
    # Only closed IE is summarised: open and on-demand IE (CaRB's matching, the header model) are not scored.
    closed = (row for row in read_predictions([path / "predictions"]) if Task(row["task"]) in CLOSED)
    for family in families(score_all(closed, bootstrap=0, replicates=True)):
        if family["family"] == CLOSED_IE:
            summary[family["setting"]] = family["score"]
    if general:
        summary["general"] = 100 * sum(score for score, _ in general.values()) / len(general)
    return summary


def _mean_and_se(estimates: list[tuple[float, float | None]]) -> tuple[float, float | None]:
    """The mean of independent (value, standard error) estimates and its standard error (None if one has none)."""
    mean = sum(value for value, _ in estimates) / len(estimates)
    if any(se is None for _, se in estimates):
        return mean, None
    return mean, math.sqrt(sum(se**2 for _, se in estimates)) / len(estimates)


def _general_scores(path: Path) -> dict[str, tuple[float, float | None]]:
    """Benchmark → (score, standard error), as fractions, from the ``general`` part of an eval's scores.json.

    The standard error is lm-eval's where it computed one for the scored metric, else the binomial one
    of an accuracy over the benchmark's n items (BBH's aggregate has none of its own).
    """
    general = json.loads((path / "scores.json").read_text()).get("general") or {}
    scores = {}
    for name, entry in general.get("benchmarks", {}).items():
        score, n = float(entry["score"]), int(entry.get("n") or 0)
        se = (entry.get("stderr") or {}).get(entry.get("metric"))
        if se is None and n:
            se = math.sqrt(score * (1 - score) / n)
        scores[name] = (score, se)
    return scores


def _general_average(table: dict, label: str, tasks: list[str]) -> tuple[float, float | None] | None:
    """The mean over ``tasks`` of a label's general scores and its standard error; None if a task is missing."""
    scores, errors = table["general"].get(label, {}), table["general_se"].get(label, {})
    if any(task not in scores for task in tasks):
        return None
    return _mean_and_se([(scores[task], errors.get(task)) for task in tasks])


def parse_comparisons(specs: list[str], labels: list[str]) -> list[tuple[str, str]]:
    """``A-B`` → (A, B), split at the hyphen that leaves two known labels (labels may hold hyphens).

    Without specs, every later label is compared with the first (the baseline).
    """
    if not specs:
        return [(label, labels[0]) for label in labels[1:]]
    pairs = []
    for spec in specs:
        splits = [(spec[:i], spec[i + 1:]) for i, c in enumerate(spec) if c == "-"]
        found = [(a, b) for a, b in splits if a in labels and b in labels]
        if len(found) != 1:
            raise ValueError(f"comparison {spec!r}: expected MINUEND-SUBTRAHEND with two of the labels {labels}")
        pairs.append(found[0])
    return pairs


def differences(table: dict, pairs: list[tuple[str, str]]) -> list[dict]:
    """Per pair (A, B): A − B in closed-IE F1 per setting and in the general average, with 95% intervals.

    The closed-IE interval takes the percentile interval of the differences of the two runs' bootstrap
    resamples (paired when both score the same instances with the same seed, independent otherwise);
    the general one, over the benchmarks both have, is 1.96 × the standard error of a difference of
    independent means.
    """
    rows = []
    for a, b in pairs:
        row: dict = {"minuend": a, "subtrahend": b}
        tasks = sorted(set(table["general"].get(a, {})) & set(table["general"].get(b, {})))
        for setting in ("zero_shot", "few_shot"):
            fa, fb = (table["families"][label].get((CLOSED_IE, setting)) for label in (a, b))
            if fa and fb:
                draws = min(len(fa["replicates"]), len(fb["replicates"]))
                row[setting] = {"delta": fa["score"] - fb["score"],
                                "ci": interval([fa["replicates"][i] - fb["replicates"][i] for i in range(draws)])}
        if tasks:
            ga, gb = _general_average(table, a, tasks), _general_average(table, b, tasks)
            se = math.sqrt(ga[1] ** 2 + gb[1] ** 2) if ga[1] is not None and gb[1] is not None else None
            row["general"] = {"delta": ga[0] - gb[0], "half_width": None if se is None else Z95 * se}
        rows.append(row)
    return rows


def _comparison_table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["", "## Differences", "", "A − B in points: closed-IE F1 (mean over its datasets) with the 95% bootstrap "
             "interval of the difference, and the general-capability average ± its 95% half-width.", "",
             "| A − B | closed IE, zero-shot | closed IE, few-shot | general average |", "|---|---|---|---|"]
    for row in rows:
        cells = []
        for setting in ("zero_shot", "few_shot"):
            d = row.get(setting)
            cells.append(_with_interval(d["delta"], d["ci"], _signed) if d else "–")
        g = row.get("general")
        cells.append("–" if not g else _signed(g["delta"]) + (f" ± {g['half_width']:.1f}" if g["half_width"] is not None else ""))
        lines.append(f"| {row['minuend']} − {row['subtrahend']} | " + " | ".join(cells) + " |")
    return lines


SUMMARY_COLUMNS = {"zero_shot": "closed IE, zero-shot", "few_shot": "closed IE, few-shot", "general": "general average"}


def _seeds_table(runs: dict[str, list[dict]]) -> list[str]:
    """Each run of a several-run label, then the runs' mean ± sample standard deviation."""
    if not runs:
        return []
    lines = ["", "## Seeds", "", "Each run of a label scored alone (closed-IE F1 as the mean over its datasets; the "
             "general-capability average in %), then the mean ± standard deviation over the runs: the spread due to "
             "the training seed.", "", "| label | run | " + " | ".join(SUMMARY_COLUMNS.values()) + " |",
             "|---|---|" + "---|" * len(SUMMARY_COLUMNS)]
    for label, summaries in runs.items():
        for run in summaries:
            lines.append(f"| {label} | {run['name']} | "
                         + " | ".join(f"{run[k]:.1f}" if k in run else "–" for k in SUMMARY_COLUMNS) + " |")
        cells = []
        for key in SUMMARY_COLUMNS:
            values = [run[key] for run in summaries if key in run]
            cells.append(f"**{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}**" if len(values) > 1 else "–")
        lines.append(f"| {label} | mean ± sd | " + " | ".join(cells) + " |")
    return lines


def _with_interval(value: float, ci: list[float], number=lambda x: f"{x:.1f}") -> str:
    """``value [low, high]``, each written by ``number``."""
    return f"{number(value)} [{number(ci[0])}, {number(ci[1])}]"


def _signed(value: float) -> str:
    """``+1.2`` / ``-1.2``, and ``+0.0`` for what rounds to zero (never ``-0.0``)."""
    return f"{round(value, 1) + 0.0:+.1f}"


def plot_ie(table: dict, setting: str, path: Path) -> bool:
    labels = list(table["ie"])
    datasets = sorted({d for scores in table["ie"].values() for d, s in scores if s == setting})
    if not datasets:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(datasets) + 2), 4))
    for i, label in enumerate(labels):
        rows = [table["ie"][label].get((d, setting)) for d in datasets]
        values = [r["score"] if r else 0 for r in rows]
        errors = [[r["score"] - r["ci"][0] if r else 0 for r in rows], [r["ci"][1] - r["score"] if r else 0 for r in rows]]
        xs = [j + (i - (len(labels) - 1) / 2) * width for j in range(len(datasets))]
        ax.bar(xs, values, width, yerr=errors, capsize=2, label=label)
    ax.set_xticks(range(len(datasets)), datasets, rotation=35, ha="right")
    ax.set_ylabel("score (%)")
    ax.set_title(f"Held-out IE, {setting.replace('_', '-')} (95% bootstrap CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def plot_general(table: dict, path: Path) -> bool:
    labels = [label for label in table["general"] if table["general"][label]]
    tasks = sorted({t for label in labels for t in table["general"][label]})
    if not tasks:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(tasks) + 2), 4))
    for i, label in enumerate(labels):
        xs = [j + (i - (len(labels) - 1) / 2) * width for j in range(len(tasks))]
        errors = [Z95 * table["general_se"].get(label, {}).get(t, 0) for t in tasks]
        ax.bar(xs, [table["general"][label].get(t, 0) for t in tasks], width, yerr=errors, capsize=2, label=label)
    ax.set_xticks(range(len(tasks)), tasks, rotation=35, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("General capability (lm-eval, local tasks; 95% CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def markdown(table: dict, plots: list[str], sections: list[str] = (), comparisons: list[dict] = (),
             notes: str = "") -> str:
    labels = list(table["ie"])
    lines = ["# adelie evaluation report", ""] + ([notes.strip(), ""] if notes.strip() else [])
    lines.append("Runs: " + ", ".join(f"**{label}** ({n} run{'s' * (n > 1)})" for label, n in table["seeds"].items()))
    for setting in ("zero_shot", "few_shot"):
        rows = sorted({d for scores in table["ie"].values() for d, s in scores if s == setting})
        if not rows:
            continue
        lines += ["", f"## Held-out IE, {setting.replace('_', '-')}", "",
                  "| dataset | metric | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
        averages = defaultdict(list)
        for dataset in rows:
            cells, metric = [], ""
            for label in labels:
                r = table["ie"][label].get((dataset, setting))
                if r:
                    metric = r["metric"]
                    averages[label].append(r["score"])
                cells.append(_with_interval(r["score"], r["ci"]) if r else "–")
            lines.append(f"| {dataset} | {metric} | " + " | ".join(cells) + " |")
        lines.append("| **average** | | " + " | ".join(
            f"**{sum(averages[label]) / len(averages[label]):.1f}**" if averages[label] else "–" for label in labels
        ) + " |")
        lines += _family_table(table, setting, labels)
    tasks = sorted({t for scores in table["general"].values() for t in scores})
    if tasks:
        lines += ["", "## General capability", "", "Accuracy (%) ± the 95% half-width from each benchmark's "
                  "standard error (lm-eval's, or binomial over its items); seeds are pooled as independent estimates.",
                  "", "| task | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for task in tasks:
            lines.append(f"| {task} | " + " | ".join(
                _with_error(table["general"][label][task], table["general_se"][label].get(task))
                if task in table["general"].get(label, {}) else "–" for label in labels
            ) + " |")
        averages = [_general_average(table, label, tasks) for label in labels]
        lines.append("| **average** | " + " | ".join(
            f"**{_with_error(*average)}**" if average else "–" for average in averages
        ) + " |")
    lines += _comparison_table(list(comparisons))
    lines += _seeds_table(table["runs"])
    lines += [""] + [f"![{p}]({p})" for p in plots] + list(sections)
    return "\n".join(lines) + "\n"


def _with_error(value: float, se: float | None) -> str:
    """``value ± 95% half-width``, or the bare value where there is no standard error."""
    return f"{value:.1f}" if se is None else f"{value:.1f} ± {Z95 * se:.1f}"


def _family_table(table: dict, setting: str, labels: list[str]) -> list[str]:
    found = {f for scores in table["families"].values() for f, s in scores if s == setting}
    if not found:
        return []
    order = sorted(found - {CLOSED_IE}) + sorted(found & {CLOSED_IE})
    lines = ["", f"Task families, {setting.replace('_', '-')}: the mean over their datasets, with a stratified "
             "bootstrap 95% CI.", "", "| family | datasets | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for family in order:
        rows = [table["families"][label].get((family, setting)) for label in labels]
        size = next(len(r["datasets"]) for r in rows if r)
        cells = [_with_interval(r["score"], r["ci"]) if r else "–" for r in rows]
        name = f"**{family}**" if family == CLOSED_IE else family
        lines.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    return lines


def to_html(md: str) -> str:
    """The report's Markdown as a standalone HTML page (CommonMark with tables, by markdown-it)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(md)
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}" \
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}img{max-width:100%}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>adelie report</title><style>{style}</style>" \
           f"</head><body>{body}</body></html>\n"
