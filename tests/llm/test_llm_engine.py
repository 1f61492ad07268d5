"""The engine against the fake server with the real ``openai`` client: faults, retries, the store,
the cost cap and the dry-run plan."""

from __future__ import annotations

import fcntl
import json

import pytest
from fake_server import FAULTS, prompt_key
from llm_support import KEY

from pipeline.llm import Engine, LLMConfig, LLMRequest
from pipeline.llm.store import ResultStore, StoreError

PRICES = {"fake-model": {"input": 1.0, "output": 2.0}}


def config(server, **extra) -> LLMConfig:
    values = dict(base_url=server.url, model="fake-model", timeout_s=0.5, backoff_s=0.01, backoff_max_s=0.1,
                  max_retries=12, concurrency=16, prices=PRICES, max_tokens=50)
    return LLMConfig(**{**values, **extra})


def requests(n: int) -> list[LLMRequest]:
    return [LLMRequest.user(f"Say something about item {i}.", tag=f"item/{i}") for i in range(n)]


def store_lines(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "store.jsonl").read_text().splitlines()]


def test_every_request_completes_once_under_30_percent_faults(fake, tmp_path):
    server = fake(fault_rate=0.3, hang_s=0.8, seed=1)
    work = requests(200)
    outcome = Engine(config(server), tmp_path, progress=False).run(work)
    assert outcome.complete and outcome.sent == 200
    lines = store_lines(tmp_path)
    assert len(lines) == 200 and len({line["key"] for line in lines}) == 200
    assert set(server.injected) == set(FAULTS), server.injected  # every kind of fault was met
    assert sum(server.attempts.values()) > 200
    prompts = {prompt_key(r.chat()) for r in work}
    assert set(server.served) == prompts and set(server.served.values()) == {1}  # nothing billed twice
    assert {line["tag"] for line in lines} == {r.tag for r in work}
    assert all(line["content"].startswith("answer to ") for line in lines)


def test_a_rerun_sends_nothing_and_returns_the_stored_answers(fake, tmp_path):
    server = fake()
    first = Engine(config(server), tmp_path, progress=False).run(requests(20))
    again = Engine(config(server), tmp_path, progress=False).run(requests(20))
    assert again.sent == 0 and again.complete
    assert again.results == first.results
    assert sum(server.attempts.values()) == 20
    bigger = Engine(config(server), tmp_path, progress=False).run(requests(25))
    assert bigger.sent == 5 and len(bigger.results) == 25


def test_retry_after_is_honoured_and_exhausted_retries_are_reported(fake, tmp_path):
    server = fake(fault_rate=1.0, faults=("429",), retry_after=0.4)
    outcome = Engine(config(server, max_retries=2, backoff_s=0.001), tmp_path, progress=False).run(requests(1))
    assert not outcome.complete and outcome.sent == 0
    assert "RateLimitError 429" in next(iter(outcome.failed.values()))
    times = [t for t, _, _ in server.log]
    assert len(times) == 3
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.4, gaps  # the backoff alone would have waited about a millisecond
    assert not (tmp_path / "store.jsonl").exists() or store_lines(tmp_path) == []


def test_a_refused_request_is_not_retried(fake, tmp_path):
    def responder(messages, body):
        if "item 3." in messages[-1]["content"]:
            raise ValueError("this prompt breaks the rules")
        return "fine"

    server = fake(responder=responder)
    outcome = Engine(config(server), tmp_path, progress=False).run(requests(5))
    assert list(outcome.failed.values()) == ["BadRequestError 400: Error code: 400 - this prompt breaks the rules"]
    assert len(outcome.results) == 4
    assert sum(server.attempts.values()) == 5  # one attempt each: a 400 is final


def test_max_cost_stops_before_the_cap_and_keeps_what_was_paid(fake, tmp_path):
    server = fake(latency=0.01)
    engine = Engine(config(server, concurrency=4), tmp_path, progress=False)
    work = requests(40)
    worst = engine.worst_cost(work[0])
    cap = 10.5 * worst
    capped = Engine(config(server, concurrency=4, max_cost=cap), tmp_path, progress=False)
    outcome = capped.run(work)
    assert outcome.stopped and "--max-cost" in outcome.stopped and "not sent" in outcome.stopped
    assert 10 <= outcome.sent < 40
    assert capped.spent <= cap
    stored = store_lines(tmp_path)
    assert len(stored) == outcome.sent == sum(server.served.values())  # every paid answer is kept
    assert capped.spent == pytest.approx(sum(line["cost"] for line in stored))
    rest = Engine(config(server, concurrency=4), tmp_path, progress=False).run(work)
    assert rest.complete and rest.sent == 40 - outcome.sent
    assert set(server.served.values()) == {1}


