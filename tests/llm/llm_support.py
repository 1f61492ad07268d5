"""Helpers of the LLM tests: recipe overrides pointing at the fake server, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fake_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-adelie-test-9F3B2C-canary"  # distinctive, so a leak is found by grep
PRICES = "prices={fake-model: {input: 1.0, output: 2.0}}"


def overrides(server: FakeOpenAI, **extra) -> list[str]:
    """Recipe overrides for a fast, fault-tolerant run against ``server``."""
    values = {"base_url": server.url, "model": "fake-model", "timeout_s": 1.0, "backoff_s": 0.01,
              "backoff_max_s": 0.1, "max_retries": 12, "batch_poll_s": 0.05, **extra}
    return [f"{k}={v}" for k, v in values.items()] + [PRICES]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``adelie ARGS`` in a subprocess with the test key in its environment."""
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=REPO, text=True,
                            env={**os.environ, "OPENAI_API_KEY": KEY, "HF_HUB_OFFLINE": "1", **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def served_key(content: str) -> str:
    """The server's prompt key inside an echo answer (``answer to KEY: ...``)."""
    return content.split(":", 1)[0].rsplit(" ", 1)[-1]
