"""The dataset registry: every dataset of ``shared/data/README.md``, declared as data.

Each ``corpora/datasets/*.yaml`` file is a list of dataset entries (one family per file). An entry
names its task, role, split files (globs relative to the data root), adapter, the raw → readable label
names, licence and source; ``corpora/guidelines/<name>.yaml`` holds its per-label guidelines, unless
the entry's ``guidelines: <other dataset>`` shares that dataset's file (two views of one corpus, or
two corpora with the same label set).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from corpora.base import ADAPTERS, DataError, Item
from pipeline.records import LabelSet, Task

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_ROOT_ENV = "ADELIE_DATA_ROOT"


class Role(StrEnum):
    TRAIN = "train"  # the IEInstruct / IEFeedback training pool (and general SFT data)
    HELDOUT = "heldout"  # evaluation only; never reaches a training corpus
    SEQLABEL = "seqlabel"  # sequence-labelling experiments (causal-mask removal), standard splits


@dataclass(frozen=True)
class Guideline:
    definition: str
    examples: tuple[str, ...]


@dataclass(frozen=True, eq=False)  # identity hash: specs are singletons of the registry
class DatasetSpec:
    """One registered dataset. Fields mirror the YAML keys."""

    name: str
    task: Task
    role: Role
    adapter: str
    splits: dict[str, tuple[str, ...]]
    """Split name → file globs relative to the data root (several files are read in order)."""
    licence: str
    source: str
    """Folder under the data root and the upstream repository, as in SOURCES.md."""
    labels: dict[str, str] = field(default_factory=dict)
    """Raw label in the files → readable name used everywhere downstream. Order is schema order."""
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Readable event type → readable argument roles (EE, EAE)."""
    text_labels: dict[str, str] = field(default_factory=dict)
    """Raw → readable text-level labels (MRE mix data)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Adapter-specific options (column index, label prefix to strip, fold, ...)."""
    expected: dict[str, int] = field(default_factory=dict)
    """Record counts per split as SOURCES.md states them (checked by the tests)."""
    description: str = ""
    guidelines_from: str = ""
    """YAML key ``guidelines``: the dataset whose guideline file this one shares (default: its own)."""

    @property
    def label_set(self) -> LabelSet:
        return _label_set(self)

    def readable(self, raw: str) -> str:
        """The readable name of a raw label; an unknown label is an error the caller locates."""
        try:
            return self.labels[raw]
        except KeyError:
            raise ValueError(f"label {raw!r} is not in the registry's label set of {self.name}") from None

    def readable_role(self, event_type: str, raw_role: str) -> str:
        """The readable name of an argument role, which must be declared for the (readable) event type.

        Raw roles map through ``options.role_names`` when the entry has one; without it they are
        already readable. An unknown or undeclared role is an error the caller locates.
        """
        role_names = self.options.get("role_names")
        if role_names is None:
            role = raw_role
        elif raw_role in role_names:
            role = role_names[raw_role]
        else:
            raise ValueError(f"role {raw_role!r} is not in options.role_names of {self.name}")
        if role not in self.roles.get(event_type, ()):
            raise ValueError(f"role {role!r} is not declared for event type {event_type!r} in {self.name}")
        return role

    def files(self, split: str, data_root: Path) -> list[Path]:
        """Resolve a split's globs; a glob that matches nothing is a :class:`DataError`."""
        paths: list[Path] = []
        for pattern in self.splits[split]:
            matched = sorted(data_root.glob(pattern))
            if not matched:
                raise DataError(data_root / pattern, 0, f"no file for split {split!r} of {self.name}")
            paths.extend(matched)
        return paths

    def read(self, split: str, data_root: Path | None = None) -> Iterator[Item]:
        """Records of one split, straight from the original files."""
        root = resolve_data_root(data_root)
        yield from ADAPTERS[self.adapter](self, split, self.files(split, root))

    def guidelines(self) -> dict[str, Guideline]:
        return load_guidelines(self.guidelines_from or self.name)


@cache
def _label_set(spec: DatasetSpec) -> LabelSet:
    # One shared instance per dataset: records point at it rather than carrying copies.
    return LabelSet(
        labels=tuple(dict.fromkeys(spec.labels.values())),
        roles=dict(spec.roles),
        text_labels=tuple(dict.fromkeys(spec.text_labels.values())),
    )


def resolve_data_root(data_root: Path | str | None = None) -> Path:
    """``--data-root``, else ``$ADELIE_DATA_ROOT``, else ``../shared/data`` beside the repo or cwd."""
    if data_root is None:
        data_root = os.environ.get(DATA_ROOT_ENV)
    if data_root is not None:
        root = Path(data_root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"data root {root} is not a directory")
        return root.resolve()
    for base in (Path.cwd(), PACKAGE_DIR.parent):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError(
        f"no data root: pass --data-root DIR or set {DATA_ROOT_ENV} (../shared/data was not found)"
    )


def _spec_from_yaml(entry: dict[str, Any], origin: Path) -> DatasetSpec:
    try:
        splits = {k: tuple([v] if isinstance(v, str) else v) for k, v in entry.pop("splits").items()}
        roles = {k: tuple(v) for k, v in entry.pop("roles", {}).items()}
        labels = entry.pop("labels", {})
        if isinstance(labels, list):  # a plain list means the raw names are already readable
            labels = {label: label for label in labels}
        return DatasetSpec(
            task=Task(entry.pop("task")),
            role=Role(entry.pop("role")),
            splits=splits,
            roles=roles,
            labels={str(k): str(v) for k, v in labels.items()},
            guidelines_from=entry.pop("guidelines", ""),
            **entry,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{origin}: bad dataset entry {entry.get('name', '?')!r}: {exc}") from None


@cache
def registry() -> dict[str, DatasetSpec]:
    """All registered datasets by name, in declaration order."""
    import corpora.adapters  # noqa: F401  (registers every adapter)

    specs: dict[str, DatasetSpec] = {}
    for path in sorted((PACKAGE_DIR / "datasets").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text()) or []:
            spec = _spec_from_yaml(dict(entry), path)
            if spec.name in specs:
                raise ValueError(f"{path}: dataset {spec.name!r} is registered twice")
            if spec.adapter not in ADAPTERS:
                raise ValueError(f"{path}: dataset {spec.name!r} uses unknown adapter {spec.adapter!r}")
            specs[spec.name] = spec
    for spec in specs.values():
        owner = specs.get(spec.guidelines_from)
        # One step only: the dataset named must hold its own guideline file.
        if spec.guidelines_from and (owner is None or owner.guidelines_from):
            raise ValueError(
                f"dataset {spec.name!r} takes its guidelines from {spec.guidelines_from!r}, "
                "which is not a registered dataset with guidelines of its own"
            )
    return specs


def get(name: str) -> DatasetSpec:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(registry())
        raise KeyError(f"unknown dataset {name!r}; registered: {known}") from None


@cache
def load_guidelines(name: str) -> dict[str, Guideline]:
    path = PACKAGE_DIR / "guidelines" / f"{name}.yaml"
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    return {
        label: Guideline(definition=g["definition"], examples=tuple(g.get("examples", ())))
        for label, g in raw.items()
    }
