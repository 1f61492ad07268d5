"""IEFeedback: BLEU scoring, the online/offline pair rules on constructed samples, the offline share and
cap, Table-8 statistics, and the `adelie feedback` stage writing a TRL preference dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpora.registry import get
from pipeline.artifacts import mark_done
from pipeline.feedback.bleu import answer_bleu, bleu
from pipeline.feedback.pairs import Pair, extremes, mix, offline_pair, online_pair, score_samples
from pipeline.feedback.prompts import gold_answer
from pipeline.stages.feedback import FeedbackConfig, read_samples, run_feedback
from pipeline.stages.sample import SAMPLES

PROMPT = [{"role": "user", "content": "Extract the entities."}]


def row(samples, gold="[Answer]: Alice; person; Bob; person; ", rid="r1", dataset="conll2003"):
    return {"id": rid, "dataset": dataset, "task": "ner", "prompt": PROMPT, "gold": gold, "samples": samples}


# -- BLEU --------------------------------------------------------------------------------------------
def test_bleu_scores_the_answer_part_and_is_exactly_one_for_a_copy():
    gold = "[Answer]: Alice; person; Bob; person; "
    assert answer_bleu(gold, "Let me think.\n[Answer]: Alice; person; Bob; person;") == 1.0
    assert answer_bleu("[Answer]: NA", "[Answer]: NA") == 1.0  # smoothed BLEU of a 1-token copy is 0.35
    partial = answer_bleu(gold, "[Answer]: Alice; person; Bob; location; ")
    assert 0.0 < partial < 1.0
    assert answer_bleu(gold, "[Answer]: Carol; location; ") < partial
    assert answer_bleu(gold, "[Answer]: ") == 0.0


def test_unparsable_samples_score_zero_and_never_raise():
    gold = "[Answer]: Alice; person; "
    for junk in ("Alice; person;", "", "\x00\x01 garbage", None, 17):
        assert answer_bleu(gold, junk) == 0.0
    assert answer_bleu(gold, "Alice; person;", require_mark=False) == 1.0


def test_char_tokens_are_more_lenient_than_words():
    ref, hyp = "Alice; person; Bob; person;", "Alice; person; Bob; location;"
    assert bleu(ref, hyp, "char") > bleu(ref, hyp, "word")
    with pytest.raises(ValueError):
        bleu(ref, hyp, "subword")


# -- pair rules on constructed samples ---------------------------------------------------------------
def test_online_pair_needs_more_than_the_margin():
    r = row(["a", "b", "c", "d", "e"])
    assert online_pair(r, [0.4, 0.35, 0.3, 0.32, 0.38]) is None  # Δ exactly 0.1 (float: 0.10000000000000003)
    assert online_pair(r, [0.6, 0.5, 0.55, 0.5, 0.5]) is None  # Δ exactly 0.1 (float: 0.09999999999999998)
    pair = online_pair(r, [0.41, 0.35, 0.3, 0.32, 0.38])
    assert (pair.chosen, pair.rejected, pair.kind) == ("a", "c", "online")
    assert pair.delta == pytest.approx(0.11)


def test_ties_go_to_the_earliest_sample():
    assert extremes([0.2, 0.9, 0.9, 0.2, 0.5]) == (1, 0)
    pair = online_pair(row(["a", "b", "c", "d", "e"]), [0.2, 0.9, 0.9, 0.2, 0.5])
    assert (pair.chosen, pair.rejected) == ("b", "a")


def test_all_equal_samples_give_no_online_pair_but_an_offline_one():
    r = row(["x"] * 5)
    assert online_pair(r, [0.3] * 5) is None
    pair = offline_pair(r, [0.3] * 5)
    assert (pair.chosen, pair.rejected, pair.chosen_score, pair.kind) == (r["gold"], "x", 1.0, "offline")
    # Samples as good as the gold answer give nothing to learn.
    assert offline_pair(r, [1.0] * 5) is None and online_pair(r, [1.0] * 5) is None
    assert offline_pair(r, [0.9] * 5) is None  # Δ exactly 0.1 again


def test_unparsable_samples_become_the_rejected_answer():
    r = row(["[Answer]: Alice; person; Bob; person; ", "no mark at all", "[Answer]: Alice; person; ",
             "", "[Answer]: Alice; person; Bob; person;"])
    scores = score_samples(r)
    assert scores[0] == scores[4] == 1.0 and scores[1] == scores[3] == 0.0 and 0 < scores[2] < 1
    on, off = online_pair(r, scores), offline_pair(r, scores)
    assert (on.chosen, on.rejected) == (r["samples"][0], "no mark at all")
    assert (off.chosen, off.rejected, off.rejected_score) == (r["gold"], "no mark at all", 0.0)


def _pairs(kind: str, n: int) -> list[Pair]:
    return [Pair(f"{kind}{i}", "d", "ner", kind, PROMPT, "c", "r", 1.0, 0.0) for i in range(n)]


def test_mix_keeps_the_offline_share_and_the_cap():
    online, offline = _pairs("online", 60), _pairs("offline", 500)
    chosen = mix(online, offline, offline_share=0.7, max_pairs=10_000)
    assert (sum(p.kind == "offline" for p in chosen), sum(p.kind == "online" for p in chosen)) == (140, 60)
    chosen = mix(_pairs("online", 5000), _pairs("offline", 9000), 0.7, 1000)
    assert (sum(p.kind == "offline" for p in chosen), len(chosen)) == (700, 1000)
    assert len({p.id for p in chosen}) == 1000
    filled = mix(online, offline, 0.7, 400, fill_short=True)
    assert (sum(p.kind == "online" for p in filled), len(filled)) == (60, 400)
    assert mix(online, offline, 0.7, 1000, seed=1) != mix(online, offline, 0.7, 1000, seed=2)
    assert mix(online, offline, 0.7, 1000, seed=1) == mix(online, offline, 0.7, 1000, seed=1)
    assert [p.kind for p in mix(online, [], 0.7, 100)] == []
    assert len(mix(online, [], 0.0, 100)) == 60


# -- the stage -----------------------------------------------------------------------------------------
def sample_folder(tmp: Path, rows: list[dict]) -> Path:
    folder = tmp / "sample"
    folder.mkdir(parents=True)
    (folder / SAMPLES).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "manifest.json").write_text(json.dumps({"key": "k", "config": {"model": "m", "n": 5}}))
    mark_done(folder)
    return folder


@pytest.fixture
def real_rows() -> list[dict]:
    """Real conll2003 records with their real gold answers and constructed samples of known quality."""
    by_answer = {gold_answer(r): r for r in get("conll2003").read("dev") if r.gold.entities}
    golds, records = list(by_answer)[:31], list(by_answer.values())[:31]  # distinct answers
    rows = []
    for i, (record, gold) in enumerate(zip(records[:30], golds)):
        wrong = golds[i + 1]  # another sentence's entities: partly overlapping words at best
        samples = [gold, wrong, "I cannot answer.", wrong, gold] if i % 3 else [wrong] * 5
        rows.append({"id": record.id, "dataset": "conll2003", "task": "ner", "prompt": PROMPT, "gold": gold,
                     "samples": samples})
    return rows


def test_feedback_stage_writes_a_trl_preference_dataset(tmp_path, real_rows):
    from datasets import load_from_disk
    from trl.data_utils import is_conversational

    folder = run_feedback(FeedbackConfig(samples=str(sample_folder(tmp_path, real_rows)), output=str(tmp_path / "fb")),
                          progress=False)
    data = load_from_disk(str(folder / "dataset"))
    stats = json.loads((folder / "stats.json").read_text())
    assert {"prompt", "chosen", "rejected"} <= set(data.column_names)
    assert is_conversational(data[0])
    assert data[0]["chosen"][0]["role"] == "assistant" and data[0]["prompt"] == PROMPT
    # 20 rows have a best sample (the gold copy) over a refusal: 20 online candidates; every row has an
    # offline one. Share 0.7 of 30 offline pairs allows 42 pairs in all: round(29.4) offline, 13 online.
    d = stats["per_dataset"]["conll2003"]
    assert (d["online_candidates"], d["offline_candidates"]) == (20, 30)
    assert (d["offline"], d["online"], len(data)) == (29, 13, 42)
    assert d["mean_delta"] == pytest.approx(sum(data["delta"]) / len(data), abs=1e-4)
    assert all(c > r for c, r in zip(data["chosen_score"], data["rejected_score"]))
    card = (folder / "README.md").read_text()
    assert "| ner | conll2003 | 30 |" in card
    again = run_feedback(FeedbackConfig(samples=str(tmp_path / "sample"), output=str(tmp_path / "fb")), progress=False)
    assert again == folder


def test_bad_sample_lines_name_file_and_line(tmp_path):
    folder = sample_folder(tmp_path, [row(["a"] * 5)])
    with open(folder / SAMPLES, "a") as f:
        f.write('{"id": "r2", "samples": "not a list"}\n')
    with pytest.raises(ValueError, match=rf"{SAMPLES}:2: not a sample row"):
        read_samples(folder)
    (folder / ".done").unlink()
    with pytest.raises(FileNotFoundError, match="not a finished"):
        read_samples(folder)
