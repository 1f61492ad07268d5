"""One engine under every LLM-assisted stage: concurrent, retrying, resumable and cost-capped.

Paid calls are precious: none may be lost or sent twice. So

- every request has a key, the sha256 of (model, messages, parameters); a finished request's answer
  goes to the append-only :class:`~pipeline.llm.store.ResultStore` at once, and a rerun sends only
  the keys the store lacks;
- requests run on ``AsyncOpenAI`` with ``concurrency`` in flight. The client's own retries are off
  (``max_retries=0``): they do not cover malformed or truncated bodies, so the engine retries 408,
  409, 429, 5xx, timeouts, dropped connections and unreadable answers itself, with exponential
  backoff and jitter, waiting exactly what ``Retry-After`` asks when the server says;
- with ``max_cost``, each request reserves its worst-case cost (input estimate plus ``max_tokens`` of
  output) before it is sent; when the next reservation would pass the cap nothing more is sent, the
  requests in flight finish and are stored, and the outcome says why it stopped;
- ``batch: true`` hands the same requests to the Batch API (:mod:`pipeline.llm.batch`).

Stages build :class:`LLMRequest` lists and read answers back by key; they never touch HTTP.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import os
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm import tqdm

from pipeline.llm.config import LLMConfig
from pipeline.llm.pricing import INPUT_MARGIN, Price, estimate_input_tokens, estimate_tokens, price_for
from pipeline.llm.store import ResultStore

if TYPE_CHECKING:
    import openai

T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
STORE_FILE = "store.jsonl"
SECRET = re.compile(r"\b(?:sk|key|rk)-[\w*-]{6,}")  # API-key-like tokens, masked or not


class LLMError(RuntimeError):
    """A problem the user must fix before anything is sent (no key, no price under a cost cap)."""


class MalformedAnswer(ValueError):
    """A 200 answer without a usable message: retried like a server error."""


class PermanentError(RuntimeError):
    """A request the server refused for good (4xx), or that kept failing after every retry."""


@dataclass(frozen=True)
class LLMRequest:
    """One chat request. ``tag`` names what it is for (kept in the store for people); ``variant``
    tells apart identical prompts that should be sampled separately (it joins the key, not the call)."""

    messages: tuple[tuple[str, str], ...]  # (role, content) pairs
    tag: str = ""
    variant: str = ""

    @classmethod
    def user(cls, content: str, tag: str = "", variant: str = "", system: str | None = None) -> LLMRequest:
        turns = ((("system", system),) if system else ()) + (("user", content),)
        return cls(turns, tag, variant)

    def chat(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


def request_key(model: str, messages: list[dict[str, str]], params: dict[str, Any], variant: str = "") -> str:
    """sha256 of (model, messages, parameters), plus the variant when there is one."""
    payload: dict[str, Any] = {"model": model, "messages": messages, "params": params}
    if variant:
        payload["variant"] = variant
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Plan:
    """What a run would do: requests to send, those already stored, and what they may cost."""

    keys: list[str]  # one per request, in order
    todo: dict[str, LLMRequest]
    cached: int
    input_tokens: int
    worst_cost: float | None  # input estimate + max_tokens of output each; None without a price

    def summary(self, config: LLMConfig) -> str:
        total = len(set(self.keys))
        lines = [
            f"{total:,} requests for {config.model} at {config.base_url}: {self.cached:,} already in the store, "
            f"{len(self.todo):,} to send{' as a batch' if config.batch else ''}",
            f"input ~{self.input_tokens:,} tokens (estimated), output at most {len(self.todo) * config.max_tokens:,} "
            f"tokens ({config.max_tokens} each)",
        ]
        if self.worst_cost is None:
            lines.append(f"estimated cost: unknown, no price for {config.model!r} (set prices.{config.model})")
        else:
            lines.append(f"estimated cost: at most ${self.worst_cost:.4f}")
        return "\n".join(lines)


@dataclass
class Outcome:
    """What a run achieved: results by key (stored ones included), failures, and why it stopped early."""

    results: dict[str, dict[str, Any]]
    failed: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None
    sent: int = 0

    @property
    def complete(self) -> bool:
        return not self.failed and self.stopped is None

    def message(self, store: Path) -> str:
        parts = []
        if self.stopped:
            parts.append(self.stopped)
        if self.failed:
            first = next(iter(self.failed.values()))
            parts.append(f"{len(self.failed):,} requests failed (first: {first}); a rerun retries them")
        parts.append(f"every answer received is kept in {store}; a rerun sends only what is missing")
        return "\n".join(parts)

    @property
    def exit_code(self) -> int:
        return 3 if self.stopped else 1


class Engine:
    """Sends requests for one stage run; ``spent`` adds up across calls of :meth:`run`."""

    def __init__(self, config: LLMConfig, folder: Path, progress: bool = True):
        self.config = config
        self.folder = folder
        self.store = ResultStore(folder / STORE_FILE)
        self.price: Price | None = price_for(config.prices, config.model)
        self.params = {"temperature": config.temperature, "max_tokens": config.max_tokens, **config.params}
        self.progress = progress
        self.spent = 0.0  # USD this invocation (known costs)
        self.reserved = 0.0  # USD held by requests in flight
        self._rng = random.Random()  # jitter only: not part of any result
        if config.max_cost is not None and self.price is None and not config.dry_run:
            raise LLMError(f"max_cost needs a price for {config.model!r}: set prices.{config.model}: "
                           "{input: USD, output: USD} per million tokens")

    # -- planning ----------------------------------------------------------------------------
    def key(self, request: LLMRequest) -> str:
        return request_key(self.config.model, request.chat(), self.params, request.variant)

    def plan(self, requests: Iterable[LLMRequest]) -> Plan:
        keys: list[str] = []
        todo: dict[str, LLMRequest] = {}
        for request in requests:
            keys.append(self.key(request))
            if keys[-1] not in self.store:
                todo.setdefault(keys[-1], request)
        input_tokens = sum(estimate_input_tokens(r.chat()) for r in todo.values())
        worst = None
        if self.price is not None:
            worst = self.price.cost(input_tokens, len(todo) * self.config.max_tokens, self._price_factor)
        return Plan(keys, todo, len(set(keys)) - len(todo), input_tokens, worst)

    @property
    def _price_factor(self) -> float:
        return self.config.batch_price_factor if self.config.batch else 1.0

    def worst_cost(self, request: LLMRequest) -> float:
        if self.price is None:
            return 0.0
        tokens = int(estimate_input_tokens(request.chat()) * INPUT_MARGIN)
        return self.price.cost(tokens, self.config.max_tokens, self._price_factor)

    def reserve(self, worst: float) -> bool:
        """Hold ``worst`` USD for a request, or say no when it would pass ``max_cost``."""
        cap = self.config.max_cost
        if cap is not None and self.spent + self.reserved + worst > cap:
            return False
        self.reserved += worst
        return True

    def budget_message(self, left: int) -> str:
        return (f"stopped before exceeding --max-cost ${self.config.max_cost:.4f}: spent ${self.spent:.4f} this run, "
                f"{left:,} requests not sent; raise max_cost to go on")

    # -- running -----------------------------------------------------------------------------
    def run(self, requests: Iterable[LLMRequest], desc: str = "requests") -> Outcome:
        """Answers for ``requests``: from the store, or sent now. Never raises for API failures:
        the outcome lists them, and a budget stop, after storing everything paid for."""
        from pipeline.llm.batch import BatchRunner, running_batches

        outcome = Outcome(results={})
        with self.store.exclusive():
            plan = self.plan(requests)
            if plan.todo and self.config.batch:
                asyncio.run(BatchRunner(self).run(plan.todo, outcome, desc))
            elif plan.todo:
                if running := running_batches(self.folder):
                    raise LLMError(f"{running} batches of an earlier run (batch=true) are still open in "
                                   f"{self.folder}: rerun with batch=true to collect them, not to pay twice")
                asyncio.run(self._send_all(plan.todo, outcome, desc))
        outcome.results = {key: self.store.get(key) for key in plan.keys if key in self.store}
        return outcome

    def client(self) -> openai.AsyncOpenAI:
        import openai

        key = os.environ.get(self.config.key_env)
        if not key:
            raise LLMError(f"no API key: set the environment variable {self.config.key_env} "
                           f"(the recipe's key_env) to the key for {self.config.base_url}")
        return openai.AsyncOpenAI(base_url=self.config.base_url, api_key=key, max_retries=0,
                                  timeout=self.config.timeout_s)

    def progress_bar(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, unit="req", file=sys.stderr, disable=not self.progress,
                    dynamic_ncols=True, mininterval=0.5, postfix="spent $0.0000")

    def show_spend(self, bar: tqdm) -> None:
        bar.set_postfix_str(f"spent ${self.spent:.4f}", refresh=False)

    async def _send_all(self, todo: dict[str, LLMRequest], outcome: Outcome, desc: str) -> None:
        client = self.client()
        queue = iter(list(todo.items()))
        bar = self.progress_bar(len(todo), desc)
        left = len(todo)

        async def worker() -> None:
            nonlocal left
            for key, request in queue:  # one shared iterator: each request goes to one worker
                worst = self.worst_cost(request)
                if outcome.stopped or not self.reserve(worst):
                    outcome.stopped = outcome.stopped or self.budget_message(left)
                    return
                left -= 1
                try:
                    entry = await self.with_retries(partial(self._chat, client, key, request))
                    await self.store.add(entry)
                    outcome.sent += 1
                    self.spent += entry["cost"] or 0.0
                except PermanentError as exc:
                    outcome.failed[key] = str(exc)
                finally:
                    self.reserved -= worst
                self.show_spend(bar)
                bar.update()

        try:
            await asyncio.gather(*(worker() for _ in range(min(self.config.concurrency, len(todo)))))
        finally:
            bar.close()
            await client.close()

    async def _chat(self, client: openai.AsyncOpenAI, key: str, request: LLMRequest) -> dict[str, Any]:
        # The client's raw ``post`` (its documented route for any endpoint) with the JSON body as is:
        # the typed ``chat.completions.create`` transforms the parameters by their type annotations
        # and builds models, a third more client CPU per request (benchmarks/llm_engine.py), and CPU
        # is what bounds throughput at 32 in flight. Auth, headers, timeouts and errors stay the client's.
        answer = await client.post("/chat/completions", cast_to=object, body=self.body(request))
        return self.entry(key, request, answer, via="chat")

    def body(self, request: LLMRequest) -> dict[str, Any]:
        """The chat-completions request body (the same for the chat and the batch path)."""
        return {"model": self.config.model, "messages": request.chat(), **self.params}

    def entry(self, key: str, request: LLMRequest, body: dict[str, Any], via: str) -> dict[str, Any]:
        """The store line for a chat-completion body; a body without a message text is malformed."""
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise MalformedAnswer(f"no message in the answer: {json.dumps(body)[:200]}") from None
        if not isinstance(content, str):
            raise MalformedAnswer(f"the message has no text: {json.dumps(choice)[:200]}")
        usage = body.get("usage") or {}
        input_tokens = usage.get("prompt_tokens") or estimate_input_tokens(request.chat())
        output_tokens = usage.get("completion_tokens") or estimate_tokens(content)
        cost = None if self.price is None else self.price.cost(input_tokens, output_tokens, self._price_factor)
        return {"key": key, "tag": request.tag, "model": self.config.model, "content": content,
                "finish_reason": choice.get("finish_reason"), "input_tokens": input_tokens,
                "output_tokens": output_tokens, "cost": cost, "via": via, "at": round(time.time(), 3)}

    async def with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` until it succeeds; transient failures wait and retry, others raise
        :class:`PermanentError`. Exceptions that are not API failures (bugs) propagate."""
        for attempt in range(self.config.max_retries + 1):
            try:
                return await call()
            except Exception as exc:
                delay = self.retry_delay(exc, attempt)
                if delay is None or attempt == self.config.max_retries:
                    raise PermanentError(self.redact(describe_error(exc))) from exc
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def redact(self, text: str) -> str:
        """``text`` without the API key, nor the masked key an auth error may quote (``sk-...abcd``)."""
        key = os.environ.get(self.config.key_env)
        if key:
            text = text.replace(key, "[key]")
        return SECRET.sub("[key]", text)

    def retry_delay(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying ``exc``, None when retrying cannot help."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            if exc.status_code not in RETRY_STATUSES and exc.status_code < 500:
                return None
            after = retry_after(exc.response.headers)
            if after is not None:
                return after * (1 + 0.1 * self._rng.random())  # never sooner than asked
        elif not isinstance(exc, (openai.APIConnectionError, openai.APIResponseValidationError, ValueError)):
            raise exc  # not an API failure: a bug to see, not to retry
        delay = min(self.config.backoff_max_s, self.config.backoff_s * 2**attempt)
        return delay / 2 + self._rng.uniform(0, delay / 2)


def retry_after(headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), if present."""
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - time.time())
    return None


def describe_error(exc: Exception) -> str:
    """A one-line description of an API failure (status and message, never headers)."""
    status = getattr(exc, "status_code", None)
    text = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}{f' {status}' if status else ''}: {text}"
