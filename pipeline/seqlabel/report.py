"""Results of a set of units: mean ± std F1 per configuration, as a Markdown table, JSON and a plot.

The plot mirrors the paper's Figure 2: configurations on the x axis in Gray-code order starting from
all-masked, the mean micro F1 of each evaluation split as a line with a ±1 std band over seeds.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from pipeline.seqlabel.unmask import all_codes


def gray_sorted(codes: Sequence[str]) -> list[str]:
    """Configurations in Gray-code order (all of one length)."""
    rank = {code: i for i, code in enumerate(all_codes(len(codes[0])))} if codes else {}
    return sorted(set(codes), key=rank.__getitem__)


def summarize(units: Sequence[dict], splits: Sequence[str]) -> list[dict]:
    """One row per configuration (Gray order): seeds, and mean/std/per-seed F1 for each split."""
    rows = []
    for code in gray_sorted([u["config"] for u in units]):
        mine = sorted((u for u in units if u["config"] == code), key=lambda u: u["seed"])
        row = {"config": code, "seeds": [u["seed"] for u in mine]}
        for split in splits:
            f1 = [u[split]["f1"] for u in mine]
            row[split] = {"mean": statistics.fmean(f1), "std": statistics.stdev(f1) if len(f1) > 1 else 0.0,
                          "f1": f1}
        rows.append(row)
    return rows


def markdown(rows: Sequence[dict], splits: Sequence[str], title: str) -> str:
    header = ["config", "seeds", *(f"{split} F1" for split in splits)]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    best = {split: max(r[split]["mean"] for r in rows) for split in splits}
    for r in rows:
        cells = [f"`{r['config']}`", str(len(r["seeds"]))]
        for split in splits:
            cell = f"{100 * r[split]['mean']:.2f} ± {100 * r[split]['std']:.2f}"
            cells.append(f"**{cell}**" if r[split]["mean"] == best[split] else cell)
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Micro F1 × 100 (seqeval, strict IOB2), mean ± std over seeds; best per split in bold.",
              ("A configuration reads from the input side: `0011` removes the causal mask in the two groups "
               "nearest the output.")]
    return "\n".join(lines) + "\n"


def plot(rows: Sequence[dict], splits: Sequence[str], title: str, path: Path) -> None:
    """A PNG like the paper's Figure 2 (written to a temporary name, then renamed into place)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(5.5, 0.55 * len(rows) + 2), 3.6))
    for split in splits:
        mean = [100 * r[split]["mean"] for r in rows]
        std = [100 * r[split]["std"] for r in rows]
        ax.plot(x, mean, marker="o", label=split)
        ax.fill_between(x, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)], alpha=0.2)
    ax.set_xticks(list(x), [r["config"] for r in rows], rotation=60, fontfamily="monospace")
    ax.set_xlabel("unmasking configuration (input side first)")
    ax.set_ylabel("micro F1 × 100")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    tmp.replace(path)
