"""`adelie dpo`: the reference log-prob cache (a rerun skips the pass), --resume, and a short run of the
CPU recipe on the real 135M model whose reward margins rise and whose result loads and generates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from corpora.registry import get
from pipeline.config import load_config
from pipeline.feedback.dpo import DpoConfig
from pipeline.feedback.prompts import gold_answer
from pipeline.models import resolve_model, tiny_model
from pipeline.stages.dpo import run_dpo
from pipeline.train.run import RunStateError

os.environ["HF_HUB_OFFLINE"] = "1"
RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "dpo-sections.yaml"


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    """Eight real conll2003 sentences: the gold answer preferred over another sentence's answer."""
    from datasets import Dataset

    records = list({gold_answer(r): r for r in get("conll2003").read("dev") if r.gold.entities}.values())[:9]
    rows = [
        {
            "prompt": [{"role": "user", "content": f"List the entities as \"entity; type; \".\nText: {r.text}"}],
            "chosen": [{"role": "assistant", "content": gold_answer(r)}],
            "rejected": [{"role": "assistant", "content": gold_answer(other)}],
        }
        for r, other in zip(records, records[1:])
    ]
    folder = tmp_path_factory.mktemp("feedback")
    Dataset.from_list(rows).save_to_disk(str(folder / "dataset"))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return str(tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


def tiny_config(tmp: Path, name: str, model: str, data: Path, **overrides) -> DpoConfig:
    values = dict(model=model, data=str(data), output=str(tmp / name), ref_cache=str(tmp / "ref-cache"),
                  max_length=128, global_batch=4, batch_size=2, max_steps=2, lr=1e-4, precision="fp32", ref_batch_size=4,
                  gradient_checkpointing=False)
    values.update(overrides)
    return DpoConfig(**values)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_rerun_finds_the_cached_reference_logps(tiny, pairs, tmp_path, monkeypatch):
    from trl import DPOTrainer

    passes = []
    real = DPOTrainer.compute_ref_log_probs

    def counted(self, model, inputs):
        passes.append(1)
        return real(self, model, inputs)

    monkeypatch.setattr(DPOTrainer, "compute_ref_log_probs", counted)
    first = run_dpo(tiny_config(tmp_path, "a", tiny, pairs), progress=False)
    assert manifest(first)["ref_logps"] == "computed" and len(passes) == 2  # 8 pairs, 4 per batch
    cached = list((tmp_path / "ref-cache").glob("*.json"))
    assert len(cached) == 1 and len(json.loads(cached[0].read_text())["ref_chosen_logps"]) == 8
    passes.clear()
    second = run_dpo(tiny_config(tmp_path, "b", tiny, pairs), progress=False)
    assert manifest(second)["ref_logps"] == "cache" and passes == []
    assert manifest(second)["train_loss"] == pytest.approx(manifest(first)["train_loss"], rel=1e-5)
    # Other settings that change the numbers miss the cache.
    run_dpo(tiny_config(tmp_path, "c", tiny, pairs, max_length=96, max_steps=1), progress=False)
    assert len(passes) > 0 and len(list((tmp_path / "ref-cache").glob("*.json"))) == 2


def test_resume_continues_from_the_last_checkpoint(tiny, pairs, tmp_path, monkeypatch):
    import pipeline.feedback.dpo as dpo
    from transformers import TrainerCallback

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt

    real = dpo.build_trainer

    def crashing(*args, **kwargs):
        trainer = real(*args, **kwargs)
        trainer.add_callback(Crash())
        return trainer

    cfg = tiny_config(tmp_path, "r", tiny, pairs, max_steps=4, save_steps=2)
    monkeypatch.setattr(dpo, "build_trainer", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_dpo(cfg, progress=False)
    monkeypatch.setattr(dpo, "build_trainer", real)
    with pytest.raises(RunStateError, match="--resume"):
        run_dpo(cfg, progress=False)
    folder = run_dpo(cfg, resume=True, progress=False)
    m = manifest(folder)
    assert (m["resumed_from_step"], m["steps"], m["ref_logps"]) == (2, 4, "cache")
    assert [e["step"] for e in m["log"]] == [1, 2, 3, 4]  # steps 1-2 from the checkpoint's history


def test_logging_checkpoint_and_cache_knobs_keep_the_run_folder(tiny, pairs, tmp_path):
    from pipeline.stages.dpo import locate

    def key(**overrides):
        cfg = tiny_config(tmp_path, "k", tiny, pairs, output=None, **overrides)
        return locate(cfg)[1]

    assert key(save_steps=3, logging_steps=7, keep_checkpoints=True, ref_cache=str(tmp_path / "elsewhere")) == key()
    assert key(beta=0.2) != key()


def test_lora_run_saves_a_merged_plain_model(tiny, pairs, tmp_path):
    from transformers import AutoModelForCausalLM

    folder = run_dpo(tiny_config(tmp_path, "lora", tiny, pairs, lora=True, lora_r=4, lora_alpha=8, lr=1e-3),
                     progress=False)
    files = {p.name for p in (folder / "model").iterdir()}
    assert "adapter_config.json" not in files and "model.safetensors" in files
    model = AutoModelForCausalLM.from_pretrained(folder / "model")
    base = AutoModelForCausalLM.from_pretrained(tiny)
    moved = [n for (n, p), (_, q) in zip(model.named_parameters(), base.named_parameters()) if not p.equal(q)]
    assert moved and all("embed" not in n for n in moved)


@pytest.mark.slow
def test_cpu_recipe_raises_reward_margins_and_the_model_generates(pairs, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    recipe = yaml.safe_load(RECIPES.read_text())["cpu"]
    # The CPU recipe as it is, on 8 pairs seen 4 times (one batch of 8 per step).
    cfg = load_config(DpoConfig, "dpo", recipe, {"model": "smollm2-135m", "data": str(pairs),
                                                 "output": str(tmp_path / "cpu"), "max_steps": 4,
                                                 "ref_cache": str(tmp_path / "ref")})
    assert (cfg.precision, cfg.global_batch, cfg.lr) == ("fp32", 8, 5e-6)
    folder = run_dpo(cfg, progress=False)
    margins = [e["rewards/margins"] for e in manifest(folder)["log"]]
    assert len(margins) == 4
    assert margins[1] < margins[2] < margins[3] and margins[3] > 0.05, margins
    tokenizer = AutoTokenizer.from_pretrained(folder / "model")
    model = AutoModelForCausalLM.from_pretrained(folder / "model")
    chat = [{"role": "user", "content": "List the entities.\nText: Alice met Bob in Paris."}]
    enc = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False)
    assert tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(resolve_model("smollm2-135m")).chat_template
