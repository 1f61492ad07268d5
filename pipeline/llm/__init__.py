"""LLM-assisted data (``adelie expand``, ``explain``, ``translate``) on one engine.

- :mod:`pipeline.llm.config`: the recipe keys the three stages share, ``--dry-run``, ``--max-cost``;
- :mod:`pipeline.llm.engine`: concurrent requests with retries, the cost cap and the request keys;
- :mod:`pipeline.llm.store`: the append-only, fsync'd result store a rerun resumes from;
- :mod:`pipeline.llm.batch`: the Batch API mode, which resumes polling after a restart;
- :mod:`pipeline.llm.pricing`: token estimates and costs from the recipe's price table;
- :mod:`pipeline.llm.stage`: what the stages share around the engine (templates, manifest, messages).

The API key is read from the environment variable the recipe names (``key_env``) when the client is
made, and is written nowhere.
"""

from pipeline.llm.config import LLMConfig
from pipeline.llm.engine import Engine, LLMError, LLMRequest, Outcome, request_key

__all__ = ["Engine", "LLMConfig", "LLMError", "LLMRequest", "Outcome", "request_key"]
