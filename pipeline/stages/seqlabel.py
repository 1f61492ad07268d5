"""``adelie seqlabel``: token classification on a decoder LLM with layer-group causal-mask removal.

The decoder blocks are split into `groups` consecutive groups; each configuration (``0011``: one
0/1 per group from the input side, 1 = the causal mask is removed there) is trained with LoRA and
scored with seqeval (strict IOB2 micro F1) on dev and test. ``--sweep`` runs all 2^groups
configurations over several seeds and writes a table (Markdown and JSON) and a plot like the paper's
Figure 2. Finished (configuration, seed) units are kept and skipped when the stage runs again.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import Stage
from pipeline.seqlabel.config import SeqlabelConfig


def run(config: SeqlabelConfig, args: argparse.Namespace) -> int:
    from transformers.utils import logging

    from corpora.base import DataError
    from pipeline.seqlabel import sweep

    logging.set_verbosity_error()  # the load report lists the new, untrained head: expected, not news
    try:
        folder = sweep.run(config, sweep=args.sweep)
    except (KeyError, FileNotFoundError, ValueError, DataError) as exc:
        print(f"adelie seqlabel: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    print((folder / "results.md").read_text())
    print(f"results in {folder}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sweep", action="store_true",
                        help="run all 2^groups unmasking configurations (seeds: `seeds`, else seed..seed+2)")


STAGE = Stage(
    name="seqlabel",
    help="sequence labelling with layer-group causal-mask removal",
    description=__doc__,
    config=SeqlabelConfig,
    run=run,
    add_arguments=add_arguments,
)
