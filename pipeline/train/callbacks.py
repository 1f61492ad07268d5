"""Training telemetry TRL does not give: real tokens per second, and a log file that survives resumes.

:class:`TokenThroughput` is a trainer mixin (``class T(TokenThroughput, SFTTrainer)``, or DPOTrainer):
it counts the non-padding tokens of every micro-batch and adds ``tokens_per_s`` (all processes
together, since the previous log line) to each training log.
Counting inside ``training_step`` sees padded, padding-free and packed batches alike.
:class:`JsonlLog` appends every log line, tagged with the attempt, to ``train_log.jsonl``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


def real_tokens(inputs: dict[str, Any]) -> int:
    """Non-padding tokens of a batch: the attention masks' sum, or every id of a padding-free batch."""
    masks = [v for k, v in inputs.items() if k.endswith("attention_mask") and hasattr(v, "sum")]
    if masks:
        return int(sum(int(m.sum()) for m in masks))
    return int(sum(v.numel() for k, v in inputs.items() if k.endswith("input_ids") and hasattr(v, "numel")))


class TokenThroughput:
    """Mixin for a transformers ``Trainer`` subclass; see the module docstring."""

    _window_tokens = 0
    _window_start: float | None = None

    def training_step(self, model, inputs, *args, **kwargs):
        if self._window_start is None:
            self._window_start = time.perf_counter()
        self._window_tokens += real_tokens(inputs)
        return super().training_step(model, inputs, *args, **kwargs)

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self._window_start is not None:
            import torch

            tokens = torch.tensor(self._window_tokens, device=self.accelerator.device)
            tokens = int(self.accelerator.reduce(tokens, reduction="sum")) if self.accelerator.num_processes > 1 else int(tokens)
            elapsed = time.perf_counter() - self._window_start
            logs["tokens_per_s"] = round(tokens / elapsed, 2) if elapsed > 0 else 0.0
            self._window_tokens, self._window_start = 0, None
        super().log(logs, *args, **kwargs)


class JsonlLog(TrainerCallback):
    """Appends each log line (step, epoch, attempt, metrics) to a JSONL file on the main process."""

    def __init__(self, path: Path):
        self.path = path
        self.attempt = datetime.now(timezone.utc).isoformat(timespec="milliseconds")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, "attempt": self.attempt, **logs}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