def test_the_plan_counts_stored_requests_and_bounds_the_cost(fake, tmp_path):
    server = fake()
    engine = Engine(config(server), tmp_path, progress=False)
    engine.run(requests(3))
    plan = engine.plan(requests(10))
    assert plan.cached == 3 and len(plan.todo) == 7
    assert plan.worst_cost == pytest.approx((plan.input_tokens * 1.0 + 7 * 50 * 2.0) / 1e6)
    assert "10 requests" in plan.summary(engine.config) and "7 to send" in plan.summary(engine.config)


def test_the_key_is_read_from_the_named_variable(fake, tmp_path, monkeypatch):
    server = fake()
    monkeypatch.setenv("MY_PROVIDER_KEY", "sk-other-provider")
    Engine(config(server, key_env="MY_PROVIDER_KEY"), tmp_path, progress=False).run(requests(1))
    assert server.headers_seen == ["Bearer sk-other-provider"]
    monkeypatch.delenv("MY_PROVIDER_KEY")
    with pytest.raises(Exception, match="MY_PROVIDER_KEY"):
        Engine(config(server, key_env="MY_PROVIDER_KEY"), tmp_path / "b", progress=False).run(requests(1))
    assert KEY not in str(server.headers_seen)


def test_the_store_cuts_a_partial_last_line_and_locates_corruption(tmp_path):
    path = tmp_path / "store.jsonl"
    good = json.dumps({"key": "a", "content": "x"}) + "\n"
    path.write_text(good + '{"key": "b", "cont')  # a write cut by kill -9
    store = ResultStore(path)
    assert "a" in store and "b" not in store and path.read_text() == good
    path.write_text(good + "not json\n" + good)
    with pytest.raises(StoreError, match=r"store.jsonl:2"):
        ResultStore(path)


def test_error_messages_never_quote_the_key(fake, tmp_path):
    def responder(messages, body):
        raise ValueError(f"Incorrect API key provided: {KEY[:8]}**********{KEY[-4:]}. Also {KEY}.")

    server = fake(responder=responder)
    outcome = Engine(config(server), tmp_path, progress=False).run(requests(1))
    message = next(iter(outcome.failed.values()))
    assert "Incorrect API key provided: [key]. Also [key]." in message
    assert KEY[:8] not in message and KEY[-4:] not in message


def test_batch_errors_are_reported_and_a_rerun_submits_them_again(fake, tmp_path):
    refuse = {"on": True}

    def responder(messages, body):
        if refuse["on"]:
            raise ValueError("not today")
        return "fine"

    server = fake(responder=responder)
    batch = config(server, batch=True, batch_poll_s=0.01)
    first = Engine(batch, tmp_path, progress=False).run(requests(4))
    assert len(first.failed) == 4 and set(first.failed.values()) == {"batch error 400: not today"}
    assert not first.results and not server.served
    refuse["on"] = False
    again = Engine(batch, tmp_path, progress=False).run(requests(4))  # the very same requests
    assert again.complete and len(again.results) == 4 and again.sent == 4
    assert len(server.batches) == 2 and set(server.served.values()) == {1}
    assert {r["via"] for r in again.results.values()} == {"batch"}
    assert Engine(batch, tmp_path, progress=False).run(requests(4)).sent == 0


def test_a_second_run_on_the_same_folder_is_refused_while_one_sends(fake, tmp_path):
    server = fake()
    Engine(config(server), tmp_path, progress=False).run(requests(2))
    with open(tmp_path / "store.lock", "w") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StoreError, match="another run"):
            Engine(config(server), tmp_path, progress=False).run(requests(3))
    assert sum(server.attempts.values()) == 2
    assert Engine(config(server), tmp_path, progress=False).run(requests(3)).sent == 1
