"""Any OpenAI-compatible chat endpoint: one request per prompt asking for ``n`` completions with the
prompt's own seed. A ``vllm serve`` server is reached this way (:mod:`pipeline.sampling.server`), and
so is a hosted API. Requests run ``concurrency`` at a time; the client retries dropped connections,
429 and 5xx answers itself. The API key is read from the environment variable ``key_env`` and goes
nowhere else.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from pipeline.sampling import Messages, SamplingParams

LOCAL_KEY = "EMPTY"  # a local vLLM server accepts any key


class OpenAIBackend:
    def __init__(self, base_url: str, model: str, key_env: str | None = "OPENAI_API_KEY", concurrency: int = 8,
                 timeout_s: float = 600.0, max_retries: int = 5, backend_name: str = "openai"):
        from openai import OpenAI

        if not model:
            raise ValueError("the OpenAI-compatible backend needs a model name (api_model)")
        key = LOCAL_KEY
        if key_env:
            key = os.environ.get(key_env, "")
            if not key:
                raise ValueError(f"the environment variable {key_env} (key_env) holds no API key")
        self.client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=max_retries)
        self.model = model
        self.concurrency = max(1, concurrency)
        self.name = backend_name
        self.tokens = 0
        self._lock = threading.Lock()

    def _one(self, prompt: Messages, seed: int, params: SamplingParams) -> list[str]:
        response = self.client.chat.completions.create(
            model=self.model, messages=prompt, n=params.n, temperature=params.temperature, top_p=params.top_p,
            max_tokens=params.max_new_tokens, seed=seed,
        )
        choices = sorted(response.choices, key=lambda c: c.index)
        if len(choices) != params.n:
            raise RuntimeError(f"{self.name}: asked for {params.n} completions, got {len(choices)}")
        if response.usage is not None:
            with self._lock:
                self.tokens += response.usage.completion_tokens or 0
        return [c.message.content or "" for c in choices]

    def generate(self, prompts: list[Messages], seeds: list[int], params: SamplingParams) -> list[list[str]]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda ps: self._one(ps[0], ps[1], params), zip(prompts, seeds)))
