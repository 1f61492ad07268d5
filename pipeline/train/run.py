"""A training run's folder: checkpoints, resuming, the final model, manifest and done-marker.

Layout: ``run.json`` (the stage key the folder belongs to), ``checkpoints/checkpoint-<step>/``
(transformers' own), ``train_log.jsonl``, ``model/`` (the final model and tokenizer, loadable with
plain transformers), ``manifest.json`` and ``.done``.

transformers writes a checkpoint in place, its ``trainer_state.json`` last, and resumes from the
highest-numbered folder, so a run killed while saving would try to resume from a half-written
checkpoint. Here only checkpoints with their trainer state count, and partial ones are removed.
The final model is saved to a staging folder and renamed into place, so ``model/`` is never partial.
Every process calls :meth:`RunFolder.save_model` (ZeRO-3 and FSDP gather weights collectively); only
the main process writes files of its own.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import atomic_write_json, is_done, mark_done, write_manifest
from pipeline.train.config import is_main_process

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
TRAINER_STATE = "trainer_state.json"
CLAIM = "run.json"


def training_summary(key: str, seed: int, checkpoint: Path | None, trainer, result, world: int) -> dict:
    """What every training stage's manifest records about its run (``result``: ``trainer.train()``'s)."""
    speeds = [e["tokens_per_s"] for e in trainer.state.log_history if "tokens_per_s" in e][1:]  # first: warm-up
    return {
        "key": key,
        "seed": seed,
        "resumed_from_step": checkpoint_step(checkpoint) if checkpoint else None,
        "steps": result.global_step,
        "train_loss": result.training_loss,
        "runtime_s": result.metrics.get("train_runtime"),
        "tokens_per_s": statistics.median(speeds) if speeds else None,
        "processes": world,
        "gradient_accumulation": trainer.args.gradient_accumulation_steps,
    }


class RunStateError(RuntimeError):
    """The output folder holds an unfinished run that the command did not ask to resume."""


def checkpoint_step(path: Path) -> int:
    match = _CHECKPOINT.match(path.name)
    if not match:
        raise ValueError(f"{path} is not a checkpoint folder")
    return int(match.group(1))


@dataclass(frozen=True)
class RunFolder:
    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def log(self) -> Path:
        return self.root / "train_log.jsonl"

    def done(self) -> bool:
        return is_done(self.root)

    def claim(self, key: str, main_process: bool = True) -> None:
        """Mark the folder as this config's (``run.json``); refuse a folder holding another config's run,
        whose checkpoints must not be resumed or overwritten by this one."""
        path = self.root / CLAIM
        if path.exists():
            held = json.loads(path.read_text()).get("key")
            if held != key:
                raise RunStateError(
                    f"{self.root} holds a run of another config or input (key {held}, this one is {key}): "
                    "choose another --output, or remove the folder"
                )
        elif main_process:
            atomic_write_json(path, {"key": key})

    def up_to_date(self, stage: str, key: str) -> bool:
        """Claim the folder for ``key`` (see :meth:`claim`); True, said on stderr, when its run finished."""
        self.claim(key, is_main_process())
        if self.done():
            print(f"{stage}: up to date in {self.root}", file=sys.stderr)
            return True
        return False

    def complete_checkpoints(self) -> list[Path]:
        """Checkpoints with their trainer state written, oldest first."""
        found = [p for p in self.checkpoints.glob("checkpoint-*") if _CHECKPOINT.match(p.name) and p.is_dir()]
        return sorted((p for p in found if (p / TRAINER_STATE).exists()), key=checkpoint_step)

    def resume_point(self, resume: bool, main_process: bool = True) -> Path | None:
        """The checkpoint to continue from; refuses to silently restart over an unfinished run."""
        partial = [p for p in self.checkpoints.glob("checkpoint-*") if p.is_dir() and not (p / TRAINER_STATE).exists()]
        if main_process:
            for path in partial:
                print(f"removing {path}: written only in part (the run stopped while saving it)", file=sys.stderr)
                shutil.rmtree(path, ignore_errors=True)
        found = self.complete_checkpoints()
        if not resume:
            if found:
                raise RunStateError(
                    f"{self.root} holds checkpoints up to step {checkpoint_step(found[-1])} of an unfinished run: "
                    "pass --resume to continue from there, or remove the folder to start over"
                )
            return None
        if not found:
            print(f"--resume: no checkpoint in {self.checkpoints} yet, starting at step 0", file=sys.stderr)
            return None
        return found[-1]

    def save_model(self, trainer, tokenizer, chat_template: str | None) -> None:
        """Save the final model and ``tokenizer`` (with ``chat_template``) to ``model/``, atomically."""
        staging = self.root / ".model-staging"
        trainer.save_model(str(staging))
        if trainer.is_world_process_zero():
            tokenizer.chat_template = chat_template
            tokenizer.save_pretrained(str(staging))
            if self.model.exists():
                shutil.rmtree(self.model)
            staging.rename(self.model)
        trainer.accelerator.wait_for_everyone()

    def finish(self, stage: str, config: dict, inputs: dict[str, str], extra: dict, keep_checkpoints: bool) -> None:
        """Manifest, then (unless kept) drop the checkpoints, then the done-marker; main process only."""
        write_manifest(self.root, stage, config, inputs, extra)
        if not keep_checkpoints:
            shutil.rmtree(self.checkpoints, ignore_errors=True)
        mark_done(self.root)
