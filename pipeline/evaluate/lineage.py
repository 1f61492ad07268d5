"""Where an evaluated model came from: the stage folders behind an ``adelie eval`` output.

Every stage's ``manifest.json`` records its config, whose input fields (``model``, ``data``,
``samples``, ``instruct``, ``evalsets``...) name the folders earlier stages wrote. Following them
from an evaluation gives its lineage (eval → dpo → feedback → sample → sft → mix → instruct), from
which the report draws training curves, the IEFeedback statistics and the commands and manifest
hashes that reproduce each number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import MANIFEST


@dataclass(frozen=True)
class StageFolder:
    stage: str
    path: Path
    manifest: dict

    @property
    def key(self) -> str:
        return str(self.manifest.get("key", self.path.name))

    @property
    def seed(self):
        """The recipe's seed this stage ran with (None where its config has none)."""
        return self.manifest.get("config", {}).get("seed")

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256((self.path / MANIFEST).read_bytes()).hexdigest()


def read_stage(path: Path) -> StageFolder | None:
    """The stage folder at ``path``, or None where there is no readable manifest."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return StageFolder(str(manifest.get("stage", path.parent.name)), path, manifest)


def trace(eval_folder: Path) -> list[StageFolder]:
    """The eval folder and every stage folder upstream of it, each once, nearest first.

    A recorded path is read as written (relative to where the run started) and, failing that,
    relative to the runs folder holding the evaluation (``<runs>/eval/<key>``). A path inside a stage
    folder (``adelie eval --model runs/sft/<key>/model``) leads to that stage folder.
    """
    roots = [Path.cwd().resolve(), eval_folder.resolve().parent.parent.parent]
    start = read_stage(eval_folder)
    found, queue, seen = [], [start] if start else [], {eval_folder.resolve()}
    while queue:
        folder = queue.pop(0)
        found.append(folder)
        for value in folder.manifest.get("config", {}).values():
            if not isinstance(value, str) or not value:
                continue
            for root in roots:
                stage_root = _stage_folder_holding((root / value).resolve(), root)
                if stage_root is None:
                    continue
                if stage_root not in seen:
                    seen.add(stage_root)
                    upstream = read_stage(stage_root)
                    if upstream:
                        queue.append(upstream)
                break
    return found


def _stage_folder_holding(path: Path, root: Path) -> Path | None:
    """``path`` if it has a manifest, else the nearest folder above it, below ``root``, that has one."""
    above = [folder for folder in path.parents if root in folder.parents]
    return next((folder for folder in (path, *above) if (folder / MANIFEST).is_file()), None)


def of_stage(lineage: list[StageFolder], stage: str) -> list[StageFolder]:
    return [f for f in lineage if f.stage == stage]


def run_name(lineage: list[StageFolder]) -> str:
    """An evaluation's key and the seed of the training behind it: ``<key> (seed 1)``."""
    trained = [f for f in lineage if f.stage in ("sft", "dpo")]
    seed = trained[0].seed if trained else None
    return lineage[0].key if seed is None else f"{lineage[0].key} (seed {seed})"


def training_log(folder: StageFolder) -> list[dict]:
    """The logged optimizer steps of a training folder (the last attempt's, where a run resumed)."""
    path = folder.path / "train_log.jsonl"
    if not path.is_file():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    steps = [e for e in entries if "loss" in e and "step" in e]
    by_step = {e["step"]: e for e in steps}  # a resumed run logs its steps again: keep the later entry
    return [by_step[s] for s in sorted(by_step)]


SMOOTH_FROM = 30  # steps from which a curve is drawn as its running mean over the faint raw values


def running_mean(values, window: int) -> list[float]:
    """The mean of each value and the ``window - 1`` before it (fewer at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_training(lineages: dict[str, list[list[StageFolder]]], path: Path) -> bool:
    """Loss per step of every SFT and DPO run behind the report's models, and DPO's reward margin."""
    curves: dict[str, dict[str, list[dict]]] = {"sft": {}, "dpo": {}}
    drawn: set[Path] = set()  # an SFT run behind both the sft and the dpo label is drawn once, for the first
    for label, runs in lineages.items():
        for lineage in runs:
            for stage in curves:
                for folder in of_stage(lineage, stage):
                    log = training_log(folder)
                    if log and folder.path not in drawn:
                        drawn.add(folder.path)
                        curves[stage][f"{label}: {stage} {folder.key[:8]} (seed {folder.seed})"] = log
    panels = [("sft", "loss", "SFT loss"), ("dpo", "loss", "DPO loss"), ("dpo", "rewards/margins", "DPO reward margin")]
    panels = [p for p in panels if any(p[1] in e for log in curves[p[0]].values() for e in log)]
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (stage, metric, title) in zip(axes[0], panels):
        for name, log in curves[stage].items():
            points = [(e["step"], e[metric]) for e in log if metric in e]
            if not points:  # e.g. an older DPO log without reward margins beside one that has them
                continue
            steps, values = zip(*points)
            if len(values) < SMOOTH_FROM:
                ax.plot(steps, values, marker=".", label=name)
                continue
            # Per-step losses of small batches mixing IE and general data swing by 2x: the trend is the running mean.
            (raw,) = ax.plot(steps, values, alpha=0.25)
            window = max(5, len(values) // 15)
            ax.plot(steps, running_mean(values, window), color=raw.get_color(), label=f"{name}, mean of {window} steps")
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def feedback_section(lineages: dict[str, list[list[StageFolder]]]) -> list[str]:
    """Paper Table 8 for each IEFeedback set behind the report's DPO models."""
    from pipeline.feedback.stats import table8

    lines, shown = [], set()
    for runs in lineages.values():
        for lineage in runs:
            for folder in of_stage(lineage, "feedback"):
                stats = folder.path / "stats.json"
                if folder.path in shown or not stats.is_file():
                    continue
                shown.add(folder.path)
                lines += ["", f"### IEFeedback `{folder.key}` (seed {folder.seed})",
                          "", table8(json.loads(stats.read_text()))]
    return ["", "## IEFeedback (paper Table 8)", *lines] if lines else []


def provenance_section(lineages: dict[str, list[list[StageFolder]]]) -> list[str]:
    """The command that produced each evaluated model and the hash of every manifest behind it."""
    lines = ["", "## Provenance", "",
             "Each evaluation and the stage folders it was built from; the manifests hold the full configs.", "",
             "| label | stage | key | manifest sha256 |", "|---|---|---|---|"]
    commands: dict[str, None] = {}
    for label, runs in lineages.items():
        for lineage in runs:
            for folder in lineage:
                lines.append(f"| {label} | {folder.stage} | {folder.key} | {folder.manifest_sha256[:16]} |")
                commands.setdefault(str(folder.manifest.get("command", "")).strip())
    listed = [c for c in commands if c]
    if listed:
        lines += ["", "Commands recorded in these manifests:", ""] + [f"    {c}" for c in listed]
    return lines
