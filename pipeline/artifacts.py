"""Stage outputs: atomic writes, content hashes, hash-keyed output folders and run manifests.

A stage's output folder is keyed by a hash of its config and of its inputs' hashes (as open-instruct
keys its dataset cache), so a changed knob or input gives a new folder and an unchanged one is found
again. Everything is written to a temporary sibling first and renamed into place: a crash leaves either
the old state or the new one, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

RUNS_ENV = "ADELIE_RUNS"
MANIFEST = "manifest.json"
DONE = ".done"  # written last: a folder without it is an unfinished run
PACKAGES = ("adelie", "torch", "transformers", "trl", "datasets", "accelerate", "peft", "openai", "nltk",
            "lm_eval", "vllm", "seqeval", "rouge_score", "sentence_transformers", "matplotlib", "bitsandbytes")
_UMASK = os.umask(0)
os.umask(_UMASK)


def runs_dir() -> Path:
    """Where stages write by default: ``$ADELIE_RUNS`` or ``runs/``."""
    return Path(os.environ.get(RUNS_ENV, "runs"))


def output_folder(stage: str, key: str, output: str | None) -> Path:
    """A stage's folder: the configured ``output``, else ``<runs>/<stage>/<key>``."""
    return Path(output) if output else runs_dir() / stage / key


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a staging folder that replaces ``target`` only when the block finishes without error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_json(data: Any) -> str:
    """A stable hash of JSON-able data (keys sorted)."""
    return hash_bytes(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode())


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def hash_file(path: Path) -> str:
    """sha256 of a file, memoised on (path, size, mtime) within the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _FILE_HASHES[key] = digest.hexdigest()
    return _FILE_HASHES[key]


def hash_tree(path: Path) -> str:
    """A hash of a file, or of a folder's files (relative names and contents), skipping hidden ones."""
    if path.is_file():
        return hash_file(path)
    parts = [
        f"{p.relative_to(path)}:{hash_file(p)}"
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    return hash_json(parts)


def stage_key(config: dict[str, Any], inputs: dict[str, str]) -> str:
    """The key of a stage output: its config and the hashes of its inputs."""
    return hash_json({"config": config, "inputs": inputs})[:16]


def is_done(folder: Path) -> bool:
    return (folder / DONE).exists()


def finished(folder: Path, key: str) -> bool:
    """Whether ``folder`` holds a complete output made with this key (config and inputs)."""
    if not is_done(folder):
        return False
    try:
        return json.loads((folder / MANIFEST).read_text())["key"] == key
    except (OSError, ValueError, KeyError):
        return False


def mark_done(folder: Path) -> None:
    atomic_write_text(folder / DONE, datetime.now(timezone.utc).isoformat() + "\n")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def command_line() -> str:
    """This process's command as a user would retype it: ``adelie STAGE ...`` however it was started."""
    program = Path(sys.argv[0]).name
    words = ["adelie", *sys.argv[1:]] if program in ("adelie", "cli.py", "__main__.py") else sys.argv
    return shlex.join(words)


def write_manifest(folder: Path, stage: str, config: dict[str, Any], inputs: dict[str, str],
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``manifest.json``: what ran, with which config, inputs (hashes), seed and package versions."""
    manifest = {
        "stage": stage,
        "key": stage_key(config, inputs),
        "config": config,
        "inputs": inputs,
        "versions": versions(),
        "command": command_line(),
        "finished": datetime.now(timezone.utc).isoformat(),
        **(extra or {}),
    }
    atomic_write_json(folder / MANIFEST, manifest)
    return manifest
