"""Collect the training pool (paper §3.1): NA filtering, decontamination and examples-proportional mixing.

Every random choice uses its own ``random.Random`` seeded by a string naming the choice and the record
or dataset, so the pool does not depend on reading order and two runs with one seed agree exactly.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from corpora.cache import read_cached
from corpora.registry import DatasetSpec, Role, get, registry
from pipeline.instruct.config import InstructConfig
from pipeline.records import Record
from pipeline.tasks import PLUGINS, plugin

_NON_WORD = re.compile(r"\W+")


@dataclass
class PoolStats:
    read: dict[str, int] = field(default_factory=dict)
    na_dropped: dict[str, int] = field(default_factory=dict)
    contaminated: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)


def training_specs(names: list[str]) -> list[DatasetSpec]:
    """The IE datasets of the training pool; naming a held-out dataset is an error, never a leak."""
    if not names:
        return [s for s in registry().values() if s.role is Role.TRAIN and s.task in PLUGINS]
    specs = [get(n) for n in names]
    for spec in specs:
        if spec.role is not Role.TRAIN or spec.task not in PLUGINS:
            raise ValueError(f"{spec.name} is a {spec.role.value} {spec.task.value} dataset, not part of the IE training pool")
    return specs


def heldout_specs() -> list[DatasetSpec]:
    return [s for s in registry().values() if s.role is Role.HELDOUT and s.task in PLUGINS]


def normal_text(text: str) -> str:
    """Texts are compared lower-cased with punctuation and spacing removed (tokenisation differs between sources)."""
    return _NON_WORD.sub("", text.lower())


@cache
def heldout_texts(data_root: Path | None) -> frozenset[str]:
    """Normalised texts of every split of every held-out IE dataset."""
    return frozenset({
        normal_text(r.text) for spec in heldout_specs() for split in spec.splits for r in read_cached(spec, split, data_root)
    })


def has_answer(record: Record) -> bool:
    return bool(plugin(record.task).items(record.gold))


def collect(cfg: InstructConfig) -> tuple[dict[str, list[Record]], PoolStats]:
    """The sampled pool per dataset, in a seeded order, and what was dropped on the way."""
    stats = PoolStats()
    banned = heldout_texts(cfg.data_root) if cfg.decontaminate else frozenset()
    pool: dict[str, list[Record]] = {}
    for spec in training_specs(cfg.datasets):
        records = [r for split in spec.splits for r in read_cached(spec, split, cfg.data_root)]
        stats.read[spec.name] = len(records)
        clean = [r for r in records if normal_text(r.text) not in banned]
        stats.contaminated[spec.name] = len(records) - len(clean)
        kept = [r for r in clean if has_answer(r) or _chance(cfg.seed, "na", r.id) < cfg.na_keep_rate]
        stats.na_dropped[spec.name] = len(clean) - len(kept)
        random.Random(f"{cfg.seed}/mix/{spec.name}").shuffle(kept)
        pool[spec.name] = kept[: cfg.per_dataset_cap]
    return pool, stats


def mixture(pool: dict[str, list[Record]], cfg: InstructConfig, stats: PoolStats) -> list[Record]:
    """The records that become instances: every dataset's share, scaled down to ``max_instances``."""
    total = sum(len(rs) for rs in pool.values())
    scale = min(1.0, cfg.max_instances / total) if cfg.max_instances and total else 1.0
    chosen: list[Record] = []
    for name, records in pool.items():
        take = max(1, round(len(records) * scale)) if records else 0
        stats.kept[name] = take
        chosen += records[:take]
    random.Random(f"{cfg.seed}/order").shuffle(chosen)
    return chosen


def _chance(seed: int, what: str, key: str) -> float:
    """A uniform draw in [0, 1) fixed by its key: cheaper than a seeded Random per record."""
    digest = hashlib.blake2b(f"{seed}/{what}/{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
