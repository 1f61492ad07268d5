"""``adelie STAGE --config RECIPE [--data-root DIR] [--output DIR] [key=value ...]``.

Every stage follows that one convention. A stage is a module of :mod:`pipeline.stages` exposing
``STAGE``: its name, help, config dataclass and ``run(config, args)``; dotted ``key=value`` overrides
patch the recipe, and a key the stage does not know is an error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from pipeline.config import ConfigError, describe, load_config, parse_overrides, read_recipe

STAGE_ORDER = ("corpora", "instruct", "expand", "explain", "translate", "mix", "sft", "sample", "feedback",
               "dpo", "eval", "score", "report", "run", "seqlabel")

EPILOG = """\
Every stage reads one recipe (a YAML file with one section per stage) and takes overrides as
dotted key=value pairs, e.g. `seed=3` or `corpora.roles=[train]`; `--limit 50` is the same as
`limit=50` for any key of the stage. Unknown keys are an error.
Data is read from --data-root, else $ADELIE_DATA_ROOT, else ../shared/data.
"""


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    config: type
    run: Callable[[Any, argparse.Namespace], int]
    description: str = ""
    targets: str = ""
    """What bare (non key=value) words name for this stage, e.g. dataset names; empty: none allowed."""
    labelled_targets: bool = False
    """Targets may be ``LABEL=VALUE``: a ``key=value`` word whose key is not a field of the stage's config
    is a target (``adelie report sft=runs/eval/a``), not an unknown-key error."""
    add_arguments: Callable[[argparse.ArgumentParser], None] = field(default=lambda parser: None)

    @property
    def keys(self) -> set[str]:
        """The stage's recipe keys: the fields of its config."""
        return {f.name for f in fields(self.config)}


def stages() -> dict[str, Stage]:
    """Every module of :mod:`pipeline.stages` with a ``STAGE``, in pipeline order."""
    import pipeline.stages

    found = {}
    for module in pkgutil.iter_modules(pipeline.stages.__path__):
        stage = getattr(importlib.import_module(f"pipeline.stages.{module.name}"), "STAGE", None)
        if stage is not None:
            found[stage.name] = stage
    order = {name: i for i, name in enumerate(STAGE_ORDER)}
    return dict(sorted(found.items(), key=lambda kv: order.get(kv[0], len(order))))


def build_parser(all_stages: dict[str, Stage]) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="adelie",
        description="Align a base LLM into an information-extraction specialist, one stage at a time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)
    stage_parsers = {}
    for stage in all_stages.values():
        p = sub.add_parser(
            stage.name,
            help=stage.help,
            description=stage.description or stage.help,
            epilog=f"recipe keys (section `{stage.name}:`):\n{describe(stage.config)}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        stage.add_arguments(p)
        p.add_argument("--config", metavar="RECIPE", help="recipe YAML (see recipes/)")
        p.add_argument("--data-root", metavar="DIR", help="raw datasets (default: $ADELIE_DATA_ROOT or ../shared/data)")
        p.add_argument("--output", metavar="DIR", help="where the stage writes its results")
        p.add_argument(
            "overrides", nargs="*", metavar="key=value",
            help="recipe overrides, dotted keys" + (f"; {stage.targets}" if stage.targets else ""),
        )
        stage_parsers[stage.name] = p
    return parser, stage_parsers


def main(argv: list[str] | None = None) -> int:
    all_stages = stages()
    parser, stage_parsers = build_parser(all_stages)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in stage_parsers:
        # Flags may come after the key=value overrides (`adelie explain k=v --dry-run`): argparse only
        # intermixes optionals and positionals within one parser, so the stage's parser reads the rest.
        words = key_options(argv[1:], stage_parsers[argv[0]], all_stages[argv[0]].keys)
        args = stage_parsers[argv[0]].parse_intermixed_args(words)
        args.stage = argv[0]
    else:
        args = parser.parse_args(argv)  # help, or an error naming the known stages
    stage = all_stages[args.stage]
    is_target = target_test(stage)
    args.targets = [word for word in args.overrides if is_target(word)]
    try:
        if args.targets and not stage.targets:
            raise ConfigError(f"unexpected argument {args.targets[0]!r}: overrides are key=value")
        overrides = parse_overrides([word for word in args.overrides if not is_target(word)])
        if args.data_root:
            overrides["data_root"] = args.data_root
        if args.output:
            overrides["output"] = args.output
        config = load_config(stage.config, stage.name, read_recipe(args.config), overrides, tuple(all_stages))
    except ConfigError as exc:
        print(f"adelie {stage.name}: {exc}", file=sys.stderr)
        return 2
    return stage.run(config, args)


def target_test(stage: Stage) -> Callable[[str], bool]:
    """Which command-line words are the stage's targets rather than ``key=value`` overrides."""
    keys = stage.keys

    def is_target(word: str) -> bool:
        if "=" not in word:
            return True
        key = word.split("=", 1)[0]
        return stage.labelled_targets and "." not in key and key not in keys

    return is_target


def key_options(words: list[str], parser: argparse.ArgumentParser, keys: set[str]) -> list[str]:
    """``--max-new-tokens 64`` or ``--max-new-tokens=64`` for a key of the stage's config, rewritten as
    the override ``max_new_tokens=64``; every other word is left to the parser (which rejects what it
    does not know)."""
    out, rest = [], iter(words)
    for word in rest:
        option, has_value, value = word.partition("=")
        key = option[2:].replace("-", "_")
        if not option.startswith("--") or option in parser._option_string_actions or key not in keys:
            out.append(word)
            continue
        if not has_value:
            value = next(rest, None)
            if value is None or value.startswith("--"):
                parser.error(f"{option} needs a value (or write {key}=VALUE)")
        out.append(f"{key}={value}")
    return out


if __name__ == "__main__":
    sys.exit(main())
