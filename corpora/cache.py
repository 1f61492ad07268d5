"""A disk cache of parsed records, keyed by the source files' hashes and the adapter code.

Reading every training-pool dataset from the original formats takes about 30 s on two cores, most of
it in validation; later stages (instruct, feedback, eval) read the same records again and again. The
cache stores each split's records as a pickle named by a hash of (dataset entry, file hashes, the
source of the ``corpora`` and ``pipeline.records`` modules), so any change to data, registry or adapter
code simply misses the cache. Entries are written atomically.
"""

from __future__ import annotations

import dataclasses
import pickle
from functools import cache
from pathlib import Path

from corpora.base import Item
from corpora.registry import DatasetSpec, resolve_data_root
from pipeline.artifacts import atomic_write_bytes, hash_file, hash_json
from pipeline.models import cache_dir

_CODE_ROOTS = ("corpora", "pipeline/records.py")


@cache
def _code_hash() -> str:
    root = Path(__file__).resolve().parents[1]
    files = []
    for name in _CODE_ROOTS:
        path = root / name
        files += sorted(path.rglob("*.py")) + sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    return hash_json([f"{f.relative_to(root)}:{hash_file(f)}" for f in files])


_LOADED: dict[Path, list[Item]] = {}  # splits already read in this process (records are immutable)


def read_cached(spec: DatasetSpec, split: str, data_root: Path | None = None) -> list[Item]:
    """The records of a split, from the cache when the files, registry entry and code are unchanged.

    The list is shared with every caller in the process: treat it as read-only.
    """
    root = resolve_data_root(data_root)
    paths = spec.files(split, root)
    entry = {k: v for k, v in dataclasses.asdict(spec).items() if k != "description"}
    key = hash_json({"spec": entry, "split": split, "files": [hash_file(p) for p in paths], "code": _code_hash()})
    path = cache_dir() / "records" / f"{spec.name}-{split}-{key[:16]}.pkl"
    if path in _LOADED:
        return _LOADED[path]
    records = None
    if path.exists():
        try:
            records = pickle.loads(path.read_bytes())
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            path.unlink(missing_ok=True)  # a stale or damaged entry is rebuilt
    if records is None:
        records = list(spec.read(split, root))
        atomic_write_bytes(path, pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
    _LOADED[path] = records
    return records
