"""A small OpenAI-compatible HTTP server on loopback, for the LLM engine's tests and benchmark.

It speaks just enough of the API for the real ``openai`` client: ``POST /v1/chat/completions``,
``POST /v1/files``, ``POST /v1/batches``, ``GET /v1/batches[/{id}]`` and ``GET /v1/files/{id}/content``.
Answers are deterministic functions of the prompt (a ``responder``), so two runs can be compared; a
responder that raises ``ValueError`` makes the server refuse that prompt with a 400.

Fault injection (a seeded draw per chat request): ``429`` with ``Retry-After``, ``500``, ``timeout``
(hang past the client's timeout, then drop the connection), ``malformed`` (200 with broken JSON) and
``truncated`` (200 whose body stops short of its Content-Length). Only complete, well-formed answers
count as *served*: ``server.served[prompt_key(messages)]`` is what a paid API would have billed.

Bounded: it listens on 127.0.0.1 only, answers at most ``max_requests`` requests and shuts itself
down after ``lifetime_s``. Run as a script (``python tests/llm/fake_server.py --latency 0.1``) it
prints its base URL and serves until killed (the benchmark does that).
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "timeout", "malformed", "truncated")
Responder = Callable[[list[dict[str, Any]], dict[str, Any]], str]


def prompt_key(messages: list[dict[str, Any]]) -> str:
    """The server's name for a prompt: a hash of the messages."""
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def echo_responder(messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
    """A deterministic answer naming the prompt."""
    return f"answer to {prompt_key(messages)}: {messages[-1]['content'][:40]}"


class FakeOpenAI:
    """The server and its knobs; start with ``with FakeOpenAI(...) as server:``."""

    def __init__(self, responder: Responder = echo_responder, *, latency: float = 0.0, fault_rate: float = 0.0,
                 faults: tuple[str, ...] = FAULTS, retry_after: float = 0.05, hang_s: float = 2.0,
                 batch_polls: int = 1, seed: int = 0, max_requests: int = 100_000, lifetime_s: float = 600.0):
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self.responder = responder
        self.latency, self.fault_rate, self.faults = latency, fault_rate, faults
        self.retry_after, self.hang_s, self.batch_polls = retry_after, hang_s, batch_polls
        self.max_requests, self.lifetime_s = max_requests, lifetime_s
        self.served: Counter[str] = Counter()  # successful generations per prompt key
        self.attempts: Counter[str] = Counter()  # chat requests per prompt key, faults included
        self.injected: Counter[str] = Counter()  # faults injected, by kind
        self.requests = 0
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.headers_seen: list[str] = []  # Authorization headers, to check which key was sent
        self.log: list[tuple[float, str, str]] = []  # (time, prompt key, what happened) per chat request
        self.prompts: dict[str, list[dict[str, Any]]] = {}  # prompt key -> messages
        self._rng = random.Random(seed)
        self._lock = threading.RLock()  # advance_batch marks prompts served while holding it
        self._httpd: ThreadingHTTPServer | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        server = self

        class Handler(_Handler):
            fake = server

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- behaviour ---------------------------------------------------------------------------
    def draw_fault(self) -> str | None:
        with self._lock:
            if self.fault_rate and self._rng.random() < self.fault_rate:
                kind = self._rng.choice(self.faults)
                self.injected[kind] += 1
                return kind
            return None

    def completion(self, body: dict[str, Any], n: int) -> dict[str, Any]:
        messages = body["messages"]
        content = self.responder(messages, body)
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4 + 1
        completion_tokens = len(content) // 4 + 1
        return {
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def mark_served(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self.served[prompt_key(messages)] += 1

    def note(self, key: str, what: str) -> None:
        with self._lock:
            self.log.append((time.monotonic(), key, what))

    def advance_batch(self, batch: dict[str, Any]) -> None:
        """Each retrieval moves a batch one step; after ``batch_polls`` steps it is answered."""
        batch["_polls"] += 1
        if batch["status"] != "in_progress" or batch["_polls"] < self.batch_polls:
            if batch["status"] == "validating":
                batch["status"] = "in_progress"
            return
        lines = self.files[batch["input_file_id"]].decode().splitlines()
        out, errors = [], []
        for i, line in enumerate(lines):
            request = json.loads(line)
            try:
                response = {"status_code": 200, "request_id": f"req_{i}", "body": self.completion(request["body"], i)}
            except ValueError as exc:  # refused, as the chat route answers 400
                response = {"status_code": 400, "request_id": f"req_{i}", "body": {"error": {"message": str(exc)}}}
                errors.append(json.dumps({"id": f"batch_req_{i}", "custom_id": request["custom_id"],
                                          "response": response, "error": None}))
                continue
            self.mark_served(request["body"]["messages"])
            out.append(json.dumps({"id": f"batch_req_{i}", "custom_id": request["custom_id"], "response": response,
                                   "error": None}))
        for kind, rows in (("output", out), ("error", errors)):
            if rows:
                self.files[f"file-{kind}-{batch['id']}"] = ("\n".join(rows) + "\n").encode()
                batch[f"{kind}_file_id"] = f"file-{kind}-{batch['id']}"
        batch.update(status="completed", completed_at=int(time.time()),
                     request_counts={"total": len(lines), "completed": len(out), "failed": len(errors)})


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops connections when 32 clients connect at once
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args) -> None:  # quiet: tests read their own counters
        pass

    # -- plumbing ----------------------------------------------------------------------------
    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _send(self, status: int, payload: Any = None, raw: bytes | None = None,
              headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "fake", "code": str(status)}}, headers=headers)

    def _admit(self) -> bool:
        fake = self.fake
        with fake._lock:
            fake.requests += 1
            fake.headers_seen.append(self.headers.get("Authorization", ""))
            over = fake.requests > fake.max_requests
        if over:
            self._error(503, "fake server request budget exhausted")
        return not over

    # -- routes ------------------------------------------------------------------------------
    def do_POST(self) -> None:
        body = self._body()
        if not self._admit():
            return
        try:
            if self.path == "/v1/chat/completions":
                self._chat(json.loads(body))
            elif self.path == "/v1/files":
                self._upload(body)
            elif self.path == "/v1/batches":
                self._create_batch(json.loads(body))
            else:
                self._error(404, f"no route POST {self.path}")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing was served

    def do_GET(self) -> None:
        if not self._admit():
            return
        fake = self.fake
        if match := re.fullmatch(r"/v1/batches/([\w-]+)", self.path):
            with fake._lock:
                batch = fake.batches.get(match[1])
                if batch is not None:
                    fake.advance_batch(batch)
                    view = {k: v for k, v in batch.items() if not k.startswith("_")}
            if batch is None:
                self._error(404, f"no batch {match[1]}")
            else:
                self._send(200, view)
        elif re.fullmatch(r"/v1/batches(\?.*)?", self.path):
            with fake._lock:
                data = [{k: v for k, v in b.items() if not k.startswith("_")} for b in fake.batches.values()]
            self._send(200, {"object": "list", "data": data[::-1], "has_more": False})
        elif match := re.fullmatch(r"/v1/files/([\w-]+)/content", self.path):
            content = fake.files.get(match[1])
            if content is None:
                self._error(404, f"no file {match[1]}")
            else:
                self._send(200, raw=content)
        else:
            self._error(404, f"no route GET {self.path}")

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.fake
        messages = body["messages"]
        key = prompt_key(messages)
        with fake._lock:
            fake.attempts[key] += 1
            fake.prompts[key] = messages
            n = fake.requests
        if fake.latency:
            time.sleep(fake.latency)
        fault = fake.draw_fault()
        fake.note(key, fault or "ok")
        if fault == "429":
            self._error(429, "rate limited", headers={"Retry-After": f"{fake.retry_after:g}"})
        elif fault == "500":
            self._error(500, "internal error")
        elif fault == "timeout":
            time.sleep(fake.hang_s)
            self.close_connection = True
        elif fault == "malformed":
            self._send(200, raw=b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
        elif fault == "truncated":
            message = {"role": "assistant", "content": "x" * 200}
            data = json.dumps({"id": f"chatcmpl-{n}", "object": "chat.completion",
                               "choices": [{"index": 0, "message": message}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            try:
                answer = fake.completion(body, n)
            except ValueError as exc:  # the responder refuses this prompt for good
                self._error(400, str(exc))
                return
            self._send(200, answer)
            fake.mark_served(messages)

    def _upload(self, body: bytes) -> None:
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "file" not in parts:
            self._error(400, "no file part")
            return
        content = parts["file"].get_payload(decode=True)
        with self.fake._lock:
            file_id = f"file-{len(self.fake.files)}"
            self.fake.files[file_id] = content
        self._send(200, {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                         "filename": parts["file"].get_filename() or "upload.jsonl", "purpose": "batch",
                         "status": "processed"})

    def _create_batch(self, body: dict[str, Any]) -> None:
        fake = self.fake
        with fake._lock:
            if body.get("input_file_id") not in fake.files:
                self._error(400, f"no file {body.get('input_file_id')}")
                return
            batch_id = f"batch_{len(fake.batches)}"
            total = len(fake.files[body["input_file_id"]].splitlines())
            fake.batches[batch_id] = batch = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
                "status": "validating", "output_file_id": None, "error_file_id": None,
                "created_at": int(time.time()), "metadata": body.get("metadata"),
                "request_counts": {"total": total, "completed": 0, "failed": 0}, "_polls": 0,
            }
            view = {k: v for k, v in batch.items() if not k.startswith("_")}
        self._send(200, view)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake OpenAI API on loopback until killed.")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per chat completion")
    parser.add_argument("--lifetime", type=float, default=600.0, help="shut down after this many seconds")
    args = parser.parse_args()
    server = FakeOpenAI(latency=args.latency, lifetime_s=args.lifetime).start()
    print(server.url, flush=True)
    time.sleep(args.lifetime)
    server.stop()


if __name__ == "__main__":
    main()
