"""CaRB: our scorer against the official scorer's printed scores, on the real reference files."""

from __future__ import annotations

import itertools
import json

import pytest

from corpora.registry import get, resolve_data_root
from eval.scorers.carb import (
    READERS,
    Extraction,
    binary_lenient_match,
    carb_score,
    gold_from_records,
    lenient_match,
    read_gold,
    read_tabbed,
    score_openie,
    sentence_key,
)
from pipeline.records import OpenTuple
from pipeline.tasks import plugin

CARB = resolve_data_root() / "openie" / "carb"
REFERENCE = CARB / "reference"
OFFICIAL = json.loads((REFERENCE / "official_scores.json").read_text())["scores"]


@pytest.fixture(scope="module")
def gold():
    return read_gold(CARB / "gold_test.tsv")


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_reproduces_the_official_scores_to_three_decimals(gold, name):
    expected = OFFICIAL[name]
    result = carb_score(gold, READERS[expected["reader"]](REFERENCE / name))
    got = {k: round(v, 3) for k, v in result.as_dict().items()}
    assert got == {k: expected[k] for k in ("auc", "precision", "recall", "f1")}


def test_registry_gold_scores_like_the_gold_file(gold):
    records = list(get("carb").read("test"))
    for name in ("pred_noisy.tsv", "openie4_output.txt"):
        predicted = READERS[OFFICIAL[name]["reader"]](REFERENCE / name)
        from_file = carb_score(gold, predicted).as_dict()
        from_records = carb_score(gold_from_records(records), predicted).as_dict()
        assert from_records == pytest.approx(from_file, abs=1e-12)


def test_gold_reader_drops_context_arguments(gold):
    # "... his attorney , Philip Russell , told IFAR ." has the gold argument "C: IFAR told"
    tuples = next(v for k, v in gold.items() if k.startswith("He sold them well below market value"))
    assert all("C:" not in arg for ex in tuples for arg in ex.args)
    assert any(ex.predicate == "incurred" and len(ex.args) == 3 for ex in tuples)


def test_tuple_match_by_hand():
    gold = Extraction("was born in", ("Obama", "Hawaii in 1961"))
    # relation 3/3, arg1 1/1, rest 1 of 3 gold words: P = 5/5, R = 5/7
    assert lenient_match(gold, Extraction("was born in", ("Obama", "Hawaii"))) == (1.0, 5 / 7)
    # words are case-sensitive and no stop words are removed
    assert lenient_match(gold, Extraction("Was Born In", ("Obama", "Hawaii"))) == (0.0, 0.0)
    # a predicted "be" matches any form of be in the gold relation
    assert lenient_match(Extraction("is", ("A", "B")), Extraction("be", ("A", "B"))) == (1.0, 1.0)
    # a missing first or second argument is no match
    assert lenient_match(gold, Extraction("was born in", ("Obama",))) == (0.0, 0.0)
    # binarisation joins the arguments after the first
    assert binary_lenient_match(gold, Extraction("was born in", ("Obama", "Hawaii", "in 1961"))) == (1.0, 1.0)


def test_reported_speech_tries_swapped_arguments():
    gold = Extraction("said", ("the minister", "taxes will rise"))
    swapped = Extraction("said", ("taxes will rise", "the minister"))
    assert binary_lenient_match(gold, swapped) == (1.0, 1.0)
    assert binary_lenient_match(Extraction("wrote", gold.args), Extraction("wrote", swapped.args)) == (1 / 6, 1 / 6)


def test_sentence_key_ignores_spaces_punctuation_and_ptb_escapes():
    assert sentence_key("He said -LRB- loudly -RRB- : yes .") == sentence_key("He said (loudly): yes.")


def test_one_to_one_precision_and_many_to_one_recall():
    """Two gold tuples, one prediction matching both: recall counts it twice, precision once."""
    sentence = "Paris is the capital of France and its largest city ."
    gold = {sentence: [Extraction("is", ("Paris", "the capital of France")),
                       Extraction("is", ("Paris", "the capital"))]}
    result = carb_score(gold, {sentence: [Extraction("is", ("Paris", "the capital"), 0.5)]})
    assert result.recall == pytest.approx((4 / 6 + 1.0) / 2)
    assert result.precision == 1.0
    assert result.auc == pytest.approx(result.recall * (1 + 1) / 2)  # one point and (0, 1)


def test_no_prediction_scores_zero(gold):
    assert carb_score(gold, {}).as_dict() == {"auc": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    unrelated = {"A sentence that is not in CaRB .": [Extraction("is", ("A", "B"), 0.9)]}
    result = carb_score(gold, unrelated)
    assert (result.precision, result.recall) == (1.0, 0.0)  # precision without predictions is 1, as in CaRB


def test_model_answers_are_parsed_and_scored():
    records = list(itertools.islice(get("carb").read("test"), 60))
    task = plugin("openie")
    answers = [task.render(task.eval_format, r) for r in records]
    perfect = score_openie(answers, records)
    # gold context arguments ("C: ...") are not scored, so answers that state them lose a little precision
    assert perfect.recall == 1.0 and 0.99 < perfect.precision < 1.0
    assert score_openie(["I cannot answer that."] * len(records), records).recall == 0.0
    # tuples given directly score as their rendering does (the binary matcher joins the arguments)
    assert score_openie([r.gold.tuples for r in records], records) == perfect
    with pytest.raises(ValueError, match="predictions for"):
        score_openie(answers[:-1], records)


@pytest.mark.parametrize(("dataset", "size"), [("re_oie2016", 40), ("wire57", 40), ("benchie", 12)])
def test_extra_benchmarks_are_scored_over_their_gold_tuples(dataset, size):
    records = list(itertools.islice(get(dataset).read("test"), size))
    gold_as_predictions = score_openie([r.gold.tuples for r in records], records)
    assert gold_as_predictions.recall > 0.95
    shuffled = score_openie([r.gold.tuples for r in records[1:] + records[:1]], records)
    assert shuffled.f1 < gold_as_predictions.f1 / 2  # another sentence's tuples match only by chance


def test_tabbed_reader_reports_bad_lines(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("A sentence .\t0.5\tis\tA\tB\nAnother sentence .\tnot-a-number\tis\tA\n")
    with pytest.raises(Exception, match=r"bad.tsv:2: unreadable extraction"):
        read_tabbed(path)


def test_tuples_keep_time_and_location_as_marked_arguments():
    from eval.scorers.carb import carb_args

    t = OpenTuple(predicate="met", subject="they", object="", time="in 2001", location="Paris", extra=("again",))
    assert carb_args(t) == ("they", "again", "T: in 2001", "L: Paris")
