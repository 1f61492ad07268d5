"""Loading the model and tokenizer to train, and naming them in manifests.

Names go through :func:`pipeline.models.resolve_model` (the embedded alias becomes its converted
folder). Downloaded model code never runs unless ``trust_remote_code`` is set. The model is loaded by
adelie rather than by TRL so that the DeepSpeed ZeRO-3 path works: ``from_pretrained`` must run after
the training arguments exist (they register the ZeRO-3 config that partitions weights while loading).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.artifacts import hash_file, hash_json
from pipeline.models import resolve_model

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def load_tokenizer(name: str, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(name), trust_remote_code=trust_remote_code)


def load_model(name: str, dtype: str = "float32", attn_implementation: str = "sdpa",
               trust_remote_code: bool = False, random_init: bool = False):
    """The causal LM ``name``; ``random_init`` builds the same architecture with fresh weights (for
    throughput runs on machines that cannot hold or fetch the real weights)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    source = resolve_model(name)
    kwargs = dict(dtype=getattr(torch, dtype), attn_implementation=attn_implementation,
                  trust_remote_code=trust_remote_code)
    if random_init:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
        return AutoModelForCausalLM.from_config(config, **kwargs)
    return AutoModelForCausalLM.from_pretrained(source, **kwargs)


def model_fingerprint(name: str) -> str:
    """A cheap identity of a model for stage keys: its config and the names and sizes of its weight
    files (hashing many GB of weights would cost minutes); a hub name stands for itself."""
    source = Path(resolve_model(name))
    if not source.is_dir():
        return f"hub:{name}"
    files = {p.name: p.stat().st_size for p in sorted(source.iterdir()) if p.suffix in WEIGHT_SUFFIXES}
    config = source / "config.json"
    return hash_json({"config": hash_file(config) if config.exists() else None, "weights": files})
