"""GNER hierarchical matching: time to align 10,000 model outputs to their input tokens.

Outputs are made from real held-out sentences (CrossNER ×5 and CoNLL-2003 test, the gold BIO
answer of each) with seeded edits of the kinds GNER describes: most outputs copy the sentence, some
omit words (the in-order subsequence case), some add or alter words (the LCS case). Two mixes are
timed: ``typical`` (80 % exact, 10 % omissions, 10 % additions/substitutions) and ``all-lcs`` (every
output needs the LCS step, the worst case for hierarchical matching).

Baseline, run in the same script on the same outputs: the textbook O(N·M) dynamic-programming LCS for
every output (``lcs_match_dp``), the "common method" the GNER paper improves on. Both produce
alignments of the same length (checked). Reported: the best of ``--repeats`` runs, and the end-to-end
time of parsing + matching + entity counting (``score_answer``) for the typical mix.

    .venv/bin/python benchmarks/gner_matching.py [--outputs 10000] [--repeats 5] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import time
from collections.abc import Callable

from corpora.registry import get
from eval.scorers.gner import bio_format, hierarchical_match, lcs_match_dp, score_answer
from pipeline.records import Record
from pipeline.tasks import plugin

SOURCES = [(f"crossner_{d}", "test") for d in ("ai", "literature", "music", "politics", "science")]
SOURCES.append(("conll2003", "test"))
MIXES = {"typical": (0.8, 0.1), "all-lcs": (0.0, 0.0)}  # share of exact outputs, share of omissions


def sentences(data_root: str | None) -> list[Record]:
    ner = plugin("ner")
    return [
        r for name, split in SOURCES for r in get(name).read(split, data_root)
        if ner.supports("bio", r) and len(r.tokens) > 3
    ]


def edit(items: list[dict], rng: random.Random, exact: float, omit: float) -> list[dict]:
    """A model-like output: the gold token items unchanged, with words dropped, or with words
    inserted and misspelt (so that only an LCS aligns it)."""
    x = rng.random()
    if x < exact:
        return items
    if x < exact + omit:
        drop = set(rng.sample(range(len(items)), k=min(2, len(items) - 1)))
        return [it for i, it in enumerate(items) if i not in drop]
    out = []
    for it in items:
        out.append({**it, "word": it["word"] + "s"} if rng.random() < 0.1 else it)
        if rng.random() < 0.05:
            out.append({"word": "the", "tag": "O"})
    if out == items:
        out.insert(rng.randrange(len(out) + 1), {"word": "indeed", "tag": "O"})
    return out


def build(records: list[Record], n: int, mix: str, seed: int) -> list[tuple[Record, str, list[str], list[str]]]:
    """``n`` (record, output text, input words, output words) cases, lower-cased as matching sees them."""
    rng, fmt, ner = random.Random(seed), bio_format(), plugin("ner")
    exact, omit = MIXES[mix]
    cases = []
    for record in itertools.islice(itertools.cycle(records), n):
        items = edit(ner.format_items(fmt, record), rng, exact, omit)
        words = [t.lower() for t in record.tokens]
        cases.append((record, fmt.render_items(items), words, [it["word"].lower() for it in items]))
    return cases


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outputs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()

    records = sentences(args.data_root)
    print(f"{len(records)} sentences, {args.outputs} outputs, best of {args.repeats}; "
          f"Python {platform.python_version()} on {platform.machine()}\n")
    print("| mix | levels (exact / subsequence / lcs) | hierarchical | DP LCS baseline | speed-up |")
    print("|---|---|---|---|---|")
    for mix in MIXES:
        cases = build(records, args.outputs, mix, args.seed)
        levels = [hierarchical_match(w, p)[1] for _, _, w, p in cases]
        for _, _, w, p in cases:  # same alignment length as the baseline
            assert sum(j != -1 for j in hierarchical_match(w, p)[0]) == sum(j != -1 for j in lcs_match_dp(w, p))
        pairs = [(w, p) for _, _, w, p in cases]
        fast = best_time(lambda pairs=pairs: [hierarchical_match(w, p) for w, p in pairs], args.repeats)
        slow = best_time(lambda pairs=pairs: [lcs_match_dp(w, p) for w, p in pairs], args.repeats)
        counts = " / ".join(str(levels.count(k)) for k in ("exact", "subsequence", "lcs"))
        print(f"| {mix} | {counts} | {fast:.3f} s | {slow:.3f} s | {slow / fast:.1f}× |")
    cases = build(records, args.outputs, "typical", args.seed)
    end_to_end = best_time(lambda: [score_answer(text, record) for record, text, _, _ in cases], args.repeats)
    print(f"\nEnd to end (parse + match + entity counts), typical mix: {end_to_end:.3f} s for {args.outputs} outputs")


if __name__ == "__main__":
    main()
