"""Per-dataset statistics of IEFeedback, like paper Table 8 (pairs and mean Δ, gold scored 1), plus
what the sampling looked like (mean BLEU, prompts whose samples were all distinct, candidates)."""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from pipeline.feedback.pairs import Pair


def statistics(rows: list[dict], scores: list[list[float]], candidates: dict[str, list[Pair]],
               pairs: list[Pair]) -> dict:
    per: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for row, s in zip(rows, scores):
        d = per[row["dataset"]]
        d["task"] = row["task"]
        d["prompts"] += 1
        d["bleu_sum"] += sum(s) / len(s) if s else 0.0
        d["all_distinct"] += len(set(row["samples"])) == len(row["samples"])
    for kind, found in candidates.items():
        for pair in found:
            per[pair.dataset][f"{kind}_candidates"] += 1
    deltas: dict[str, list[float]] = defaultdict(list)
    for pair in pairs:
        per[pair.dataset][pair.kind] += 1
        deltas[pair.dataset].append(pair.delta)
    table = {}
    for name in sorted(per):
        d = per[name]
        n = int(d["prompts"])
        table[name] = {
            "task": d["task"],
            "prompts": n,
            "mean_sample_bleu": round(d["bleu_sum"] / n, 4) if n else None,
            "all_distinct_share": round(d["all_distinct"] / n, 4) if n else None,
            "online_candidates": int(d["online_candidates"]),
            "offline_candidates": int(d["offline_candidates"]),
            "online": int(d["online"]),
            "offline": int(d["offline"]),
            "pairs": int(d["online"] + d["offline"]),
            "mean_delta": round(fmean(deltas[name]), 4) if deltas[name] else None,
        }
    every = [p.delta for p in pairs]
    return {
        "per_dataset": table,
        "total": {
            "prompts": len(rows),
            "pairs": len(pairs),
            "online": sum(p.kind == "online" for p in pairs),
            "offline": sum(p.kind == "offline" for p in pairs),
            "mean_delta": round(fmean(every), 4) if every else None,
        },
    }


def table8(stats: dict) -> str:
    """The statistics as a Markdown table in the paper's layout (task, dataset, pairs, Δ) and more."""
    lines = [
        "| task | dataset | prompts | mean sample BLEU | all 5 distinct | online | offline | pairs | Δ |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in sorted(stats["per_dataset"].items(), key=lambda kv: (kv[1]["task"], kv[0])):
        delta = "–" if d["mean_delta"] is None else f"{d['mean_delta']:.2f}"
        lines.append(
            f"| {d['task']} | {name} | {d['prompts']} | {d['mean_sample_bleu']:.3f} | {d['all_distinct_share']:.0%} "
            f"| {d['online']} | {d['offline']} | {d['pairs']} | {delta} |"
        )
    t = stats["total"]
    delta = "–" if t["mean_delta"] is None else f"{t['mean_delta']:.2f}"
    lines.append(f"| all | | {t['prompts']} | | | {t['online']} | {t['offline']} | {t['pairs']} | {delta} |")
    return "\n".join(lines)
