"""Benchmark: the LLM engine against a 100 ms fake OpenAI server, 2,000 requests at concurrency 32.

The ideal time is requests / concurrency x latency (6.25 s); the acceptance bar is 1.2x that. The
baselines, run in the same script against the same server, are the bare ``openai.AsyncOpenAI`` client
under an ``asyncio.Semaphore`` (no store, no retries, no progress bar), once through the typed
``chat.completions.create`` and once through the raw ``client.post`` the engine uses: the floor the
engine's own bookkeeping adds to. The server runs in its own process, so the client's CPU time is the
engine's. Every variant runs ``--repeats`` times, interleaved, with fresh prompts; the best wall time
of each is reported (a busy machine only ever makes a run slower).

    .venv/bin/python benchmarks/llm_engine.py [--requests 2000] [--concurrency 32] [--latency 0.1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.llm import Engine, LLMConfig, LLMRequest  # noqa: E402

KEY_ENV = "ADELIE_BENCH_KEY"


def prompts(n: int, tag: str) -> list[str]:
    return [f"{tag}: describe item {i} in one sentence." for i in range(n)]


async def bare_client(url: str, texts: list[str], concurrency: int, typed: bool) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="benchmark", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(text: str) -> None:
        body = {"model": "fake-model", "messages": [{"role": "user", "content": text}], "temperature": 0.7,
                "max_tokens": 64}
        async with gate:
            if typed:
                await client.chat.completions.create(**body)
            else:
                await client.post("/chat/completions", cast_to=object, body=body)

    await asyncio.gather(*(one(t) for t in texts))
    await client.close()


def engine_config(url: str, concurrency: int) -> LLMConfig:
    return LLMConfig(base_url=url, model="fake-model", key_env=KEY_ENV, concurrency=concurrency, max_tokens=64,
                     prices={"fake-model": {"input": 0.15, "output": 0.6}})


def timed(label: str, run: Callable[[], None]) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<36} {wall:6.2f} s wall  {cpu:5.2f} s client CPU  load {os.getloadavg()[0]:4.1f}", flush=True)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ[KEY_ENV] = "benchmark"
    n, c = args.requests, args.concurrency
    ideal = n / c * args.latency
    server = subprocess.Popen([sys.executable, str(REPO / "tests/llm/fake_server.py"), "--latency", str(args.latency),
                               "--lifetime", "3600"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        print(f"{n} requests, concurrency {c}, server latency {args.latency * 1000:.0f} ms: ideal {ideal:.2f} s; "
              f"{os.cpu_count()} CPUs", flush=True)
        best: dict[str, float] = {}
        for repeat in range(args.repeats):
            for typed, label in ((True, "bare client, typed create"), (False, "bare client, client.post")):
                texts = prompts(n, f"{label} {repeat}")
                wall = timed(label, partial(asyncio.run, bare_client(url, texts, c, typed)))
                best[label] = min(best.get(label, wall), wall)
            with tempfile.TemporaryDirectory() as folder:
                requests = [LLMRequest.user(t) for t in prompts(n, f"engine {repeat}")]
                engine = Engine(engine_config(url, c), Path(folder))
                wall = timed("engine (store, retries, cost, bar)", partial(engine.run, requests, "engine"))
                best["engine"] = min(best.get("engine", wall), wall)
                rerun = Engine(engine_config(url, c), Path(folder))
                timed("engine rerun, all from the store", partial(rerun.run, requests))
        engine, post, typed = best["engine"], best["bare client, client.post"], best["bare client, typed create"]
        print(f"best of {args.repeats}: engine {engine:.2f} s, bare client.post {post:.2f} s, "
              f"typed create {typed:.2f} s")
        print(f"engine / ideal            = {engine / ideal:.3f}  (bar: 1.2)")
        print(f"engine / bare client.post = {engine / post:.3f}")
        print(f"bare client.post / ideal  = {post / ideal:.3f}  (typed create / ideal: {typed / ideal:.3f})")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
