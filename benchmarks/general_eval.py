"""Benchmark: wall time of the general-capability table (eval/general) on this machine.

Question answered: how long does `limit=N` over every column of the paper's table take (the issue's
"adelie eval --model <base SmolLM2> --limit 50 fills the full table"), and which columns cost it.

Runs, on the same model, dtype, batch size and limit, each into a fresh folder:
  table        every column with the paper's protocol (BBH 3-shot chain of thought)   <- measured
  bbh_direct   baseline for the BBH column: 3-shot answer-only (no CoT), the cheap variant
Reported: wall and process CPU seconds, scored items and seconds per item per benchmark, the load
average (the development machine is shared), and an extrapolation of what lm-eval's own `--limit`
meaning (N items per MMLU subject and per BBH task, 57 x N and 27 x N) would cost at the measured
per-item rates. The extrapolation is labelled as such; nothing else is estimated.

    .venv/bin/python benchmarks/general_eval.py [--limit 50] [--dtype float32] [--batch-size 8]
        [--model smollm2-135m] [--output DIR] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_run(args, tasks, output: Path) -> dict:
    from eval.general import run_general

    wall, cpu, load = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
    scores = run_general(args.model, tasks=tasks, limit=args.limit, batch_size=args.batch_size,
                         dtype=args.dtype, output_dir=output)
    return {"wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu,
            "load": (load, os.getloadavg()[0]), "scores": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--output", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    root = args.output or Path(tempfile.mkdtemp(prefix="general-bench-"))

    runs = {"table": timed_run(args, None, root / "table")}
    if not args.skip_baseline:
        runs["bbh_direct"] = timed_run(args, ["bbh_direct"], root / "bbh_direct")

    print(f"limit={args.limit} dtype={args.dtype} batch={args.batch_size} cores={os.cpu_count()} output={root}")
    for name, run in runs.items():
        print(f"\n== {name}: wall {run['wall']:.0f} s, CPU {run['cpu']:.0f} s, "
              f"load average {run['load'][0]:.1f} -> {run['load'][1]:.1f}")
        print(f"{'benchmark':<14}{'items':>7}{'wall s':>9}{'s/item':>8}{'score':>8}")
        for bench, entry in run["scores"]["benchmarks"].items():
            print(f"{bench:<14}{entry['n']:>7}{entry['seconds']:>9.0f}{entry['seconds'] / entry['n']:>8.2f}"
                  f"{entry['score']:>8.3f}")
    table = runs["table"]["scores"]["benchmarks"]
    per_item = {name: entry["seconds"] / entry["n"] for name, entry in table.items()}
    lm_eval_meaning = sum(per_item[b] * args.limit * k for b, k in (("mmlu", 57), ("bbh", 27))) + sum(
        entry["seconds"] for name, entry in table.items() if name not in ("mmlu", "bbh"))
    print(f"\nextrapolated, lm-eval's --limit meaning ({args.limit} per MMLU subject and BBH task): "
          f"{lm_eval_meaning / 3600:.1f} h (vs {runs['table']['wall'] / 60:.1f} min measured)")
    if "bbh_direct" in runs:
        direct = runs["bbh_direct"]["scores"]["benchmarks"]["bbh_direct"]
        print(f"BBH column: CoT {table['bbh']['seconds']:.0f} s vs answer-only baseline {direct['seconds']:.0f} s "
              f"({table['bbh']['seconds'] / direct['seconds']:.1f}x)")
    (root / "bench.json").write_text(json.dumps(runs, indent=2, default=str))


if __name__ == "__main__":
    main()
