"""`adelie sft` and the shared training helpers, on real data with the real SmolLM2 tokenizer: labels
mask every non-assistant token (padded and packed), packed rows do not attend across conversations,
kill + --resume continues from the last checkpoint, the trained folder loads with plain transformers,
and the accelerate launch command is built right."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.instruct.config import InstructConfig
from pipeline.models import resolve_model, tiny_model
from pipeline.stages.instruct import run_instruct
from pipeline.stages.mix import MixConfig, run_mix
from pipeline.train.run import RunFolder, RunStateError

os.environ["HF_HUB_OFFLINE"] = "1"
END = "<|im_end|>"
RECIPE = str(Path(__file__).resolve().parents[1] / "recipes" / "paper-7b.yaml")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """200 real conversations: 40 IEInstruct instances (NER, RE) and 160 general ones."""
    tmp = tmp_path_factory.mktemp("data")
    ie = run_instruct(InstructConfig(per_dataset_cap=20, datasets=["conll2003", "conll04"], eval_subset=5,
                                     output=str(tmp / "instruct")), progress=False)
    return run_mix(MixConfig(instruct=str(ie), output=str(tmp / "mix")))


@pytest.fixture(scope="module")
def replies(mixed) -> set[str]:
    from datasets import load_from_disk

    data = load_from_disk(str(mixed / "dataset"))
    return {m["content"] for row in data["messages"] for m in row if m["role"] == "assistant"}


def sft_config(**values):
    from pipeline.train.sft import SftConfig

    defaults = dict(max_length=256, batch_size=4, global_batch=4, max_steps=2, save_steps=1000)
    return SftConfig(**{**defaults, **values})


def trainer_for(cfg, out: Path):
    from pipeline.train.sft import build_trainer, load_conversations

    return build_trainer(cfg, load_conversations(cfg.data), out, progress=False)


# -- chat template -----------------------------------------------------------------------------------
def test_training_template_renders_exactly_like_smollm2s_own(mixed):
    from datasets import load_from_disk

    from pipeline.train.chat_template import choose_training_template, has_generation_markers
    from pipeline.train.loading import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m")
    choice = choose_training_template(tokenizer)
    assert Path(choice.source).name == "smollm2.jinja" and has_generation_markers(choice.template)
    assert choice.for_saving() == tokenizer.chat_template
    for messages in load_from_disk(str(mixed / "dataset"))["messages"][:60]:
        for chat, prompt in ((messages, False), (messages[:-1], True)):
            assert tokenizer.apply_chat_template(chat, chat_template=choice.template, tokenize=False,
                                                 add_generation_prompt=prompt) == \
                tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=prompt)


def test_template_fallbacks_and_refusals(tmp_path):
    from pipeline.train.chat_template import choose_training_template, has_generation_markers
    from pipeline.train.loading import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m")
    tokenizer.chat_template = None  # a base model: the TULU 2 format, saved without markers
    choice = choose_training_template(tokenizer)
    assert Path(choice.source).name == "tulu.jinja" and not has_generation_markers(choice.for_saving())
    tokenizer.chat_template = "{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ValueError, match="generation"):
        choose_training_template(tokenizer)  # nobody knows this format: the user must mark it
    plain = tmp_path / "plain.jinja"
    plain.write_text(tokenizer.chat_template)
    with pytest.raises(ValueError, match="no {% generation %} markers"):
        choose_training_template(tokenizer, str(plain))


# -- labels (acceptance: every non-assistant token is masked) ------------------------------------------
def segments(batch):
    """(input ids, labels) of each conversation in a batch: rows of a padded batch, or the pieces of a
    padding-free row, cut where position ids restart."""
    if "attention_mask" in batch:
        for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
            n = int(mask.sum())
            yield ids[:n].tolist(), labels[:n].tolist()
        return
    ids, labels, positions = (batch[k][0].tolist() for k in ("input_ids", "labels", "position_ids"))
    starts = [i for i, p in enumerate(positions) if p == 0] + [len(ids)]
    for a, b in itertools.pairwise(starts):
        yield ids[a:b], labels[a:b]


def labelled_spans(labels: list[int]) -> list[tuple[int, int]]:
    spans, start = [], None
    for i, label in enumerate([*labels, -100]):
        if label != -100 and start is None:
            start = i
        elif label == -100 and start is not None:
            spans.append((start, i))
            start = None
    return spans


@pytest.mark.parametrize("batching", ["padded", "packed"])
def test_labels_are_assistant_replies_and_nothing_else(tiny, mixed, replies, tmp_path, batching):
    trainer, _ = trainer_for(sft_config(model=str(tiny), data=str(mixed), batching=batching), tmp_path)
    tokenizer = trainer.processing_class
    header = tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    complete = truncated = conversations = 0
    for batch in itertools.islice(trainer.get_train_dataloader(), 8):
        for ids, labels in segments(batch):
            conversations += 1
            assert labels[0] == -100  # no target reaches across from a previous packed conversation
            spans = labelled_spans(labels)
            reply_starts = [i + len(header) for i in range(len(ids)) if ids[i : i + len(header)] == header]
            assert [a for a, _ in spans] == [s for s in reply_starts if s < len(ids)]  # every reply is trained
            for a, b in spans:
                assert labels[a:b] == ids[a:b]
                text = tokenizer.decode(ids[a:b])
                if text.endswith(END):
                    assert text[: -len(END)] in replies
                    complete += 1
                else:  # cut by max_length: the span runs to the end and is the start of a reply
                    assert b == len(ids) and any(r.startswith(text.rstrip("\ufffd")) for r in replies)
                    truncated += 1
    assert conversations >= 32 and complete >= 20 and truncated >= 1
    if batching == "packed":
        assert conversations > 32  # packing put several conversations in some rows


def test_packed_rows_do_not_attend_across_conversations(tiny, mixed, tmp_path):
    """Padding-free batches run on CPU with plain sdpa: the restarting position ids must keep each
    conversation's attention to itself (logits equal those of the conversation alone)."""
    import torch

    trainer, _ = trainer_for(sft_config(model=str(tiny), data=str(mixed), batching="packed", precision="fp32"), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model.eval()
    cuts = batch["cu_seq_lens_q"].tolist()
    assert len(cuts) > 2
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        for a, b in itertools.pairwise(cuts):
            alone = model(input_ids=batch["input_ids"][:, a:b]).logits[0]
            torch.testing.assert_close(packed[a:b], alone, atol=1e-4, rtol=1e-4)
        leaky = model(input_ids=batch["input_ids"]).logits[0]  # without position ids: attends across
        a, b = cuts[1], cuts[2]
        assert (leaky[a:b] - model(input_ids=batch["input_ids"][:, a:b]).logits[0]).abs().max() > 1e-2


# -- kill and resume (acceptance) -----------------------------------------------------------------------
def adelie(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def test_kill_then_resume_continues_from_the_last_checkpoint(tiny, mixed, tmp_path):
    out = tmp_path / "run"
    args = ["sft", "--output", str(out), f"model={tiny}", f"data={mixed}", "max_steps=8", "save_steps=2",
            "max_length=128", "batch_size=2", "global_batch=2", "save_total_limit=3", "precision=fp32"]
    run = RunFolder(out)
    first = subprocess.Popen(adelie(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not run.complete_checkpoints() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert run.complete_checkpoints() and not run.done(), "the first run should be killed mid-training"

    refused = subprocess.run(adelie(*args), capture_output=True, text=True)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr

    (run.checkpoints / "checkpoint-9").mkdir()  # as a kill while saving leaves it: no trainer state

    last = max(int(p.name.split("-")[1]) for p in run.complete_checkpoints())
    resumed = subprocess.run(adelie(*args, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "checkpoint-9: written only in part" in resumed.stderr
    log = [json.loads(line) for line in run.log.read_text().splitlines()]
    attempts = list(dict.fromkeys(e["attempt"] for e in log))
    second = [e["step"] for e in log if e["attempt"] == attempts[-1] and "loss" in e]
    assert second == list(range(last + 1, 9))  # continues at the checkpoint's next step, to the end
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed_from_step"] == last and manifest["steps"] == 8 and run.done()
    assert not run.checkpoints.exists()  # dropped once the final model is saved


def test_logging_and_checkpoint_knobs_keep_the_run_folder():
    from pipeline.train.config import key_config

    assert key_config(sft_config(save_steps=5, logging_steps=3, keep_checkpoints=True, output="x")) == \
        key_config(sft_config())
    assert key_config(sft_config(lr=1e-4)) != key_config(sft_config())


def test_a_folder_of_another_config_is_refused(tmp_path):
    run = RunFolder(tmp_path)
    run.claim("aaaa")
    run.claim("aaaa")
    with pytest.raises(RunStateError, match="another config"):
        run.claim("bbbb")


# -- the real model, end to end (acceptance: the folder loads with plain transformers and generates) ----
def test_real_model_trains_saves_and_generates(mixed, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.stages.sft import run_sft

    root = run_sft(sft_config(model="smollm2-135m", data=str(mixed), max_steps=2, max_length=128, batch_size=2,
                              global_batch=2, gradient_checkpointing=False, output=str(tmp_path / "sft")),
                   progress=False)
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["tokens_per_s"] > 0 and manifest["chat_template"].endswith("smollm2.jinja")
    log = [json.loads(line) for line in (root / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if "loss" in e] == [1, 2]
    assert all({"loss", "learning_rate", "tokens_per_s"} <= e.keys() for e in log if "loss" in e)

    model = AutoModelForCausalLM.from_pretrained(root / "model")
    tokenizer = AutoTokenizer.from_pretrained(root / "model")
    base = Path(resolve_model("smollm2-135m"))
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(base).chat_template  # no training markers
    name = "model.layers.0.mlp.down_proj.weight"
    with safe_open(base / "model.safetensors", "pt") as before, safe_open(root / "model" / "model.safetensors", "pt") as after:
        assert not before.get_tensor(name).equal(after.get_tensor(name))  # it trained
    chat = [{"role": "user", "content": "Extract the person names: Alice met Bob in Paris."}]
    inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    new = output[0, inputs["input_ids"].shape[1]:]
    assert len(new) > 0 and tokenizer.decode(new, skip_special_tokens=True).strip()


# -- scaling out ----------------------------------------------------------------------------------------
def test_accelerate_launch_command_re_invokes_the_same_stage(monkeypatch):
    from pipeline.cli import main
    from pipeline.train.launch import PRESETS_DIR

    called = []
    monkeypatch.setattr(subprocess, "call", lambda command: called.append(command) or 0)
    assert main(["sft", "--config", RECIPE, "--output", "runs/x", "--accelerate", "zero2",
                 "--num-processes", "8", "--resume", "sft.lr=1e-5"]) == 0
    assert called == [[sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                       str(PRESETS_DIR / "zero2.yaml"), "--num_processes", "8", "-m", "pipeline.cli",
                       "sft", "--config", RECIPE, "--output", "runs/x", "--resume", "sft.lr=1e-5"]]
    assert main(["sft", "--accelerate", "zero9"]) == 2
    assert main(["sft", "--num-processes", "8"]) == 2

def test_adelie_run_trains_under_accelerate_with_the_config_it_resolved(monkeypatch, tiny, mixed, tmp_path):
    """`adelie run run.accelerate=ddp`: the launched command reads a recipe holding the resolved config and
    trains into the very folder the pipeline expects (here the launch runs in-process on the tiny model)."""
    from pipeline.cli import main
    from pipeline.stages.run import launch_training
    from pipeline.stages.sft import locate

    launched = []

    def launch(command):
        launched.append(command)
        return main(command[command.index("pipeline.cli") + 1:])

    monkeypatch.setattr(subprocess, "call", launch)
    cfg = sft_config(model=str(tiny), data=str(mixed), output=str(tmp_path / "sft"), lr=3e-4)
    folder = launch_training("sft", cfg, "ddp", 2)
    assert folder == locate(cfg)[0].root and RunFolder(folder).done()
    (command,) = launched
    assert command[command.index("--num_processes") + 1] == "2" and command[-1] == "--resume"
    assert json.loads((folder / "manifest.json").read_text())["config"]["lr"] == 3e-4
    assert launch_training("sft", cfg, "ddp", 2) == folder and len(launched) == 1  # finished: not launched again


@pytest.mark.parametrize("preset", ["single_gpu", "ddp", "zero2", "zero3", "fsdp"])
def test_presets_are_valid_accelerate_configs(preset):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    from pipeline.train.launch import preset_path

    config = load_config_from_file(str(preset_path(preset)))  # rejects unknown top-level keys
    options = {action.dest for action in launch_command_parser()._actions}
    nested = {**(config.deepspeed_config or {}), **(config.fsdp_config or {})}
    assert set(nested) <= options  # accelerate launch maps each nested key to an option of the same name
    expected = {"single_gpu": "NO", "ddp": "MULTI_GPU", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED", "fsdp": "FSDP"}
    assert config.distributed_type.value == expected[preset]


def test_global_batch_is_kept_across_process_counts(monkeypatch, tmp_path):
    from pipeline.train.config import accumulation_steps, trainer_arguments

    assert accumulation_steps(128, 4, 8) == 4 and accumulation_steps(128, 16, 1) == 8
    with pytest.raises(ValueError, match="not a multiple"):
        accumulation_steps(128, 3, 8)
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert trainer_arguments(sft_config(global_batch=32, batch_size=2), tmp_path)["gradient_accumulation_steps"] == 4


def test_precision_choice_on_a_cpu_machine():
    from pipeline.train.device import accelerator_available, cpu_has_native_bf16, precision_arguments

    if accelerator_available():
        pytest.skip("checks the CPU-only choice")
    args = precision_arguments("auto")
    assert args["use_cpu"] and args["bf16"] == cpu_has_native_bf16() and not args["fp16"]
    assert precision_arguments("fp32") == {"use_cpu": True, "bf16": False, "fp16": False}
    with pytest.raises(ValueError, match="needs a GPU"):
        precision_arguments("fp16")
