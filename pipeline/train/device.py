"""Where training runs and in which precision, decided once for SFT and DPO alike.

TRL's configs default to ``bf16=True`` and refuse to start on a machine without an accelerator unless
``use_cpu`` is set; on CPU, bf16 autocast is about 1.6x faster than fp32 where the processor computes
bf16 natively (AVX512-BF16 or AMX) and much slower where it emulates it. ``auto`` picks accordingly.
"""

from __future__ import annotations

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


def accelerator_available() -> bool:
    import torch

    return torch.cuda.is_available() or (hasattr(torch, "accelerator") and torch.accelerator.is_available())


def cpu_has_native_bf16() -> bool:
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve_precision(precision: str) -> str:
    """``auto`` → ``bf16``, ``fp16`` or ``fp32`` for this machine; explicit choices are checked."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    on_accelerator = accelerator_available()
    if precision == "auto":
        if on_accelerator:
            return "bf16" if not torch.cuda.is_available() or torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if precision == "fp16" and not on_accelerator:
        raise ValueError("precision fp16 needs a GPU; use bf16 or fp32 on CPU")
    return precision


def precision_arguments(precision: str) -> dict[str, bool]:
    """The ``TrainingArguments`` fields that select device and mixed precision."""
    resolved = resolve_precision(precision)
    return {"use_cpu": not accelerator_available(), "bf16": resolved == "bf16", "fp16": resolved == "fp16"}
