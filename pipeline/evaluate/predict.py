"""Model answers for the held-out evaluation prompts, saved as re-scorable JSON lines.

Each prediction file ``<dataset>.<setting>.jsonl`` holds one line per instance: the prompt's id,
dataset, task, setting, format id, the model's answer and the gold record itself, so ``adelie score``
recomputes every metric without a model or the raw data. Lines are appended (and flushed) batch by
batch; a rerun skips the ids already answered, so an interrupted evaluation resumes where it stopped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

SETTINGS = ("zero_shot", "few_shot")


def eval_prompts(evalsets: Path, dataset: str, setting: str, limit: int = 0) -> list[dict]:
    """The frozen prompts of one dataset and setting (the first ``limit`` when given)."""
    path = evalsets / dataset / f"{setting}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: build the evaluation prompts with `adelie instruct`")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def answered(path: Path) -> set[str]:
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done.add(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut by a crash: that prompt is simply answered again
    return done


def predict(backend, prompts: list[dict], path: Path, params, batch_size: int = 16, progress: bool = True) -> None:
    """Answer ``prompts`` into ``path``, skipping the ones already there, one generate batch at a time
    (the backend's own batches where it plans them, else ``batch_size`` prompts)."""
    done = answered(path)
    todo = [p for p in prompts if p["id"] not in done]
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(backend, "plan"):
        batches = [[todo[i] for i in batch] for batch in backend.plan([p["messages"] for p in todo])]
    else:
        batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
    bar = tqdm(total=len(todo), desc=path.stem, unit="prompt", disable=not progress or not todo, file=sys.stderr)
    with open(path, "a", encoding="utf-8") as out:
        for batch in batches:
            answers = backend.generate([p["messages"] for p in batch], [0] * len(batch), params)
            for prompt, outputs in zip(batch, answers):
                row = {k: prompt[k] for k in ("id", "dataset", "task", "setting", "format", "record")}
                row["prediction"] = outputs[0]
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            out.flush()
            bar.update(len(batch))
    bar.close()


def read_predictions(paths: list[Path]) -> Iterator[dict]:
    """Prediction lines from files or folders of ``*.jsonl`` (a folder is searched recursively)."""
    for path in paths:
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{file}:{number}: not a prediction line ({exc.msg})") from None
                if "prediction" in row and "record" in row:
                    yield row

