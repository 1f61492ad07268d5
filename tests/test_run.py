"""`adelie run`: the whole pipeline on a tiny model, resumable after kill -9, a changed knob reruns
only its stage and the ones after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.models import tiny_model

# Every stage, as small as it gets: a 3 M-parameter model of the real architecture.
RECIPE = {
    "seed": 0,
    "corpora": {"datasets": ["conll2003", "conll04", "crossner_ai", "semeval2010_task8"]},
    "instruct": {"datasets": ["conll2003", "conll04"], "per_dataset_cap": 12, "eval_subset": 3, "max_tokens": 512},
    "mix": {"ie_share": 0.5, "max_total": 24},
    "sft": {"max_steps": 2, "max_length": 256, "batch_size": 2, "global_batch": 2, "save_steps": 1,
            "precision": "fp32", "gradient_checkpointing": False},
    "sample": {"backend": "transformers", "n": 2, "max_new_tokens": 16, "max_prompts": 4, "datasets": ["conll2003"],
               "per_dataset_cap": 20, "dtype": "float32"},
    "feedback": {"fill_short": True},
    "dpo": {"max_steps": 2, "max_length": 256, "batch_size": 2, "global_batch": 2, "precision": "fp32",
            "gradient_checkpointing": False, "save_steps": 1},
    "eval": {"datasets": ["crossner_ai", "semeval2010_task8"], "limit": 2, "max_new_tokens": 16, "general": False,
             "dtype": "float32", "bootstrap": 20},
    "run": {"eval_models": ["base", "sft", "dpo"]},
}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    model = tiny_model(tmp / "tiny")
    data = {**RECIPE, "sft": {**RECIPE["sft"], "model": str(model)}}
    path = tmp / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def adelie_run(recipe: Path, root: Path, *extra: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--config", str(recipe), "--output", str(root), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kwargs,
    )


def finished_folders(root: Path) -> dict[str, float]:
    """Stage folders with their done-marker times: what a rerun must leave untouched."""
    return {str(p.parent.relative_to(root)): p.stat().st_mtime for p in root.rglob(".done")}


def test_kill_then_rerun_skips_finished_stages_and_a_knob_reruns_from_its_stage(recipe, tmp_path):
    root = tmp_path / "runs"
    proc = adelie_run(recipe, root)
    deadline = time.time() + 600
    while time.time() < deadline and not list(root.glob("mix/*/.done")):
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # as SFT starts: instruct and mix are finished, SFT is not
    proc.wait()
    before = finished_folders(root)
    assert any(k.startswith("instruct") for k in before) and any(k.startswith("mix") for k in before)
    assert not any(k.startswith("sft") for k in before)

    proc = adelie_run(recipe, root)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    after = finished_folders(root)
    assert all(after[k] == t for k, t in before.items()), "a finished stage was redone"
    assert (root / "report" / "report.html").exists() and "eval dpo" in out
    report = (root / "report" / "report.md").read_text()
    assert "## IEFeedback (paper Table 8)" in report and "| closed IE" in report.replace("**", "")
    assert all(f"| {pair} |" in report for pair in ("sft − base", "dpo − base", "dpo − sft"))
    for stage in ("eval", "dpo", "feedback", "sample", "sft", "mix", "instruct"):
        assert f"| dpo | {stage} |" in report, stage  # the DPO model's lineage, traced through manifests
    assert "training.png" in report and (root / "report" / "training.png").stat().st_size > 10_000
    assert f"    adelie run --config {recipe} --output {root}" in report  # the command to rerun it
    for stage in ("sft", "sample", "feedback", "dpo"):
        assert any(k.startswith(stage) for k in after), stage

    # A DPO knob: only dpo and the evaluations after it run again.
    proc = adelie_run(recipe, root, "dpo.beta=0.2")
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    again = finished_folders(root)
    assert all(again[k] == t for k, t in after.items()), "a finished stage was redone"
    new = set(again) - set(after)
    assert any(k.startswith("dpo") for k in new) and any(k.startswith("eval") for k in new)
    assert not any(k.split("/")[0] in ("instruct", "mix", "sft", "sample", "feedback") for k in new)

    # An SFT-only run (the demonstrations ablation): a new SFT, evaluated, and no preference stages.
    proc = adelie_run(recipe, root, "sft.lr=3e-5", "run.train_dpo=false", "run.eval_models=[sft]")
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    new = {k.split("/")[0] for k in set(finished_folders(root)) - set(again)}
    assert new == {"sft", "eval"}, new


@pytest.mark.parametrize("models", ["[dpo]", "[base,sfft]"])
def test_eval_models_must_be_trained_and_known(recipe, tmp_path, models):
    proc = adelie_run(recipe, tmp_path / "runs", "run.train_dpo=false", f"run.eval_models={models}")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "run.eval_models" in out, out[-2000:]
    assert not (tmp_path / "runs").exists()
