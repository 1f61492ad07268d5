"""IEInstruct on the real training pool: reproducibility, augmentation rates, answers that parse back
to their gold, no held-out data, evaluation prompts."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from corpora.cache import read_cached
from corpora.registry import Role, get
from pipeline.formats import LabelMap
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.evalsets import eval_split
from pipeline.instruct.pool import heldout_specs, normal_text, training_specs
from pipeline.records import Record, Task
from pipeline.stages.instruct import run_instruct
from pipeline.tasks import plugin

RUN_RECORD = ("manifest.json", ".done")

# Every dataset of the pool, 150 records each: about 3,700 instances, enough for rate checks.
CAP = 150


def config(tmp: Path, name: str, **overrides) -> InstructConfig:
    values = dict(per_dataset_cap=CAP, eval_subset=20, output=str(tmp / name))
    values.update(overrides)
    return InstructConfig(**values)


@pytest.fixture(scope="module")
def explanations(tmp_path_factory) -> Path:
    """An explanation for every pool record, so CoT can fire at its configured rate."""
    path = tmp_path_factory.mktemp("explain") / "explanations.jsonl"
    with open(path, "w") as f:
        for spec in training_specs([]):
            for split in spec.splits:
                for r in read_cached(spec, split):
                    f.write(json.dumps({"record_id": r.id, "explanation": f"Step 1: read {r.id}."}) + "\n")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, explanations) -> Path:
    tmp = tmp_path_factory.mktemp("instruct")
    return run_instruct(config(tmp, "a", explanations=str(explanations)), progress=False)


@pytest.fixture(scope="module")
def corpus(built):
    from datasets import load_from_disk

    return load_from_disk(str(built / "dataset"))


def test_same_seed_same_bytes_other_seed_differs(built, explanations, tmp_path):
    again = run_instruct(config(tmp_path, "b", explanations=str(explanations)), progress=False)
    other = run_instruct(config(tmp_path, "c", explanations=str(explanations), seed=1), progress=False)
    # Everything but the run record (manifest and done-marker carry times and paths) is byte-identical.
    def outputs(folder):
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and p.name not in RUN_RECORD)

    files = outputs(built)
    assert files == outputs(again) and any(f.parts[0] == "dataset" for f in files)
    _, mismatch, errors = filecmp.cmpfiles(built, again, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors
    assert (built / "dataset").exists() and any(
        not filecmp.cmp(built / f, other / f, shallow=False) for f in files if (other / f).exists()
    )


def test_rerun_with_same_key_is_skipped(built, explanations):
    before = (built / "manifest.json").read_bytes()
    assert run_instruct(config(built.parent, built.name, explanations=str(explanations)), progress=False) == built
    assert (built / "manifest.json").read_bytes() == before


def test_measured_rates_within_two_points(built):
    stats = json.loads((built / "stats.json").read_text())
    assert stats["instances"] > 3000
    for aug, configured in stats["configured_rates"].items():
        measured = stats["measured_rates"][aug]
        assert measured is not None and abs(measured - configured) <= 0.02, (aug, measured, configured)
    # NA filtering: of the records with nothing to extract, about 20% are kept.
    pool = stats["pool"]
    assert sum(pool["na_dropped"].values()) > 0


def test_answers_parse_back_to_their_gold_within_the_schema(corpus):
    by_id = {}
    for row in corpus:
        by_id.setdefault(row["dataset"], []).append(row)
    checked = 0
    for dataset, rows in by_id.items():
        spec = get(dataset)
        records = {r.id: r for split in spec.splits for r in read_cached(spec, split)}
        for row in rows[:60]:
            record: Record = records[row["record_id"]]
            p = plugin(record.task)
            fmt = next(f for fs in p.formats.values() for f in fs if f.id == row["format_id"])
            labels = LabelMap(json.loads(row["symbol_map"])) if row["symbol_map"] else None
            kept = set(row["schema"])
            gold = p.restrict(record.gold, kept, record) if kept < set(p.schema_labels(record)) else record.gold
            target = record.model_copy(update={"gold": gold})
            parsed = p.parse(fmt, row["messages"][1]["content"], record, labels)
            assert p.keys(parsed) == p.keys(p.answer(target)), (row["record_id"], row["messages"][1]["content"])
            # Every category the answer uses is one the instruction listed (EE roles come with their type).
            used = {label for item in p.items(parsed) for label in _labels(item, p)}
            allowed = kept | {r for t in kept for r in record.label_set.roles.get(t, ())}
            assert used <= allowed or not kept, (row["record_id"], used - allowed)
            if labels:  # read without the mapping, every category in the answer is a symbol
                raw = p.parse(fmt, row["messages"][1]["content"], record, None)
                assert {v for item in p.items(raw) for v in _labels(item, p)} <= set(labels.to_symbols.values())
            checked += 1
    assert checked > 1000


def _labels(item, p):
    for f in p.fields:
        if f.items:
            for sub in item[f.name]:
                yield from (sub[g.name] for g in f.items if g.label)
        elif f.label:
            yield item[f.name]


def test_no_heldout_record_reaches_training(corpus):
    heldout = {s.name for s in heldout_specs()}
    assert heldout and not heldout & set(corpus["dataset"])
    assert all(get(name).role is Role.TRAIN for name in set(corpus["dataset"]))
    texts = {normal_text(r.text) for spec in heldout_specs() for split in spec.splits for r in read_cached(spec, split)}
    inputs = [row["messages"][0]["content"].rsplit("Text: ", 1)[-1].split("\n")[0] for row in corpus]
    assert not any(normal_text(t) in texts for t in inputs)


def test_naming_a_heldout_dataset_is_an_error():
    with pytest.raises(ValueError, match="not part of the IE training pool"):
        training_specs(["semeval2010_task8"])


def test_eval_sets_are_frozen_and_use_the_table9_format(built):
    folder = built / "evalsets"
    for spec in heldout_specs():
        zero = [json.loads(l) for l in (folder / spec.name / "zero_shot.jsonl").read_text().splitlines()]
        few = [json.loads(l) for l in (folder / spec.name / "few_shot.jsonl").read_text().splitlines()]
        assert [r["id"] for r in zero] == [r["id"] for r in few]
        available = len(read_cached(spec, eval_split(spec)))
        assert len(zero) == (available if spec.task is Task.ONDEMAND else min(20, available))
        assert {r["format"] for r in zero} == {plugin(spec.task).eval_format.id}
        shots = 5 if spec.task is Task.OPENIE else 4
        assert all(len(r["demos"]) <= shots and r["id"] not in r["demos"] for r in few)
        assert sum(len(r["demos"]) == shots for r in few) >= 0.8 * len(few)  # fewer only past eval_max_tokens
        if spec.task is not Task.ONDEMAND:  # InstructIE has no other split: demos are other instances
            assert not {d for r in few for d in r["demos"]} & {r["id"] for r in zero}

def test_training_seed_does_not_change_the_eval_sets(built, explanations, tmp_path):
    other = run_instruct(config(tmp_path, "c", explanations=str(explanations), seed=1), progress=False)
    for path in (built / "evalsets").rglob("*.jsonl"):
        assert path.read_bytes() == (other / path.relative_to(built)).read_bytes(), path


def test_a_few_shot_prompt_over_the_token_cap_drops_demonstrations():
    from pipeline.instruct.evalsets import eval_rows, prompt_length
    from pipeline.instruct.prompts import load_prompts

    length = prompt_length("smollm2-135m")
    capped = eval_rows(get("benchie"), InstructConfig(eval_subset=12, eval_max_tokens=1500), load_prompts(), length)
    whole = eval_rows(get("benchie"), InstructConfig(eval_subset=12, eval_max_tokens=10**6), load_prompts(), length)
    assert all(len(row["demos"]) == 5 for row in whole["few_shot"])
    assert capped["zero_shot"] == whole["zero_shot"]
    shortened = 0
    for cut, full in zip(capped["few_shot"], whole["few_shot"]):
        assert cut["demos"] == full["demos"][: len(cut["demos"])]  # the first ones are kept, in order
        assert not cut["demos"] or length(cut["messages"][0]["content"]) <= 1500
        shortened += len(cut["demos"]) < 5
    assert shortened > 0
