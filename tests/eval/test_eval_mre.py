"""MRE mix: text-level, word-level and ALL F1 (seed 001, Appendix E), by hand."""

from __future__ import annotations

import pytest

from eval.scorers.closed_ie import normalise
from eval.scorers.mre import score_mre, score_record
from pipeline.records import Annotations, Entity, Record, Task
from pipeline.tasks import plugin


def _record(i: int, label: str, pairs: list[tuple[str, str]]) -> Record:
    return Record(
        id=f"mre/{i}", dataset="mre", task=Task.MRE, text="Giant pandas are mammals, endemic to China.",
        instruction="NER",
        gold=Annotations(text_labels=(label,), entities=tuple(Entity(text=e, type=t) for t, e in pairs)),
    )


PANDAS = _record(0, "nature", [("animal name", "pandas"), ("nation", "China")])


def test_the_gold_answer_scores_one_everywhere():
    task = plugin("mre")
    answer = task.render(task.eval_format, PANDAS)
    assert answer == "nature /NER :animal name;pandas:nation;China"
    scores = score_record(answer, PANDAS)
    assert scores.text_level.f1 == scores.word_level.f1 == scores.all.f1 == 1.0


@pytest.mark.parametrize(
    ("answer", "tl", "wl", "all_"),
    [
        ("science /NER :animal name;pandas:nation;China", (0, 1, 1), (2, 2, 2), (0, 1, 1)),
        ("nature /NER :animal name;pandas", (1, 1, 1), (1, 1, 2), (0, 1, 1)),
        ("nature /NER :animal name;pandas:nation;China:nation;Japan", (1, 1, 1), (2, 3, 2), (0, 1, 1)),
        ("nature /NER :animal name;Pandas:nation;China", (1, 1, 1), (1, 2, 2), (0, 1, 1)),  # exact strings
        ("I think it is about nature.", (0, 0, 1), (0, 0, 2), (0, 0, 1)),  # unreadable: nothing generated
    ],
)
def test_counts_by_hand(answer, tl, wl, all_):
    scores = score_record(answer, PANDAS)
    for counts, expected in ((scores.text_level, tl), (scores.word_level, wl), (scores.all, all_)):
        assert (counts.tp, counts.pred, counts.gold) == expected


def test_corpus_scores_are_micro_and_all_is_the_strictest():
    other = _record(1, "sports", [("person", "Messi")])
    answers = ["nature /NER :animal name;pandas", "sports /NER :person;Messi"]
    scores = score_mre(answers, [PANDAS, other])
    assert scores.text_level.f1 == 1.0
    assert (scores.word_level.tp, scores.word_level.pred, scores.word_level.gold) == (2, 2, 3)
    assert scores.all.f1 == 0.5
    assert scores.as_dict()["wl_recall"] == pytest.approx(2 / 3)


def test_lenient_variant_with_normalisation():
    answer = "Nature /NER :Animal name;Pandas:nation;China"
    assert score_record(answer, PANDAS).all.f1 == 0.0
    assert score_record(answer, PANDAS, normalise=normalise).all.f1 == 1.0
