"""``adelie report RUN...``: compare evaluation runs in a Markdown + HTML report with plots.

Each RUN is an ``adelie eval`` output, optionally labelled (``base=runs/eval/a sft=runs/eval/b``);
runs sharing a label (seeds) are pooled. Writes ``report.md``, ``report.html`` and PNG plots to
``--output`` (default ``runs/report``): held-out IE per dataset and per task family with bootstrap
CIs, general capability, the differences between runs (``compare=[sft-base,dpo-sft]``), each seed's
scores with their mean ± standard deviation and, traced through the manifests behind each evaluated
model, the SFT and DPO training curves, the IEFeedback statistics (paper Table 8) and the commands
and manifest hashes.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import atomic_write_json, atomic_write_text, runs_dir
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.evaluate.lineage import feedback_section, plot_training, provenance_section, run_name, trace
from pipeline.evaluate.report import (collect, differences, markdown, parse_comparisons, parse_runs, plot_general,
                                     plot_ie, to_html)


@dataclass
class ReportConfig:
    bootstrap: int = help_field(1000, "Bootstrap resamples for the 95% confidence intervals.")
    seed: int = help_field(0, "Seed of the bootstrap.")
    data_root: str | None = help_field(None, "Unused: predictions carry their gold records.")
    output: str | None = help_field(None, "Report folder (default runs/report).")
    markdown: str | None = help_field(None, "Also write the Markdown here (e.g. RESULTS.md), its plot links relative to it.")
    compare: list[str] = help_field([], "Differences to tabulate, as A-B of two labels (e.g. [sft-base,dpo-sft]); "
                                        "default: each label minus the first.")
    notes: str | None = help_field(None, "A Markdown file set under the title: the setting and the conclusions, in words.")


def write_report(targets: list[str], output: Path, bootstrap: int = 1000, seed: int = 0,
                 markdown_copy: Path | None = None, compare: list[str] = (), notes: Path | None = None) -> Path:
    runs = parse_runs(targets)
    text = notes.read_text() if notes else ""
    pairs = parse_comparisons(list(compare), list(runs))
    lineages = {label: [trace(path) for path in paths] for label, paths in runs.items()}
    names = {path: run_name(lineage) for label, paths in runs.items() for path, lineage in zip(paths, lineages[label])
             if lineage}
    table = collect(runs, bootstrap, seed, names)
    comparisons = differences(table, pairs)
    output.mkdir(parents=True, exist_ok=True)
    plots = []
    for setting in ("zero_shot", "few_shot"):
        if plot_ie(table, setting, output / f"ie_{setting}.png"):
            plots.append(f"ie_{setting}.png")
    if plot_general(table, output / "general.png"):
        plots.append("general.png")
    if plot_training(lineages, output / "training.png"):
        plots.append("training.png")
    sections = feedback_section(lineages) + provenance_section(lineages)
    md = markdown(table, plots, sections, comparisons, text)
    atomic_write_text(output / "report.md", md)
    if markdown_copy:
        links = [Path(os.path.relpath(output / p, markdown_copy.resolve().parent)).as_posix() for p in plots]
        atomic_write_text(markdown_copy, markdown(table, links, sections, comparisons, text))
    atomic_write_text(output / "report.html", to_html(md))
    atomic_write_json(output / "report.json", {
        "ie": {label: list(rows.values()) for label, rows in table["ie"].items()},
        "families": {label: [{k: v for k, v in row.items() if k != "replicates"} for row in rows.values()]
                     for label, rows in table["families"].items()},
        "general": table["general"], "general_se": table["general_se"], "seeds": table["seeds"],
        "runs": table["runs"], "differences": comparisons,
    })
    return output


def run(config: ReportConfig, args: argparse.Namespace) -> int:
    if not args.targets:
        print("adelie report: name evaluation runs, e.g. base=runs/eval/a sft=runs/eval/b", file=sys.stderr)
        return 2
    try:
        out = write_report(args.targets, Path(config.output or runs_dir() / "report"), config.bootstrap, config.seed,
                           Path(config.markdown) if config.markdown else None, config.compare,
                           Path(config.notes) if config.notes else None)
    except (ValueError, FileNotFoundError) as exc:
        print(f"adelie report: {exc}", file=sys.stderr)
        return 2
    print(f"report: {out / 'report.html'}")
    return 0


STAGE = Stage(name="report", help="compare evaluation runs in a report with plots", description=__doc__,
              config=ReportConfig, run=run, targets="evaluation runs, as LABEL=PATH or PATH",
              labelled_targets=True)
