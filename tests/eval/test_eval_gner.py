"""GNER: hierarchical matching and entity F1, strict F1 against seqeval on real CrossNER data."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score, precision_score, recall_score

from corpora.registry import get
from eval.scorers.gner import (
    EXACT,
    LCS,
    SUBSEQUENCE,
    align_tags,
    bio_format,
    gold_tags,
    hierarchical_match,
    lcs_match,
    lcs_match_dp,
    partial_counts,
    score_answer,
    score_gner,
    tokenizer_round_trip,
)
from pipeline.tasks import plugin


@pytest.fixture(scope="module")
def records():
    ner = plugin("ner")
    rows = itertools.islice(get("crossner_ai").read("test"), 250)
    return [r for r in rows if ner.supports("bio", r)]


def _noisy_answer(record, rng: random.Random) -> str:
    """The gold BIO answer with words dropped, misspelt and inserted and tags changed (also to an
    unknown type and to dangling I- tags)."""
    labels = list(record.label_set.labels)
    items = []
    for item in plugin("ner").format_items(bio_format(), record):
        word, tag, x = item["word"], item["tag"], rng.random()
        if x < 0.05:
            continue
        if x < 0.1:
            word += "x"
        if x < 0.25:
            tag = rng.choice(["O", f"B-{rng.choice(labels)}", f"I-{rng.choice(labels)}", "B-no such type"])
        items.append({"word": word, "tag": tag})
        if rng.random() < 0.03:
            items.append({"word": "inserted", "tag": f"B-{rng.choice(labels)}"})
    return bio_format().render_items(items)


def test_strict_f1_equals_seqeval_on_the_aligned_tags(records):
    rng = random.Random(7)
    answers = [_noisy_answer(r, rng) for r in records]
    scores = score_gner(answers, records)
    y_true = [gold_tags(r) for r in records]
    y_pred = [score_answer(a, r)[1] for a, r in zip(answers, records)]
    assert scores.strict.f1 == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert scores.strict.precision == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert scores.strict.recall == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
    assert 0.3 < scores.strict.f1 < 0.9  # the noise matters, the alignment recovers most of it
    assert scores.partial.f1 > scores.strict.f1
    assert set(scores.levels) == {EXACT, SUBSEQUENCE, LCS}


def test_gold_answers_align_exactly(records):
    task = plugin("ner")
    answers = [task.render(bio_format(), r) for r in records]
    scores = score_gner(answers, records)
    assert scores.strict.f1 == 1.0 and scores.partial.f1 == 1.0
    assert scores.levels == {EXACT: len(records)}
    symbols = [task.render(bio_format(), r, task.label_map(r)) for r in records]
    assert score_gner(symbols, records, symbols=True).strict.f1 == 1.0


def test_matching_levels():
    words = ["the", "cat", "sat", "on", "the", "mat"]
    assert hierarchical_match(words, words) == ([0, 1, 2, 3, 4, 5], EXACT)
    assert hierarchical_match(words, ["cat", "on", "mat"]) == ([-1, 0, -1, 1, -1, 2], SUBSEQUENCE)
    match, level = hierarchical_match(words, ["the", "dog", "sat", "on", "the", "mat", "!"])
    assert level == LCS and match == [0, -1, 2, 3, 4, 5]


def test_alignment_maps_tags_and_drops_unknown_types():
    tokens = ["EU", "rejects", "German", "call"]
    predicted = [("eu", "B-organisation"), ("rejects", "O"), ("Germann", "B-misc"), ("call", "B-bogus")]
    tags, level = align_tags(tokens, predicted, labels={"organisation", "misc"})
    assert level == LCS and tags == ["B-organisation", "O", "O", "O"]


def test_back_tokenisation_rescues_words_the_model_cannot_spell():
    tokens = ["Antropología", "es", "ciencia"]
    predicted = [("antropologa", "B-field"), ("es", "O"), ("ciencia", "O")]
    without, _ = align_tags(tokens, predicted)
    drop_accent = lambda words: [w.replace("í", "") for w in words]  # a tokenizer without "í"
    with_bt, level = align_tags(tokens, predicted, back_tokenize=drop_accent)
    assert without[0] == "O" and with_bt == ["B-field", "O", "O"] and level == EXACT


def test_round_trip_with_a_real_tokenizer():
    from transformers import AutoTokenizer

    from pipeline.models import resolve_model

    round_trip = tokenizer_round_trip(AutoTokenizer.from_pretrained(resolve_model("smollm2-135m")))
    words = ["antropología", "naïve", "U.S.", "(", "2024"]
    assert round_trip(words) == words  # byte-level BPE spells every word


def test_partial_credit_by_hand():
    gold = {(0, 2, "person"), (5, 7, "location"), (9, 10, "person")}
    pred = {(0, 2, "person"), (5, 6, "location"), (6, 8, "location"), (9, 11, "organisation")}
    counts = partial_counts(gold, pred)  # 1 exact + 0.5 for (5, 6); (6, 8) finds its gold taken
    assert (counts.tp, counts.pred, counts.gold) == (1.5, 4, 3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), max_size=14), st.lists(st.sampled_from("abcdefg"), max_size=14))
def test_hunt_szymanski_finds_a_longest_common_subsequence(a, b):
    fast, slow = lcs_match(a, b), lcs_match_dp(a, b)
    assert sum(j != -1 for j in fast) == sum(j != -1 for j in slow)
    pairs = [(i, j) for i, j in enumerate(fast) if j != -1]
    assert all(a[i] == b[j] for i, j in pairs)
    assert [j for _, j in pairs] == sorted({j for _, j in pairs})  # increasing: a common subsequence
