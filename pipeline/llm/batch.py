"""Batch API mode: the engine's requests as one or more OpenAI batches, resumable across restarts.

A submission writes the requests to ``batches/<tag>.jsonl`` in the output folder (``custom_id`` is
the request's store key), uploads it through the files endpoint, creates the batch and records every
step in ``batches.json`` before and after it happens:

    [{"tag": ..., "file": "batches/<tag>.jsonl", "requests": N, "input_file_id": ..., "id": ...,
      "landed": false}, ...]

A restarted run first resumes polling every batch that has not landed; their requests are not
submitted again. Creation is idempotent: the batch carries ``metadata.adelie_tag`` and, before
creating one, the runner looks for a batch with that tag (a crash or a lost response between
"created" and "recorded" must not pay for the same batch twice). When a batch ends, its answers land
in the same store as the chat path's; requests the batch could not answer are reported as failures,
and a rerun submits them in a new batch.
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.artifacts import atomic_write_json, atomic_write_text, hash_json
from pipeline.llm.engine import Engine, LLMRequest, Outcome, PermanentError

if TYPE_CHECKING:
    import openai
    from tqdm import tqdm

STATE_FILE = "batches.json"
BATCH_DIR = "batches"
ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


def running_batches(folder: Path) -> int:
    """How many batches recorded in ``folder`` have not landed yet."""
    path = folder / STATE_FILE
    return sum(1 for entry in json.loads(path.read_text()) if not entry["landed"]) if path.exists() else 0


class BatchRunner:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.config = engine.config
        self.folder = engine.folder
        path = self.folder / STATE_FILE
        self.state: list[dict[str, Any]] = json.loads(path.read_text()) if path.exists() else []
        self.reserved: dict[str, float] = {}  # tag -> USD held for batches submitted by this run

    def _save(self) -> None:
        atomic_write_json(self.folder / STATE_FILE, self.state)

    async def run(self, todo: dict[str, LLMRequest], outcome: Outcome, desc: str) -> None:
        client = self.engine.client()
        bar = self.engine.progress_bar(len(todo), desc)
        try:
            waiting = {key for entry in self.state if not entry["landed"] for key in self._keys(entry)}
            fresh = [(key, request) for key, request in todo.items() if key not in waiting]
            for entry in self._submissions(fresh, outcome):
                await self._submit(client, entry, outcome)
            await self._poll(client, todo, outcome, bar)
        finally:
            bar.close()
            await client.close()

    # -- submitting --------------------------------------------------------------------------
    def _submissions(self, fresh: list[tuple[str, LLMRequest]], outcome: Outcome) -> list[dict[str, Any]]:
        """Batch files for the requests the budget allows, recorded before anything is uploaded."""
        chosen: list[tuple[str, LLMRequest, float]] = []
        for i, (key, request) in enumerate(fresh):
            worst = self.engine.worst_cost(request)
            if not self.engine.reserve(worst):
                outcome.stopped = self.engine.budget_message(len(fresh) - i)
                break
            chosen.append((key, request, worst))
        entries = []
        size = self.config.batch_size
        for start in range(0, len(chosen), size):
            chunk = chosen[start : start + size]
            rows = [{"custom_id": key, "method": "POST", "url": ENDPOINT, "body": self.engine.body(request)}
                    for key, request, _ in chunk]
            lines = [json.dumps(row, ensure_ascii=False) for row in rows]
            tag = hash_json([len(self.state), [key for key, _, _ in chunk]])[:16]  # unique per submission
            name = f"{BATCH_DIR}/{tag}.jsonl"
            atomic_write_text(self.folder / name, "\n".join(lines) + "\n")
            entry = {"tag": tag, "file": name, "requests": len(chunk), "input_file_id": None, "id": None,
                     "landed": False}
            self.state.append(entry)
            self.reserved[tag] = sum(worst for _, _, worst in chunk)
            entries.append(entry)
        self._save()
        return entries

    async def _submit(self, client: openai.AsyncOpenAI, entry: dict[str, Any], outcome: Outcome) -> None:
        try:
            await self.engine.with_retries(partial(self._start, client, entry))
        except PermanentError as exc:  # not submitted: the requests go out again next run
            self._fail(entry, f"could not submit {entry['file']}: {exc}", outcome)

    async def _start(self, client: openai.AsyncOpenAI, entry: dict[str, Any]) -> None:
        """Upload and create, unless an earlier attempt (this run or a crashed one) already did."""
        if entry["id"]:
            return
        found = await self._find(client, entry["tag"])
        if found is None:
            if not entry["input_file_id"]:
                path = self.folder / entry["file"]
                uploaded = await client.files.create(file=(path.name, path.read_bytes()), purpose="batch")
                entry["input_file_id"] = uploaded.id
                self._save()
            found = await client.batches.create(input_file_id=entry["input_file_id"], endpoint=ENDPOINT,
                                                completion_window=self.config.batch_window,
                                                metadata={"adelie_tag": entry["tag"]})
        entry["id"] = found.id
        self._save()

    @staticmethod
    async def _find(client: openai.AsyncOpenAI, tag: str) -> openai.types.Batch | None:
        page = await client.batches.list(limit=100)
        return next((b for b in page.data if (b.metadata or {}).get("adelie_tag") == tag), None)

    # -- polling and landing -----------------------------------------------------------------
    async def _poll(self, client: openai.AsyncOpenAI, todo: dict[str, LLMRequest], outcome: Outcome, bar: tqdm) -> None:
        while True:
            for entry in [e for e in self.state if not e["landed"]]:
                if not entry["id"]:  # recorded by a run that stopped before creating it
                    await self._submit(client, entry, outcome)
                    if entry["landed"]:
                        continue
                try:
                    batch = await self.engine.with_retries(partial(client.batches.retrieve, entry["id"]))
                except PermanentError as exc:  # the batch is gone: its requests go out again next run
                    self._fail(entry, f"batch {entry['id']}: {exc}", outcome)
                    continue
                counts = batch.request_counts
                bar.set_postfix_str(f"{batch.id} {batch.status} {counts.completed if counts else 0}/"
                                    f"{entry['requests']} spent ${self.engine.spent:.4f}", refresh=True)
                if batch.status in TERMINAL:
                    landed = await self._land(client, entry, batch, todo, outcome)
                    bar.update(landed)
            if all(e["landed"] for e in self.state):
                return
            await asyncio.sleep(self.config.batch_poll_s)

    async def _land(self, client: openai.AsyncOpenAI, entry: dict[str, Any], batch: openai.types.Batch,
                    todo: dict[str, LLMRequest], outcome: Outcome) -> int:
        """Store a finished batch's answers; returns how many of ``todo`` it answered."""
        requests = self._requests(entry)
        entries, errors = [], {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self.engine.with_retries(partial(client.files.content, file_id))
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                key = row.get("custom_id")
                response = row.get("response") or {}
                if key not in requests:
                    continue
                if response.get("status_code") == 200 and not row.get("error"):
                    try:
                        request = todo.get(key, requests[key])  # todo's copy carries the tag
                        entries.append(self.engine.entry(key, request, response["body"], via="batch"))
                    except ValueError as exc:
                        errors[key] = str(exc)
                else:
                    errors[key] = _row_error(row)
        self.engine.store.add_now(entries)
        self.engine.spent += sum(e["cost"] or 0.0 for e in entries)
        self.engine.reserved -= self.reserved.pop(entry["tag"], 0.0)
        why = f"batch {batch.id} ended {batch.status}" + (f": {batch.errors}" if batch.errors else "")
        for key in requests:
            if key not in self.engine.store:
                outcome.failed[key] = errors.get(key, f"{why}, without an answer for this request")
        outcome.sent += len(entries)
        entry["landed"] = True
        self._save()
        return sum(1 for e in entries if e["key"] in todo)

    def _fail(self, entry: dict[str, Any], why: str, outcome: Outcome) -> None:
        for key in self._keys(entry):
            outcome.failed[key] = why
        self.engine.reserved -= self.reserved.pop(entry["tag"], 0.0)
        entry["landed"] = True
        self._save()

    def _requests(self, entry: dict[str, Any]) -> dict[str, LLMRequest]:
        """The batch's requests by key, read back from its file (a resumed batch has nothing else)."""
        found = {}
        for line in (self.folder / entry["file"]).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            messages = tuple((m["role"], m["content"]) for m in row["body"]["messages"])
            found[row["custom_id"]] = LLMRequest(messages)
        return found

    def _keys(self, entry: dict[str, Any]) -> list[str]:
        path: Path = self.folder / entry["file"]
        return [json.loads(line)["custom_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def _row_error(row: dict[str, Any]) -> str:
    response = row.get("response") or {}
    error = row.get("error") or (response.get("body") or {}).get("error") or {}
    message = error.get("message", error) if isinstance(error, dict) else error
    status = response.get("status_code")
    return f"batch error{f' {status}' if status else ''}: {message}"
