"""Closed IE exact-match F1 over the task plugins, on real held-out records."""

from __future__ import annotations

import itertools

import pytest

from corpora.registry import get
from eval.scorers.closed_ie import normalise, score_closed, score_record
from pipeline.records import Annotations, Argument, Entity, Event, Record, Relation, Task
from pipeline.tasks import plugin

HELDOUT = {  # dataset → score names of its task
    "crossner_ai": ["ner"],
    "semeval2010_task8": ["rc"],
    "conll04": ["re"],
    "wikievents_ed": ["ed"],
    "wikievents_eae": ["eae"],
    "phee": ["ee_argument", "ee_trigger"],
    "matres_platinum": ["ere"],
}


def _records(name: str, n: int = 80) -> list[Record]:
    spec = get(name)
    split = "test" if "test" in spec.splits else next(iter(spec.splits))
    return list(itertools.islice(spec.read(split), n))


@pytest.mark.parametrize("name", sorted(HELDOUT))
def test_gold_answers_score_one_and_nonsense_zero(name):
    records = _records(name)
    task = plugin(records[0].task)
    gold_answers = [task.render(task.eval_format, r) for r in records]
    scores = score_closed(records[0].task, gold_answers, records)
    assert sorted(scores.normalised) == HELDOUT[name]
    for counts in (*scores.normalised.values(), *scores.strict.values()):
        assert counts.gold > 0 and counts.f1 == 1.0
    with_symbols = [task.render(task.eval_format, r, task.label_map(r)) for r in records]
    symbol_scores = score_closed(records[0].task, with_symbols, records, symbols=True)
    assert all(c.f1 == 1.0 for c in symbol_scores.normalised.values())
    nonsense = score_closed(records[0].task, ["Sorry, I cannot help with that."] * len(records), records)
    assert all(c.tp == 0 and c.pred == 0 for c in nonsense.normalised.values())
    assert nonsense.unread == len(records) and scores.unread == 0


def test_normalisation():
    assert normalise('  "The  Beatles."  ') == "beatles"
    assert normalise("Bank of the West") == "bank of the west"
    assert normalise("C++") == "c++"  # symbols are not punctuation
    assert normalise("«Ｐｅｒｓｏｎ»") == "person"  # NFKC folds full-width letters, quotes are stripped
    assert normalise("theatre") == "theatre"


def _ner_record() -> Record:
    text = "Barack Obama visited the United Nations in New York ."
    return Record(
        id="t/0", dataset="t", task=Task.NER, text=text,
        gold=Annotations(entities=(
            Entity(text="Barack Obama", type="person"), Entity(text="the United Nations", type="organisation"),
            Entity(text="New York", type="location"),
        )),
    )


def test_counts_by_hand_and_strict_versus_normalised():
    record = _ner_record()
    answer = "barack obama; Person; United Nations; organisation; New York; person; Paris; location; "
    scores = score_record(Task.NER, answer, record)
    norm, strict = scores.normalised["ner"], scores.strict["ner"]
    assert (norm.tp, norm.pred, norm.gold) == (2, 4, 3)  # case and the article differ only
    assert (strict.tp, strict.pred, strict.gold) == (0, 4, 3)
    assert norm.precision == 0.5 and norm.recall == pytest.approx(2 / 3)
    # a repeated item counts once
    repeated = score_record(Task.NER, "New York; location; New York; location; ", record).normalised["ner"]
    assert (repeated.tp, repeated.pred) == (1, 1)


def test_answer_after_an_explanation_and_empty_answers():
    record = _ner_record()
    explained = "New York is a city. [Answer]: New York; location; "
    assert score_record(Task.NER, explained, record).normalised["ner"].tp == 1
    for empty in (None, "", "NA", "[Answer]: NA"):
        scores = score_record(Task.NER, empty, record)
        assert scores.normalised["ner"].pred == 0 and scores.unread == 0


def test_rc_scores_the_relation_only():
    text = "The audits were about waste ."
    record = Record(
        id="t/1", dataset="t", task=Task.RC, text=text,
        given=Annotations(entities=(Entity(text="audits", type=""), Entity(text="waste", type=""))),
        gold=Annotations(relations=(Relation(head="audits", type="message topic", tail="waste"),)),
    )
    assert score_record(Task.RC, "(waste; message topic; audits); ", record).normalised["rc"].f1 == 1.0
    assert score_record(Task.RC, "(audits; cause effect; waste); ", record).normalised["rc"].f1 == 0.0


def test_ee_trigger_and_argument_scores_are_separate():
    text = "Rebels attacked the town on Monday ."
    event = Event(trigger="attacked", type="attack", arguments=(
        Argument(role="attacker", text="Rebels"), Argument(role="target", text="the town")))
    record = Record(id="t/2", dataset="t", task=Task.EE, text=text, gold=Annotations(events=(event,)))
    task = plugin(Task.EE)
    wrong_argument = Annotations(events=(event.model_copy(update={"arguments": (
        Argument(role="attacker", text="Rebels"), Argument(role="place", text="the town"))}),))
    answer = task.eval_format.render_items(task.items(wrong_argument))
    scores = score_record(Task.EE, answer, record).normalised
    assert scores["ee_trigger"].f1 == 1.0
    assert (scores["ee_argument"].tp, scores["ee_argument"].pred, scores["ee_argument"].gold) == (1, 2, 2)


def test_length_mismatch_and_open_tasks_are_errors():
    record = _ner_record()
    with pytest.raises(ValueError, match="predictions for"):
        score_closed(Task.NER, [], [record])
    with pytest.raises(ValueError, match="not a closed IE task"):
        score_record(Task.OPENIE, "", record)


def test_scores_add_up_over_records():
    records = _records("crossner_ai", 20)
    task = plugin(Task.NER)
    answers = [task.render(task.eval_format, r) if i % 2 else "NA" for i, r in enumerate(records)]
    total = score_closed(Task.NER, answers, records)
    parts = [score_record(Task.NER, a, r) for a, r in zip(answers, records)]
    assert total.normalised["ner"].tp == sum(p.normalised["ner"].tp for p in parts)
    assert total.records == 20 and 0 < total.normalised["ner"].recall < 1 and total.normalised["ner"].precision == 1
    assert total.as_dict()["ner_f1"] == total.normalised["ner"].f1
