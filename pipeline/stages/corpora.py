"""``adelie corpora list|check|show``: what the registry holds, whether it all loads, one dataset's card.

``check`` reads every split of every selected dataset from the original files and prints each
problem as ``file:line: reason``; it exits with 2 if there is any, and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from corpora.base import DataError
from corpora.registry import DatasetSpec, get, registry, resolve_data_root
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.records import Record


@dataclass
class CorporaConfig:
    data_root: str | None = help_field(None, "Folder of the raw datasets (also --data-root).")
    datasets: list[str] = help_field([], "Dataset names to include; empty means every registered dataset.")
    roles: list[str] = help_field([], "Roles to include (train, heldout, seqlabel); empty means all.")
    output: str | None = help_field(None, "Unused: this stage only reads and reports.")
    seed: int = help_field(0, "Unused by this stage; shared by the recipe.")


# -- core ------------------------------------------------------------------------------------------
def select(config: CorporaConfig, names: list[str] = ()) -> list[DatasetSpec]:
    wanted = list(names) or config.datasets
    specs = [get(n) for n in wanted] if wanted else list(registry().values())
    return [s for s in specs if not config.roles or s.role.value in config.roles]


def split_counts(spec: DatasetSpec, data_root: Path) -> dict[str, int]:
    return {split: sum(1 for _ in spec.read(split, data_root)) for split in spec.splits}


def check(specs: list[DatasetSpec], data_root: Path, progress: bool = True) -> tuple[dict, list[DataError]]:
    """Load everything; return counts per dataset and split, and every error met."""
    counts: dict[str, dict[str, int]] = {}
    errors: list[DataError] = []
    for spec in tqdm(specs, desc="checking", unit="dataset", disable=not progress, file=sys.stderr):
        counts[spec.name] = {}
        for split in spec.splits:
            try:
                counts[spec.name][split] = sum(1 for _ in spec.read(split, data_root))
            except DataError as exc:
                errors.append(exc)
    return counts, errors


def card(spec: DatasetSpec, data_root: Path, examples: int = 2) -> str:
    """A dataset card in Markdown: task, role, licence, splits, labels with guidelines, examples."""
    counts = split_counts(spec, data_root)
    lines = [
        f"# {spec.name}",
        "",
        spec.description,
        "",
        f"- task: {spec.task.value}",
        f"- role: {spec.role.value}",
        f"- licence: {spec.licence}",
        f"- source: {spec.source}",
        f"- adapter: {spec.adapter}",
        "- splits: " + ", ".join(f"{s} {n:,}" for s, n in counts.items()),
    ]
    first_split = next(iter(spec.splits))
    records = [r for _, r in zip(range(2000), spec.read(first_split, data_root))]
    if spec.labels:
        used = Counter(label for r in records if isinstance(r, Record) for label in _labels_of(r))
        guidelines = spec.guidelines()
        lines += ["", f"## Labels ({len(spec.label_set.labels)})", ""]
        for label in spec.label_set.labels:
            g = guidelines.get(label)
            text = f": {g.definition} (e.g. {', '.join(g.examples)})" if g else ""
            lines.append(f"- **{label}** ({used[label]} in the first {len(records)} of {first_split}){text}")
    lines += ["", f"## Examples ({first_split})", ""]
    lines += [f"```json\n{r.model_dump_json(exclude_defaults=True, indent=1)}\n```" for r in records[:examples]]
    return "\n".join(lines)


def _labels_of(record: Record):
    g = record.gold
    yield from (e.type for e in g.entities)
    yield from (r.type for r in g.relations)
    yield from (e.type for e in g.events)
    yield from (r.type for r in g.event_relations)


# -- CLI -------------------------------------------------------------------------------------------
def run(config: CorporaConfig, args: argparse.Namespace) -> int:
    try:
        data_root = resolve_data_root(config.data_root)
        if args.action == "show":
            if len(args.targets) != 1:
                print("adelie corpora show: name one dataset, e.g. `adelie corpora show conll2003`", file=sys.stderr)
                return 2
            print(card(get(args.targets[0]), data_root))
            return 0
        specs = select(config, args.targets)
    except (KeyError, FileNotFoundError) as exc:
        print(f"adelie corpora: {exc.args[0]}", file=sys.stderr)
        return 2
    counts, errors = check(specs, data_root)
    if args.action == "list":
        _print_table(specs, counts)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {data_root}", file=sys.stderr)
        return 2
    if args.action == "check":
        total = sum(sum(c.values()) for c in counts.values())
        print(f"ok: {len(specs)} datasets, {total:,} records under {data_root}")
    return 0


def _print_table(specs: list[DatasetSpec], counts: dict) -> None:
    rows = [("dataset", "task", "role", "records per split", "labels")]
    for spec in specs:
        per_split = ", ".join(f"{s} {n:,}" for s, n in counts.get(spec.name, {}).items())
        rows.append((spec.name, spec.task.value, spec.role.value, per_split, str(len(spec.label_set.labels))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "check", "show"), help="list datasets, load and check all, show one card")


STAGE = Stage(
    name="corpora",
    help="list, check and show the registered datasets",
    description=__doc__,
    config=CorporaConfig,
    run=run,
    add_arguments=add_arguments,
    targets="bare words name datasets (show takes exactly one)",
)
