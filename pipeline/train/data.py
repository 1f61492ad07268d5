"""Finding, hashing and loading the datasets stages hand each other (``adelie instruct``/``mix``/
``feedback`` outputs).

A saved dataset is loaded into memory: ``datasets`` would otherwise write the cache files of every
``map`` (TRL tokenises with it) into the input folder, changing the folder that other stages hash.
Hashes cover the dataset's own files only, so a folder that already holds such caches keeps its hash.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.artifacts import hash_file, hash_json

OWN_FILES = ("data-*.arrow", "dataset_info.json", "state.json")


def saved_dataset(path: str | Path, made_by: str) -> Path:
    """The ``datasets.save_to_disk`` folder of a stage output (its ``dataset/``) or the folder itself;
    ``made_by`` names the stage that writes it, for the error message."""
    folder = Path(path)
    if (folder / "dataset").is_dir():
        folder = folder / "dataset"
    if not (folder / "dataset_info.json").exists():
        raise FileNotFoundError(f"{path} is neither a saved dataset nor a folder holding dataset/ (run {made_by})")
    return folder


def load_columns(path: str | Path, made_by: str, columns: list[str]):
    """The given columns of a saved dataset, with a clear error when one is missing."""
    from datasets import load_from_disk

    folder = saved_dataset(path, made_by)
    data = load_from_disk(str(folder), keep_in_memory=True)
    missing = [c for c in columns if c not in data.column_names]
    if missing:
        raise ValueError(f"{folder} lacks column(s) {', '.join(missing)} (it has {', '.join(data.column_names)})")
    return data.select_columns(columns)


def dataset_hash(path: str | Path, made_by: str) -> str:
    """A hash of a saved dataset's content files (not of caches that ``map`` may have left beside them)."""
    folder = saved_dataset(path, made_by)
    files = sorted(p for pattern in OWN_FILES for p in folder.glob(pattern))
    return hash_json([f"{p.name}:{hash_file(p)}" for p in files])
