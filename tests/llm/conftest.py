"""Fixtures of the LLM tests: a fake OpenAI server per test, and the test key in the environment."""

from __future__ import annotations

import pytest
from fake_server import FakeOpenAI
from llm_support import KEY


@pytest.fixture
def fake():
    """``fake(**knobs)`` starts a server on loopback; every one started is stopped after the test."""
    servers: list[FakeOpenAI] = []

    def start(**knobs) -> FakeOpenAI:
        server = FakeOpenAI(lifetime_s=120, **knobs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
