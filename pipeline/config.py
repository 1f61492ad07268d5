"""Recipes: typed stage configs read from YAML, with dotted ``key=value`` overrides.

Each stage declares a dataclass whose fields carry their help text (``field(metadata={"help": ...})``,
as TRL's ``*_config.py``). A recipe is a YAML mapping with one section per stage plus shared top-level
keys; :func:`load_config` reads the stage's section, applies overrides such as ``sft.lr=1e-5`` or
``seed=3`` and builds the dataclass. A key the dataclass does not declare is an error, in the recipe
and on the command line alike: nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

# Keys every recipe may set at the top level; stages read the ones they declare.
SHARED_KEYS = ("seed", "data_root", "output")


class ConfigError(ValueError):
    """A recipe or override that does not fit the stage's config."""


def help_field(default: Any, help: str, **kwargs) -> Any:
    """A dataclass field with help text (mutable defaults are copied per instance)."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


def read_recipe(path: Path | str | None) -> dict[str, Any]:
    if path is None:
        return {}
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"recipe {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"recipe {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {path} must be a mapping of stage sections")
    return data


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["sft.lr=1e-5", "seed=3"]`` → nested dict; values are read as YAML scalars/lists."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, raw = pair.partition("=")
        if not eq or not key:
            raise ConfigError(f"override {pair!r} is not key=value")
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {pair!r} conflicts with another override")
        try:
            node[leaf] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            node[leaf] = raw
    return out


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(
    cls: type[T], stage: str, recipe: dict[str, Any], overrides: dict[str, Any], sections: tuple[str, ...] = ()
) -> T:
    """Build ``cls`` from the recipe's ``stage`` section, shared keys, then overrides.

    Overrides may address the stage section (``sft.lr=1e-5``), a shared key (``seed=3``) or, for
    brevity, a stage field directly (``lr=1e-5``). ``sections`` names the other stages, whose
    overrides are left to them.
    """
    known_sections = set(recipe) | {stage, *sections}
    merged = merge(recipe, overrides)
    values: dict[str, Any] = {k: merged[k] for k in SHARED_KEYS if k in merged}
    section = merged.get(stage, {}) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"recipe section {stage!r} must be a mapping")
    values.update(section)
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in overrides.items():
        addresses_section = key == stage or key in known_sections
        # A stage field may share its name with a section (mix's `instruct` input folder): a plain
        # value sets the field, a dotted one (instruct.seed=1) addresses the section.
        if key in names and not (addresses_section and isinstance(value, dict)):
            values[key] = value
        elif not (addresses_section or key in SHARED_KEYS):
            raise ConfigError(_unknown(key, stage, names | set(SHARED_KEYS)))
    return build(cls, {k: v for k, v in values.items() if k in names or k not in SHARED_KEYS}, stage)


def build(cls: type[T], values: dict[str, Any], where: str) -> T:
    """A dataclass from a mapping, checking keys and coercing scalar types; nested dataclasses recurse."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(_unknown(key, where, set(fields)))
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return build(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], where) if len(args) == 1 else value
    if origin in (list, tuple):
        items = value if isinstance(value, (list, tuple)) else [value]
        (inner, *_) = typing.get_args(hint) or (Any,)
        return origin(_coerce(v, inner, where) for v in items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return dict(value)
    if hint in (int, float, str, bool, Path):
        return _scalar(value, hint, where)
    return value


def _scalar(value: Any, hint: type, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "yes", "1", "on"):
            return True
        if str(value).lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # `epochs: 1` means 1.0
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML reads 1e-5 as a string
        except ValueError:
            raise ConfigError(f"{where} must be a number, not {value!r}") from None
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if hint is Path:
        return Path(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        if hint is str and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}")
    return value


def _unknown(key: str, where: str, names: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(names), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r} for {where}{hint}; known keys: {', '.join(sorted(names))}"


def describe(cls: type) -> str:
    """The config's keys with types, defaults and help, for ``--help``."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)"
        )
        lines.append(f"  {f.name} = {default!r}\n      {f.metadata.get('help', '')}")
    return "\n".join(lines)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-friendly dict of a config (paths as strings), for manifests and hashes."""

    def plain(v):
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}
