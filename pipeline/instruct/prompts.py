"""The prompt data IEInstruct draws from: task descriptions, instruction pieces and explanations.

- ``prompts/descriptions/<task>.yaml``: hand-written descriptions (``hand_written:``). A folder given as
  ``descriptions`` may add LLM-expanded ones (``adelie expand``): ``<task>.yaml`` files with a
  ``generated:`` list (or ``hand_written:`` too).
- ``prompts/instruction.yaml``: input blocks, schema phrasings, symbol and guideline headers.
- An explanation store (``adelie explain``): JSON lines with ``record_id`` and ``explanation``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipeline.records import Task
from pipeline.tasks.base import PROMPTS_DIR


@dataclass(frozen=True)
class PromptData:
    descriptions: dict[Task, tuple[str, ...]]
    input: dict[Task, str]
    schema: dict[Task, tuple[str, ...]]
    symbols: tuple[str, ...]
    guidelines: tuple[str, ...]
    demonstrations: tuple[str, ...]
    explanations: dict[str, str]


def load_prompts(expanded: str | None = None, explanations: str | None = None) -> PromptData:
    pieces = _instruction_pieces()
    return PromptData(
        descriptions={task: hand_written(task) + _expanded(expanded, task) for task in Task if _has_descriptions(task)},
        input={Task(k): v for k, v in pieces["input"].items()},
        schema={Task(k): tuple(v) for k, v in pieces["schema"].items()},
        symbols=tuple(pieces["symbols"]),
        guidelines=tuple(pieces["guidelines"]),
        demonstrations=tuple(pieces["demonstrations"]),
        explanations=load_explanations(explanations),
    )


@cache
def _instruction_pieces() -> dict:
    return yaml.safe_load((PROMPTS_DIR / "instruction.yaml").read_text())


def _has_descriptions(task: Task) -> bool:
    return (PROMPTS_DIR / "descriptions" / f"{task.value}.yaml").exists()


@cache
def hand_written(task: Task) -> tuple[str, ...]:
    data = yaml.safe_load((PROMPTS_DIR / "descriptions" / f"{task.value}.yaml").read_text())
    return tuple(data["hand_written"])


def _expanded(folder: str | None, task: Task) -> tuple[str, ...]:
    if not folder:
        return ()
    path = Path(folder) / f"{task.value}.yaml"
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text()) or {}
    known = set(hand_written(task))
    return tuple(d for d in data.get("generated", []) if d not in known)


def load_explanations(path: str | None) -> dict[str, str]:
    """``record_id`` → explanation; a later line for the same record wins."""
    if not path:
        return {}
    found: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                found[row["record_id"]] = row["explanation"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not an explanation line ({exc})") from None
    return found
