"""``adelie score PREDICTIONS...``: recompute every metric from saved predictions, without a model.

PREDICTIONS are prediction files or folders (an ``adelie eval`` output works); with ``--output`` the
scores are also written to ``<output>/scores.json``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import atomic_write_json
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.evaluate.predict import read_predictions
from pipeline.evaluate.score import score_all
from pipeline.stages.eval import format_table


@dataclass
class ScoreConfig:
    bootstrap: int = help_field(1000, "Bootstrap resamples for the 95% confidence intervals.")
    seed: int = help_field(0, "Seed of the bootstrap.")
    data_root: str | None = help_field(None, "Unused: predictions carry their gold records.")
    output: str | None = help_field(None, "Write scores.json here too.")


def run(config: ScoreConfig, args: argparse.Namespace) -> int:
    if not args.targets:
        print("adelie score: name prediction files or folders", file=sys.stderr)
        return 2
    try:
        scores = score_all(read_predictions([Path(t) for t in args.targets]), config.bootstrap, config.seed)
    except (ValueError, OSError) as exc:
        print(f"adelie score: {exc}", file=sys.stderr)
        return 2
    if not scores:
        print("adelie score: no prediction lines found", file=sys.stderr)
        return 2
    print(format_table(scores))
    if config.output:
        atomic_write_json(Path(config.output) / "scores.json", {"ie": scores})
    return 0


STAGE = Stage(name="score", help="recompute metrics from saved predictions", description=__doc__,
              config=ScoreConfig, run=run, targets="prediction files or folders")
