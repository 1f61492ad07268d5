"""The transformers backend: one model load, batched ``generate`` with ``num_return_sequences``.

Prompts are rendered with the model's chat template, sorted by length (less padding), left-padded and
sampled up to ``batch_size`` at a time, each expanded to ``n`` sequences by ``generate`` itself. A batch
also stays within ``batch_tokens`` padded prompt tokens (rows x longest prompt), which bounds the peak
memory and the padding of long few-shot prompts: every row is padded to the batch's longest, so eight
BenchIE prompts of 2,000-8,400 tokens took 591 s and 3.5 GiB in one batch but 224 s and 1.2 GiB capped,
while prompts of similar lengths take the same time either way (benchmarks/eval_batching.py). On CPU,
bf16 weights sample about 1.6x faster than fp32 (docs/cpu-stack-facts.md §4), hence the default dtype.

``generate`` has one random generator for the whole batch, so per-prompt seeds cannot be honoured
separately: each batch seeds torch from its prompts' seeds, which makes a rerun with the same prompts
and batch size reproduce the same samples.
"""

from __future__ import annotations

import hashlib

from pipeline.models import resolve_model
from pipeline.sampling import Messages, SamplingParams

DTYPES = ("bfloat16", "float16", "float32", "auto")


def torch_dtype(name: str):
    import torch

    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {name!r}")
    return "auto" if name == "auto" else getattr(torch, name)


def batch_seed(seeds: list[int]) -> int:
    digest = hashlib.blake2b(",".join(map(str, seeds)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 2**63


class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str, dtype: str = "bfloat16", batch_size: int = 8, batch_tokens: int = 8192):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolve_model(model)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype)).to(self.device).eval()
        self.batch_size = max(1, batch_size)
        self.batch_tokens = batch_tokens
        self.tokens = 0

    def _batched(self, prompts: list[Messages]) -> tuple[list[str], list[list[int]]]:
        """The prompts rendered with the chat template, and their batches (indices, shortest first)."""
        if not prompts:
            return [], []  # the tokenizer rejects an empty batch (a resumed run with nothing left)
        texts = [self.tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
        lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(prompts)), key=lambda i: lengths[i])
        return texts, token_batches(order, lengths, self.batch_size, self.batch_tokens)

    def plan(self, prompts: list[Messages]) -> list[list[int]]:
        """The ``generate`` batches these prompts fall into, so a caller can save and report progress
        batch by batch."""
        return self._batched(prompts)[1]

    def generate(self, prompts: list[Messages], seeds: list[int], params: SamplingParams) -> list[list[str]]:
        import torch

        texts, batches = self._batched(prompts)
        out: list[list[str]] = [[] for _ in prompts]
        for batch in batches:
            torch.manual_seed(batch_seed([seeds[i] for i in batch]))
            enc = self.tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                generated = self.model.generate(
                    **enc, **decoding(params), num_return_sequences=params.n, max_new_tokens=params.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new = generated[:, enc["input_ids"].shape[1] :]
            self.tokens += self._count(new)
            decoded = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            for j, i in enumerate(batch):
                out[i] = decoded[j * params.n : (j + 1) * params.n]
        return out

    def _count(self, new) -> int:
        """Generated tokens up to and including each sequence's first end-of-sequence token."""
        stops = set(self._stop_ids())
        total = 0
        for row in new.tolist():
            end = next((k for k, t in enumerate(row) if t in stops), None)
            total += len(row) if end is None else end + 1
        return total

    def _stop_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        ids = eos if isinstance(eos, list) else [eos]
        return [i for i in (*ids, self.tokenizer.eos_token_id, self.tokenizer.pad_token_id) if i is not None]


def token_batches(order: list[int], lengths: list[int], size: int, tokens: int) -> list[list[int]]:
    """Consecutive runs of ``order`` (ascending lengths) of at most ``size`` prompts and ``tokens`` padded
    tokens (rows x the longest, i.e. the last); a prompt longer than ``tokens`` goes alone."""
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < size and (len(batches[-1]) + 1) * lengths[i] <= tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def decoding(params: SamplingParams) -> dict:
    """``generate`` arguments: sampling, or beam search when ``params.num_beams`` > 1."""
    if params.num_beams > 1:
        if params.n > params.num_beams:
            raise ValueError(f"beam search returns at most num_beams={params.num_beams} sequences, not n={params.n}")
        return {"do_sample": False, "num_beams": params.num_beams, "early_stopping": True}
    return {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
