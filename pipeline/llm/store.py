"""The append-only result store: one JSON line per finished request, keyed by the request's hash.

Paid answers are the precious part of an LLM stage, so they are written as they arrive, not at the
end: every line is flushed and fsync'd before the request counts as finished. Lines arriving together
share one write and one fsync (group commit), which keeps 32 requests in flight from queueing behind
the disk. A ``kill -9`` therefore loses at most the requests in flight; a crash in the middle of a
write leaves a partial last line, which the next open cuts off (that request is simply sent again).

One run at a time: :meth:`ResultStore.exclusive` holds an advisory lock on ``store.lock`` while a
run sends, so a second run on the same folder stops with a message instead of paying for the same
requests again; the lock dies with its process, ``kill -9`` included.

A line: ``{"key", "tag", "model", "content", "finish_reason", "input_tokens", "output_tokens",
"cost", "via", "at"}``; ``tag`` says what the request was for (a record id, say), ``via`` is
``"chat"`` or ``"batch"``, ``cost`` is USD or null when the model has no price.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class StoreError(ValueError):
    """A store line that is not a result (corruption other than a cut last line)."""


class ResultStore:
    def __init__(self, path: Path):
        self.path = path
        self._results: dict[str, dict[str, Any]] = {}
        self._pending: list[tuple[str, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a write cut short by a crash: its request was never finished
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                os.fsync(f.fileno())
        for number, line in enumerate(data[:cut].decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self._results[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise StoreError(f"{self.path}:{number}: not a result line ({exc})") from None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the folder's run lock, with the answers other runs stored up to now loaded."""
        with open(self.path.with_suffix(".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"another run is sending requests into {self.path}; wait for it to end "
                                 "or give this one another output folder") from None
            self._load()
            yield

    def __contains__(self, key: str) -> bool:
        return key in self._results

    def __len__(self) -> int:
        return len(self._results)

    def get(self, key: str) -> dict[str, Any] | None:
        return self._results.get(key)

    def add_now(self, entries: list[dict[str, Any]]) -> None:
        """Append entries durably, blocking (the batch path lands whole files at once)."""
        self._write([json.dumps(e, ensure_ascii=False) + "\n" for e in entries])
        for entry in entries:
            self._results[entry["key"]] = entry

    async def add(self, entry: dict[str, Any]) -> None:
        """Append one entry; returns once it is on disk, sharing the fsync with concurrent adds."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((json.dumps(entry, ensure_ascii=False) + "\n", future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future
        self._results[entry["key"]] = entry

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._write, [line for line, _ in group])
            except OSError as exc:
                for _, future in group:
                    future.set_exception(exc)
            else:
                for _, future in group:
                    future.set_result(None)

    def _write(self, lines: list[str]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(lines))
            f.flush()
            os.fsync(f.fileno())
