"""adelie eval / score / report: predictions saved and re-scored, a report with real plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.evaluate.predict import read_predictions
from pipeline.evaluate.score import score_all
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.evalsets import build_eval_sets
from pipeline.instruct.prompts import load_prompts
from pipeline.records import Record
from pipeline.tasks import plugin

DATASETS = ("crossner_ai", "semeval2010_task8", "matres_platinum", "carb", "wikievents_eae")


@pytest.fixture(scope="module")
def evalsets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("evalsets")
    build_eval_sets(InstructConfig(eval_subset=30), load_prompts(), folder)
    return folder


def write_predictions(evalsets: Path, out: Path, answer) -> Path:
    """Prediction files whose answers come from ``answer(record)``."""
    for dataset in DATASETS:
        for setting in ("zero_shot", "few_shot"):
            rows = [json.loads(l) for l in (evalsets / dataset / f"{setting}.jsonl").read_text().splitlines()]
            path = out / "predictions" / f"{dataset}.{setting}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w") as f:
                for row in rows:
                    record = Record.model_validate(row["record"])
                    pred = {k: row[k] for k in ("id", "dataset", "task", "setting", "format", "record")}
                    pred["prediction"] = answer(record)
                    f.write(json.dumps(pred) + "\n")
    return out


def gold_answer(record: Record) -> str:
    p = plugin(record.task)
    return "[Answer]: " + p.render(p.eval_format, record)


def test_gold_answers_score_100_and_empty_ones_0(evalsets, tmp_path):
    perfect = score_all(read_predictions([write_predictions(evalsets, tmp_path / "gold", gold_answer)]), 200)
    empty = score_all(read_predictions([write_predictions(evalsets, tmp_path / "none", lambda r: "")]), 200)
    assert len(perfect) == len(empty) == 2 * len(DATASETS)
    for row in perfect:
        # CaRB's gold reader drops context arguments, so the gold answer is not quite 100 there.
        assert row["score"] > (95 if row["task"] == "openie" else 99.9), row
        assert row["ci"][0] <= row["score"] <= row["ci"][1]
    assert all(row["score"] == 0 for row in empty)


def test_the_bootstrap_seed_draws_the_intervals(evalsets, tmp_path):
    half = write_predictions(evalsets, tmp_path / "half", lambda r: gold_answer(r) if int(r.id.rsplit("/", 1)[-1]) % 2 else "NA")
    rows = list(read_predictions([half / "predictions"]))

    def intervals(seed: int) -> list:
        return [row["ci"] for row in score_all(rows, 100, seed)]

    assert intervals(0) == intervals(0) and intervals(0) != intervals(1)


def test_a_task_family_averages_its_datasets_with_a_narrower_interval(evalsets, tmp_path):
    from pipeline.evaluate.score import CLOSED_IE, families

    half = write_predictions(evalsets, tmp_path / "half", lambda r: gold_answer(r) if int(r.id.rsplit("/", 1)[-1]) % 2 else "NA")
    scored = score_all(read_predictions([half / "predictions"]), 200, replicates=True)
    found = {(f["family"], f["setting"]): f for f in families(scored)}
    closed = [r for r in scored if r["setting"] == "few_shot" and r["task"] not in ("openie", "ondemand")]
    family = found[(CLOSED_IE, "few_shot")]
    assert family["datasets"] == sorted(r["dataset"] for r in closed)
    assert family["score"] == pytest.approx(sum(r["score"] for r in closed) / len(closed))
    assert family["ci"][0] <= family["score"] <= family["ci"][1]
    # Averaging independent datasets narrows the interval below the widest of theirs.
    assert family["ci"][1] - family["ci"][0] < max(r["ci"][1] - r["ci"][0] for r in closed)
    assert found[("rc", "few_shot")]["score"] == next(r["score"] for r in closed if r["dataset"] == "semeval2010_task8")


def test_predictions_are_saved_batch_by_batch_and_a_rerun_answers_nothing_twice(evalsets, tmp_path):
    from pipeline.evaluate.predict import eval_prompts, predict
    from pipeline.models import tiny_model
    from pipeline.sampling import SamplingParams
    from pipeline.sampling.hf import TransformersBackend

    backend = TransformersBackend(str(tiny_model(tmp_path / "tiny")), dtype="float32", batch_size=4, batch_tokens=1200)
    prompts = eval_prompts(evalsets, "crossner_ai", "few_shot", 6)
    plan = backend.plan([p["messages"] for p in prompts])
    assert sorted(i for batch in plan for i in batch) == list(range(6)) and len(plan) >= 2
    path = tmp_path / "predictions" / "crossner_ai.few_shot.jsonl"
    params = SamplingParams(n=1, temperature=0.01, max_new_tokens=4)
    predict(backend, prompts[:3], path, params, progress=False)  # an interrupted run...
    predict(backend, prompts, path, params, progress=False)  # ...resumed
    predict(backend, prompts, path, params, progress=False)  # ...and rerun with nothing left to answer
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert sorted(ids) == sorted(p["id"] for p in prompts)


def test_score_cli_and_report(evalsets, tmp_path):
    from pipeline.cli import main

    half = write_predictions(evalsets, tmp_path / "half", lambda r: gold_answer(r) if int(r.id.rsplit("/", 1)[-1]) % 2 else "NA")
    gold = write_predictions(evalsets, tmp_path / "gold", gold_answer)
    general = {"benchmarks": {"arc_easy": {"score": 0.5, "n": 100, "metric": "acc", "stderr": {"acc": 0.05}},
                              "bbh": {"score": 0.2, "n": 100, "metric": "exact_match"}}}  # no stderr: binomial
    for run, name in ((half, "half"), (gold, "gold")):
        (run / "scores.json").write_text(json.dumps({"ie": score_all(read_predictions([run / "predictions"]), 50),
                                                      "model": name, "general": general if run == half else {}}))
    assert main(["score", str(half / "predictions"), "bootstrap=50"]) == 0
    results = tmp_path / "docs" / "RESULTS.md"
    out = tmp_path / "report"
    notes = tmp_path / "notes.md"
    notes.write_text("Gold answers against half of them.\n")
    # Labels are not keys of the report stage, even one named like a section (`sft`).
    assert main(["report", f"sft={half}", f"gold={gold}", "bootstrap=50", f"markdown={results}", "--output", str(out),
                 "compare=[gold-sft]", f"notes={notes}"]) == 0
    assert main(["report", f"sft={half}", "bootstrp=50", "--output", str(tmp_path / "typo")]) == 2  # a misspelt key
    assert main(["report", f"sft={half}", "compare=[sft-dpo]", "--output", str(tmp_path / "unknown")]) == 2
    md = (out / "report.md").read_text()
    links = [line[line.index("(") + 1 : -1] for line in results.read_text().splitlines() if line.startswith("![")]
    assert links and all((results.parent / link).is_file() for link in links)  # plots found from RESULTS.md
    assert "| crossner_ai |" in md and "sft" in md and "gold" in md
    assert md.startswith("# adelie evaluation report\n\nGold answers against half of them.\n\nRuns:")
    # General accuracy with 95% half-widths: 1.96 x 5 points, 1.96 x 4, and 1.96 x sqrt(5² + 4²) / 2 for the mean.
    assert "| arc_easy | 50.0 ± 9.8 | – |" in md and "| bbh | 20.0 ± 7.8 | – |" in md
    assert "| **average** | **35.0 ± 6.3** | – |" in md
    # Gold answers beat half-gold ones on closed IE by a margin whose interval excludes 0; no general scores for gold.
    (difference,) = json.loads((out / "report.json").read_text())["differences"]
    assert (difference["minuend"], difference["subtrahend"]) == ("gold", "sft") and "general" not in difference
    for setting in ("zero_shot", "few_shot"):
        delta, (lo, hi) = difference[setting]["delta"], difference[setting]["ci"]
        assert 20 < lo <= delta <= hi < 100
    assert "| gold − sft | +" in md
    page = (out / "report.html").read_text()
    assert "<table>" in page and '<img src="ie_few_shot.png"' in page and "<strong>average</strong>" in page
    from PIL import Image

    for png in ("ie_zero_shot.png", "ie_few_shot.png"):
        image = Image.open(out / png).convert("L")
        assert image.size[0] > 400 and image.size[1] > 200
        lo, hi = image.getextrema()
        assert hi - lo > 100  # not blank: bars and text on a white background


def test_seeds_of_one_label_are_pooled_and_listed_with_their_spread(evalsets, tmp_path):
    from pipeline.evaluate.report import collect, markdown

    runs = []
    for name, answer in (("gold", gold_answer), ("none", lambda r: "NA")):
        run = write_predictions(evalsets, tmp_path / name, answer)
        general = {"benchmarks": {"arc_easy": {"score": 0.6 if name == "gold" else 0.4, "n": 100, "metric": "acc"}}}
        (run / "scores.json").write_text(json.dumps({"general": general}))
        runs.append(run)
    table = collect({"sft": runs}, bootstrap=20, names={runs[0]: "seed 0", runs[1]: "seed 1"})
    gold, none = table["runs"]["sft"]
    assert (gold["name"], none["name"]) == ("seed 0", "seed 1")
    assert gold["few_shot"] > 90 and none["few_shot"] < gold["few_shot"] and (gold["general"], none["general"]) == (60, 40)
    pooled = table["families"]["sft"][("closed IE", "few_shot")]["score"]
    assert none["few_shot"] < pooled < gold["few_shot"]  # the pooled score lies between the seeds'
    md = markdown(table, [])
    assert f"| sft | seed 0 | {gold['zero_shot']:.1f} | {gold['few_shot']:.1f} | 60.0 |" in md
    spread = (gold["few_shot"] - none["few_shot"]) / 2**0.5  # the sample sd of two values
    assert f"| **{(gold['few_shot'] + none['few_shot']) / 2:.1f} ± {spread:.1f}** | **50.0 ± 14.1** |" in md


def test_pooling_copies_of_a_run_does_not_narrow_its_interval(evalsets, tmp_path):
    """The bootstrap draws instances, each with all its runs' answers: two identical seeds are one seed's evidence."""
    from pipeline.evaluate.report import collect

    def half(record):
        return gold_answer(record) if int(record.id.rsplit("/", 1)[-1]) % 2 else "NA"

    copies = [write_predictions(evalsets, tmp_path / name, half) for name in ("a", "b")]
    for copy in copies:
        (copy / "scores.json").write_text("{}")
    table = collect({"one": copies[:1], "two": copies}, bootstrap=50)
    for key, one in table["ie"]["one"].items():
        two = table["ie"]["two"][key]
        assert two["instances"] == 2 * one["instances"]
        assert two["score"] == pytest.approx(one["score"]) and two["ci"] == pytest.approx(one["ci"])
    assert 0 < table["ie"]["one"][("crossner_ai", "few_shot")]["ci"][0] < table["ie"]["one"][("crossner_ai", "few_shot")]["ci"][1]


def test_comparisons_name_two_labels_even_when_labels_hold_hyphens():
    from pipeline.evaluate.report import parse_comparisons

    labels = ["base", "sft", "sft-no-demos", "dpo"]
    assert parse_comparisons([], labels) == [("sft", "base"), ("sft-no-demos", "base"), ("dpo", "base")]
    assert parse_comparisons(["sft-sft-no-demos", "dpo-sft"], labels) == [("sft", "sft-no-demos"), ("dpo", "sft")]
    with pytest.raises(ValueError, match="two of the labels"):
        parse_comparisons(["dpo-ppo"], labels)


def test_a_general_difference_uses_the_benchmarks_both_runs_have():
    from pipeline.evaluate.report import _signed, differences

    table = {"families": {"a": {}, "b": {}}, "general": {"a": {"arc": 50.0, "bbh": 20.0}, "b": {"arc": 40.0}},
             "general_se": {"a": {"arc": 5.0, "bbh": 4.0}, "b": {"arc": 3.0}}}
    (row,) = differences(table, [("a", "b")])
    assert row["general"]["delta"] == pytest.approx(10.0)
    assert row["general"]["half_width"] == pytest.approx(1.96 * (5**2 + 3**2) ** 0.5)
    assert "zero_shot" not in row  # no IE scores, no IE difference
    assert [_signed(x) for x in (-0.04, -0.06, 4.94)] == ["+0.0", "-0.1", "+4.9"]  # no "-0.0" in the table


def test_lineage_follows_a_model_path_inside_a_stage_folder(tmp_path, monkeypatch):
    """`adelie eval --model runs/sft/<key>/model` still leads the report to the SFT run and its mix."""
    from pipeline.evaluate.lineage import trace

    def stage(name: str, key: str, **config) -> Path:
        folder = tmp_path / "runs" / name / key
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"stage": name, "key": key, "config": config}))
        return folder

    stage("mix", "m1", instruct="runs/instruct/absent")
    (stage("sft", "s1", data="runs/mix/m1", model="smollm2-135m") / "model").mkdir()
    evaluation = stage("eval", "e1", model="runs/sft/s1/model", dtype="bfloat16")
    monkeypatch.chdir(tmp_path)
    assert [(f.stage, f.key) for f in trace(evaluation)] == [("eval", "e1"), ("sft", "s1"), ("mix", "m1")]
    monkeypatch.chdir(tmp_path / "runs" / "sft")  # paths read relative to the runs folder instead
    assert [f.stage for f in trace(evaluation)] == ["eval", "sft", "mix"]


def test_the_running_mean_of_a_training_curve_averages_the_last_window_steps():
    from pipeline.evaluate.lineage import running_mean

    assert running_mean([1.0, 2.0, 3.0, 4.0, 5.0], 2) == [1.0, 1.5, 2.5, 3.5, 4.5]
    assert running_mean([2.0, 4.0], 5) == [2.0, 3.0]  # shorter than the window: the mean so far
