"""General-capability evaluation (eval/general): lm-eval task configs over the real benchmark files,
score aggregation, and a quick real run of every benchmark with SmolLM2-135M."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corpora.registry import get
from eval.general import benchmarks as B
from eval.general import runner
from eval.general.scores import benchmark_entry, table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _rows(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().split("\n") if line]


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("general")
    return {name: B.task_configs(bench, root / "data", root / "cache") for name, bench in B.benchmarks().items()}


def test_every_column_has_a_default_benchmark():
    assert list(B.select()) == list(B.COLUMNS)
    assert {b.table_column for b in B.benchmarks().values()} == set(B.COLUMNS)


def test_configs_point_at_existing_files_holding_every_item(configs):
    for name, task_list in configs.items():
        bench = B.benchmarks()[name]
        scored = 0
        for config in task_list:
            files = config["dataset_kwargs"]["data_files"]
            assert set(files) <= {B.TEST, B.FEWSHOT}, config["task"]
            for path in files.values():
                assert Path(path).is_absolute() and Path(path).stat().st_size > 0, path
            assert (B.FEWSHOT in files) == (config.get("num_fewshot", 0) > 0), config["task"]
            scored += len(_rows(files[B.TEST]))
        assert scored == get(bench.dataset).expected[bench.split], name
    assert len(configs["mmlu"]) == 57 and len(configs["bbh"]) == 27


def test_mmlu_exemplars_are_the_dev_rows_of_the_subject_never_test(configs):
    dev: dict[str, list[str]] = {}
    for item in get("mmlu").read("dev"):
        dev.setdefault(B.subtask_of(item), []).append(item.question)
    test: dict[str, set[str]] = {}
    for item in get("mmlu").read("test"):  # a few questions recur across subjects, never within one
        test.setdefault(B.subtask_of(item), set()).add(item.question)
    for config in configs["mmlu"]:
        subject = config["metadata"]["subtask"]
        files = config["dataset_kwargs"]["data_files"]
        shots = _rows(files[B.FEWSHOT])
        assert [row["question"] for row in shots] == dev[subject]
        assert all(row["id"].startswith(f"mmlu/dev/{subject}/") for row in shots)
        scored = _rows(files[B.TEST])
        assert {row["question"] for row in scored} == test[subject]
        assert not {row["question"] for row in shots} & test[subject]
        assert all(row["id"].startswith(f"mmlu/test/{subject}/") for row in scored)
        assert config["num_fewshot"] == 5 and config["fewshot_config"]["sampler"] == "first_n"
        assert subject.replace("_", " ") in config["description"]


def test_bbh_exemplars_are_the_authors_prompts_and_never_scored(configs):
    for name, marker in (("bbh", "So the answer is"), ("bbh_direct", None)):
        for config in configs[name]:
            files = config["dataset_kwargs"]["data_files"]
            shots, scored = _rows(files[B.FEWSHOT]), _rows(files[B.TEST])
            assert len(shots) == 3
            assert not {s["question"] for s in shots} & {s["question"] for s in scored}
            if marker:  # chain of thought ending with the phrase the answer filter looks for
                assert all(marker in s["answer"] for s in shots), config["task"]
            else:  # answer-only exemplars: bare targets such as "(A)" or "False"
                assert all("\n" not in s["answer"] and len(s["answer"]) < 200 for s in shots)


def test_hellaswag_markup_is_removed():
    bench = B.benchmarks()["hellaswag"]
    raw = next(i for i in get("hellaswag").read("dev") if "[title]" in i.question)
    assert "[" not in B.PREPROCESS[bench.preprocess](raw.question)
    assert ". " in B.PREPROCESS[bench.preprocess](raw.question)


def test_selection_rules():
    assert B.select(["mmlu/anatomy", "mmlu/astronomy", "piqa"]) == {"mmlu": ("anatomy", "astronomy"), "piqa": None}
    assert B.select(["mmlu/anatomy", "mmlu"]) == {"mmlu": None}
    with pytest.raises(ValueError, match="choose one"):
        B.select(["bbh", "bbh_direct"])
    with pytest.raises(ValueError, match="unknown general benchmark"):
        B.select(["gsm8k"])
    with pytest.raises(ValueError, match="no subtasks"):
        B.select(["piqa/x"])
    with pytest.raises(ValueError, match="no subtask nonexistent"):
        B.task_configs(B.benchmarks()["mmlu"], Path("/tmp/unused"), Path("/tmp/unused"), ["nonexistent"])


def test_limit_is_spread_over_subtasks():
    assert runner.per_task_limit(None, 57) is None
    assert runner.per_task_limit(50, 57) == 1
    assert runner.per_task_limit(50, 27) == 2
    assert runner.per_task_limit(50, 1) == 50


def test_scores_macro_micro_and_complete_averages():
    mmlu = B.benchmarks()["mmlu"]
    results = {
        "results": {
            "adelie_mmlu_anatomy": {"acc,none": 1.0, "acc_stderr,none": "N/A", "acc_norm,none": 1.0},
            "adelie_mmlu_astronomy": {"acc,none": 0.25, "acc_stderr,none": 0.1, "acc_norm,none": 0.5},
        },
        "n-samples": {"adelie_mmlu_anatomy": {"effective": 1}, "adelie_mmlu_astronomy": {"effective": 3}},
    }
    entry = benchmark_entry(mmlu, results)
    assert entry["score"] == pytest.approx(0.625) and entry["micro"] == pytest.approx(0.4375)
    assert entry["metrics"]["acc_norm"] == pytest.approx(0.75) and entry["n"] == 4
    assert entry["subtasks"]["astronomy"] == {"acc": 0.25, "acc_norm": 0.5, "n": 3}
    partial = table({"mmlu": entry})
    assert partial["columns"] == {"mmlu": 0.625} and partial["average"] is None and partial["commonsense"] is None
    full = {c: {"column": c, "score": i / 10} for i, c in enumerate(B.COLUMNS)}
    assert table(full)["average"] == pytest.approx(0.4)
    assert table(full)["commonsense"] == pytest.approx(0.5)  # columns 2..8


@pytest.mark.slow
def test_quick_run_of_every_benchmark_on_smollm2(tmp_path, monkeypatch):
    """limit 5 per benchmark with the real model: every column gets a score in [0, 1], the sample logs
    hold the prompts the configs promise, and a second call resumes without loading the model."""
    from pipeline.models import resolve_model

    # Two MMLU subjects (a macro average), BBH's shortest CoT prompts, everything else whole.
    tasks = ["mmlu/anatomy", "mmlu/astronomy", "bbh/sports_understanding",
             *[c for c in B.COLUMNS if c not in ("mmlu", "bbh")]]
    scores = runner.run_general(resolve_model("smollm2-135m"), tasks=tasks, limit=5, output_dir=tmp_path,
                                max_gen_toks=64)
    assert list(scores["columns"]) == list(B.COLUMNS)
    for name, entry in scores["benchmarks"].items():
        assert 0.0 <= entry["score"] <= 1.0, name
        assert entry["n"] == (6 if name == "mmlu" else 5), name  # MMLU: ceil(5 / 2) per subject
    assert 0.0 <= scores["average"] <= 1.0 and 0.0 <= scores["commonsense"] <= 1.0
    assert json.loads((tmp_path / "scores.json").read_text())["columns"] == scores["columns"]

    mmlu = _rows(tmp_path / "mmlu" / "samples" / "adelie_mmlu_anatomy.jsonl")
    dev = [i.question for i in get("mmlu").read("dev") if B.subtask_of(i) == "anatomy"]
    for sample in mmlu:
        prompt, continuation = sample["arguments"][0]
        assert all(question in prompt for question in dev) and prompt.endswith("Answer:")
        assert sample["doc"]["question"].strip() in prompt and continuation == " A"
        assert sample["acc"] in (0.0, 1.0) and len(sample["resps"]) == 4
    for sample in _rows(tmp_path / "bbh" / "samples" / "adelie_bbh_sports_understanding.jsonl"):
        assert sample["arguments"][0][0].count("Let's think step by step.") == 4
        assert isinstance(sample["resps"][0][0], str) and sample["filter"] == "answer"
        assert sample["exact_match"] == float(sample["filtered_resps"][0].lower() == sample["target"].lower())
    for sample in _rows(tmp_path / "winogrande" / "samples" / "adelie_winogrande.jsonl"):
        contexts = [argument[0] for argument in sample["arguments"]]
        assert contexts == sample["doc"]["choices"]  # partial scoring: one context per option
        assert {argument[1] for argument in sample["arguments"]} == {" " + sample["doc"]["question"]}

    def no_model(*args, **kwargs):
        raise AssertionError("a finished benchmark was run again")

    monkeypatch.setattr(runner, "_load_lm", no_model)
    again = runner.run_general(resolve_model("smollm2-135m"), tasks=tasks, limit=5, output_dir=tmp_path,
                               max_gen_toks=64)
    assert again["columns"] == scores["columns"]


def test_chat_template_reaches_every_prompt(tmp_path):
    """The template is a run setting: prompts carry it, and changing it reruns a finished benchmark."""
    from pipeline.models import tiny_model

    model = tiny_model(tmp_path / "tiny")
    plain = runner.run_general(model, tasks=["arc_easy"], limit=2, output_dir=tmp_path / "out")
    chat = runner.run_general(model, tasks=["arc_easy"], limit=2, output_dir=tmp_path / "out",
                              apply_chat_template=True)
    assert plain["settings"]["apply_chat_template"] is False and chat["settings"]["apply_chat_template"] is True
    for sample in _rows(tmp_path / "out" / "arc_easy" / "samples" / "adelie_arc_easy.jsonl"):
        prompt, continuation = sample["arguments"][0]
        assert "<|im_start|>user\n" + sample["doc"]["question"] in prompt
        assert prompt.endswith("<|im_start|>assistant\n") and not continuation.startswith(" ")
