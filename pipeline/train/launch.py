"""Scaling out with ``accelerate launch``: ``adelie sft --accelerate zero2 --num-processes 8 …``.

The stage re-invokes itself under ``accelerate launch`` with the same recipe and overrides, minus the
launch flags, so one recipe runs on a laptop or across GPUs unchanged (the global batch stays the
same; gradient accumulation adapts to the number of processes). Presets live in
``recipes/accelerate/`` and are ordinary accelerate config files: copy one to change anything
(machines, offloading), and pass its path instead of a name.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.train.run import RunStateError

PRESETS_DIR = Path(__file__).resolve().parents[2] / "recipes" / "accelerate"


def presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """A preset name (``zero2``) or the path of an accelerate config file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        return path
    candidate = PRESETS_DIR / f"{name}.yaml"
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"no accelerate preset {name!r}: use one of {', '.join(presets())} or a config file path")


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accelerate", metavar="PRESET",
                        help=f"run under `accelerate launch` with a preset ({', '.join(presets())}) or a config file")
    parser.add_argument("--num-processes", type=int, metavar="N",
                        help="processes (GPUs) for --accelerate; default: the preset's")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """``--resume`` and the launch flags: the command-line options of a training stage."""
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    add_launch_arguments(parser)


def run_or_launch(stage: str, args: argparse.Namespace, train: Callable[[bool], object]) -> int:
    """A training stage's ``run``: launch under accelerate when asked, else ``train(resume)``; errors
    a user can fix are printed and give exit code 2."""
    try:
        if args.accelerate:
            command = accelerate_command(args.accelerate, args.num_processes, stage_argv(stage, args, ("--resume",)))
            print(f"{stage}: {shlex.join(command)}", file=sys.stderr)
            return subprocess.call(command)
        if args.num_processes:
            raise ValueError("--num-processes needs --accelerate PRESET")
        train(args.resume)
    except (ValueError, FileNotFoundError, RunStateError) as exc:
        print(f"adelie {stage}: {exc}", file=sys.stderr)
        return 2
    return 0


def stage_argv(stage: str, args: argparse.Namespace, flags: tuple[str, ...] = ()) -> list[str]:
    """The command-line words of this stage invocation without the launch flags."""
    words = [stage]
    for option, value in (("--config", args.config), ("--data-root", args.data_root), ("--output", args.output)):
        if value:
            words += [option, str(value)]
    words += [flag for flag in flags if getattr(args, flag.lstrip("-").replace("-", "_"), False)]
    return words + list(args.overrides)


def accelerate_command(preset: str, num_processes: int | None, argv: list[str]) -> list[str]:
    """``accelerate launch --config_file PRESET [--num_processes N] -m pipeline.cli ARGV``, with this
    interpreter, so the launched processes use the same environment."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(preset_path(preset))]
    if num_processes is not None:
        if num_processes < 1:
            raise ValueError("--num-processes must be at least 1")
        command += ["--num_processes", str(num_processes)]
    return command + ["-m", "pipeline.cli", *argv]
