"""Crashes and secrets, with the stage in a subprocess: ``kill -9`` mid-run (chat and Batch API), then
a rerun; and the API key in no file and no log."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from llm_responders import FIXTURE, LABELS, explainer, translator
from llm_support import KEY, REPO, cli, overrides, served_key

from pipeline.cli import main

LABELS_ARG = "labels={" + ", ".join(f"{k}: {v}" for k, v in LABELS.items()) + "}"


def wait_for(proc, ready, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the stage ended (rc {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def kill_9(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def complete_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # the line being written when the process died
            pass
    return out


def test_kill_9_mid_run_resends_nothing_finished_and_matches_an_uninterrupted_run(fake, tmp_path):
    server = fake(responder=explainer, latency=0.05)
    stage = ["datasets=[conll04]", "instances=60", "concurrency=3", *overrides(server)]
    store = tmp_path / "killed" / "store.jsonl"
    proc = cli("explain", "--output", str(tmp_path / "killed"), *stage)
    wait_for(proc, lambda: store.exists() and store.read_text().count("\n") >= 10, "ten answers were stored")
    kill_9(proc)
    finished = [served_key(line["content"]) for line in complete_lines(store)]
    assert 10 <= len(finished) < 60, "the kill came too late to interrupt anything"

    assert main(["explain", "--output", str(tmp_path / "killed"), *stage]) == 0
    assert all(server.served[key] == 1 for key in finished)  # no finished request was sent again
    assert len(server.served) == 60
    assert sum(n - 1 for n in server.served.values()) <= 3  # at most the requests in flight at the kill

    clean = fake(responder=explainer)
    assert main(["explain", "--output", str(tmp_path / "clean"), "datasets=[conll04]", "instances=60",
                 *overrides(clean)]) == 0
    resumed = (tmp_path / "killed" / "explanations.jsonl").read_text()
    assert resumed == (tmp_path / "clean" / "explanations.jsonl").read_text() and resumed.count("\n") == 60


@pytest.mark.parametrize("lose_id", [False, True], ids=["id-recorded", "killed-before-recording-the-id"])
def test_batch_mode_resumes_polling_after_kill_9(fake, tmp_path, lose_id):
    server = fake(responder=translator, batch_polls=10**9)  # the batch stays in progress until released
    stage = [f"source={REPO / FIXTURE}", LABELS_ARG, *overrides(server)]
    folder = tmp_path / "batch"
    state = folder / "batches.json"
    proc = cli("translate", "--output", str(folder), "batch=true", *stage)
    wait_for(proc, lambda: state.exists() and json.loads(state.read_text())[0]["id"], "the batch id was recorded")
    time.sleep(0.2)  # a few polls
    kill_9(proc)
    assert len(server.batches) == 1 and not (folder / "store.jsonl").exists()
    if lose_id:  # as if killed between creating the batch and recording its id
        entries = json.loads(state.read_text())
        entries[0]["id"] = None
        state.write_text(json.dumps(entries))

    assert main(["translate", "--output", str(folder), *stage]) == 2  # chat mode would pay for them again
    assert not server.attempts

    server.batch_polls = 1
    assert main(["translate", "--output", str(folder), "batch=true", *stage]) == 0
    assert len(server.batches) == 1  # polled (or found by its tag), never submitted again
    assert len(server.served) == 8 and set(server.served.values()) == {1}
    stored = complete_lines(folder / "store.jsonl")
    assert len(stored) == 8 and {line["via"] for line in stored} == {"batch"}
    assert json.loads(state.read_text())[0]["landed"]

    chat = fake(responder=translator)
    assert main(["translate", "--output", str(tmp_path / "chat"), f"source={REPO / FIXTURE}", LABELS_ARG,
                 *overrides(chat)]) == 0
    assert (folder / "records.jsonl").read_text() == (tmp_path / "chat" / "records.jsonl").read_text()
    batch_cost = sum(line["cost"] for line in stored)
    chat_cost = sum(line["cost"] for line in complete_lines(tmp_path / "chat" / "store.jsonl"))
    assert batch_cost == pytest.approx(chat_cost / 2)  # batch_price_factor 0.5


def test_the_key_reaches_the_server_but_no_file_and_no_log(fake, tmp_path):
    server = fake(responder=explainer)
    debug = {"OPENAI_LOG": "debug"}  # the client's most talkative logging
    runs = [
        cli("explain", "--output", str(tmp_path / "explain"), "datasets=[conll04]", "instances=5",
            *overrides(server), env=debug),
        cli("translate", "--output", str(tmp_path / "translate"), "batch=true", f"source={REPO / FIXTURE}",
            LABELS_ARG, *overrides(fake(responder=translator)), env=debug),
    ]
    logs = ""
    for proc in runs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        logs += out + err
    assert f"Bearer {KEY}" in server.headers_seen  # the key was really in use
    assert "HTTP Request" in logs or "Request options" in logs  # the debug log was captured
    assert KEY not in logs
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"store.jsonl", "manifest.json", ".done", "batches.json", "explanations.jsonl"}
    assert not [p for p in files if KEY.encode() in p.read_bytes()]
