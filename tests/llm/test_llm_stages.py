"""``adelie expand``, ``explain`` and ``translate`` end to end against the fake server (in process)."""

from __future__ import annotations

import json
import random
import re

import yaml
from llm_responders import FIXTURE, LABELS, TRANSLATIONS, describer, explainer, translator
from llm_support import REPO, overrides
from rouge_score import rouge_scorer

from corpora.registry import get
from pipeline.cli import main
from pipeline.llm.config import LLMConfig
from pipeline.records import Record
from pipeline.stages.expand import Judge, TaskPool, candidate
from pipeline.tasks import plugin

SEEDS = [
    "Extract every relational tuple from the sentence {text} and give the predicate, subject and object of each.",
    "Which relations does the passage express? Identify all of them in {text}, with time and place if stated.",
    "Open information extraction asks for the facts of a text as tuples; find the tuples of {text}.",
    "Read {text} carefully and write down each statement it makes as a predicate with its arguments.",
]


def labels_override() -> str:
    return "labels={" + ", ".join(f"{k}: {v}" for k, v in LABELS.items()) + "}"


# -- expand ----------------------------------------------------------------------------------------
def test_expand_grows_the_pool_with_checked_candidates_and_resumes(fake, tmp_path):
    server = fake(responder=describer)
    args = ["expand", "--output", str(tmp_path), "tasks=[openie]", "pool_size=12", "per_round=4",
            "seed_descriptions={openie: " + json.dumps(SEEDS) + "}", *overrides(server)]
    assert main(args) == 0
    pool = yaml.safe_load((tmp_path / "openie.yaml").read_text())
    assert pool["hand_written"] == SEEDS and pool["placeholders"] == ["text"]
    generated = pool["generated"]
    assert len(generated) == 12 - len(SEEDS)
    assert all("{text}" in d and not d.startswith("Description") and "extra" not in d for d in generated)
    assert pool["rejected"]["placeholder"] > 0 and pool["rejected"]["near_duplicate"] > 0
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for i, text in enumerate(generated):
        assert all(scorer.score(other, text)["rougeL"].fmeasure <= 0.7 for other in SEEDS + generated[:i])

    # Each prompt shows 3 hand-written + 2 generated descriptions once two exist (5 hand-written before).
    shown = [re.findall(r"^Description \d+: (.*)$", m[-1]["content"], re.M) for m in server.prompts.values()]
    assert all(len(s) == len(SEEDS) for s in shown if not set(s) - set(SEEDS))  # first round: all hand-written
    full = [s for s in shown if len(set(s) - set(SEEDS)) == 2]
    assert full and all(len(s) == 5 and sum(d in SEEDS for d in s) == 3 for s in full)

    sent = sum(server.attempts.values())
    before = (tmp_path / "openie.yaml").read_text()
    assert main(args) == 0  # the rerun replays every round from the store
    assert sum(server.attempts.values()) == sent
    assert (tmp_path / "openie.yaml").read_text() == before


def test_candidates_are_read_from_replies_and_judged():
    assert candidate('Description 6: "Find tuples in {text}."\n\nDescription 7: more') == "Find tuples in {text}."
    assert candidate("**Description 6:** Spot  the\nfacts of {text}.") == "Spot the facts of {text}."
    judge = Judge(0.7)
    plain = TaskPool(task="ner", hand_written=["Find the named entities and their types."], required=frozenset(),
                     allowed=frozenset(), rng=random.Random(0))
    assert not judge.offer(plain, "Find the named entities of {text}.")  # a placeholder the seeds lack
    assert not judge.offer(plain, "Find all the named entities and their types.")  # near-duplicate
    assert not judge.offer(plain, "")
    assert judge.offer(plain, "Which people, places and organisations does the passage mention?")
    assert plain.rejected == {"placeholder": 1, "near_duplicate": 1, "empty": 1}


# -- explain ---------------------------------------------------------------------------------------
def test_explain_asks_table6_with_gold_answers_and_word_limits(fake, tmp_path):
    server = fake(responder=explainer)
    args = ["explain", "--output", str(tmp_path), "datasets=[conll04]", "instances=25", "seed=3", *overrides(server)]
    assert main(args) == 0
    lines = [json.loads(line) for line in (tmp_path / "explanations.jsonl").read_text().splitlines()]
    assert len(lines) == 25 and len({line["record_id"] for line in lines}) == 25
    records = {r.id: r for split in ("train", "dev", "test") for r in get("conll04").read(split)}
    re_task = plugin("re")
    for line in lines:
        record = records[line["record_id"]]
        assert line["format_id"] == re_task.eval_format.id and 70 <= line["words"] <= 200
        assert line["explanation"].startswith("answer to ") and "[Answer]" not in line["explanation"]
        prompt = server.prompts[line["explanation"].split(":")[0].rsplit(" ", 1)[-1]][-1]["content"]
        assert f"[Answer]: {re_task.render(re_task.eval_format, record)}\n" in prompt
        assert f"no more than {line['words']} words" in prompt and f"Text: {record.text}" in prompt
        assert re_task.items(record.gold)  # records with nothing to extract are skipped
    assert len({line["words"] for line in lines}) > 5  # drawn per record
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["llm"]["requests"] == 25 and manifest["config"]["key_env"] == "OPENAI_API_KEY"


def test_dry_run_prints_count_and_cost_and_sends_nothing(fake, tmp_path, capsys):
    server = fake(responder=explainer)
    assert main(["explain", "--dry-run", "--output", str(tmp_path), "datasets=[conll04]", "instances=7",
                 *overrides(server)]) == 0
    out = capsys.readouterr().out
    assert "7 requests" in out and "7 to send" in out and re.search(r"at most \$\d+\.\d{4}", out)
    assert server.requests == 0 and not (tmp_path / "explanations.jsonl").exists()


def test_max_cost_below_the_estimate_stops_clearly_and_keeps_what_was_paid(fake, tmp_path, capsys):
    server = fake(responder=explainer)
    base = ["--output", str(tmp_path), "datasets=[conll04]", "instances=30", "concurrency=2", *overrides(server)]
    assert main(["explain", "--dry-run", *base]) == 0
    estimate = float(re.search(r"at most \$(\d+\.\d+)", capsys.readouterr().out)[1])
    assert main(["explain", f"--max-cost={estimate / 10:.6f}", *base]) == 3
    err = capsys.readouterr().err
    assert "stopped before exceeding --max-cost" in err and "requests not sent" in err
    stored = (tmp_path / "store.jsonl").read_text().splitlines()
    assert 0 < len(stored) < 30 and len(stored) == sum(server.served.values())  # all paid answers kept
    assert not (tmp_path / "explanations.jsonl").exists() and not (tmp_path / ".done").exists()
    assert main(["explain", *base]) == 0  # without the cap the rest is sent, nothing twice
    assert set(server.served.values()) == {1} and len(server.served) == 30


# -- translate -------------------------------------------------------------------------------------
def test_translate_translates_labels_by_rule_and_filters_answers(fake, tmp_path):
    server = fake(responder=translator)
    args = ["translate", "--output", str(tmp_path), f"source={REPO / FIXTURE}", labels_override(), *overrides(server)]
    assert main(args) == 0
    kept = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    dropped = {d["id"]: d["reason"] for d in map(json.loads, (tmp_path / "dropped.jsonl").read_text().splitlines())}
    source = [json.loads(line) for line in (REPO / FIXTURE).read_text().splitlines()]
    expected_drops = {r["id"]: TRANSLATIONS[r["text"]][1] for r in source if TRANSLATIONS[r["text"]][1]}
    assert dropped == expected_drops
    assert [r["id"] for r in kept] == [r["id"] for r in source if r["id"] not in expected_drops]
    first, second = kept[0], kept[1]
    assert first["text"] == "A large earthquake struck Tokyo." and first["dataset"] == "mre_ja_english"
    assert first["gold"] == {"entities": [{"text": "Tokyo", "type": "location"}], "text_labels": ["news"]}
    assert second["gold"]["entities"] == [{"text": "Tanaka", "type": "person"},
                                          {"text": "Sony", "type": "organization"}]
    assert first["task"] == "mre" and first["instruction"] == "NER"
    mre = plugin("mre")
    record = Record.model_validate(second)
    assert mre.render(mre.eval_format, record) == "economy /NER :person;Tanaka:organization;Sony"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["kept"] == 3 and manifest["dropped"] == {"format": 2, "residual_script": 2, "entity_not_in_text": 1}
    prompt = next(iter(server.prompts.values()))[-1]["content"]
    sample = prompt.rsplit("\nInput:\n", 1)[1]
    assert "トヨタ自動車" in prompt  # the one-shot example
    assert not set(LABELS) & set(re.findall(r'"label": "([^"]+)"', sample))  # labels arrive translated


def test_translate_names_the_record_whose_label_has_no_translation(fake, tmp_path, capsys):
    server = fake(responder=translator)
    table = {k: v for k, v in LABELS.items() if k != "天気"}
    labels = "labels={" + ", ".join(f"{k}: {v}" for k, v in table.items()) + "}"
    assert main(["translate", "--output", str(tmp_path), f"source={REPO / FIXTURE}", labels, *overrides(server)]) == 2
    err = capsys.readouterr().err
    assert "mre_ja.jsonl:4: record mre_ja/test/3" in err and "'天気'" in err
    broken = tmp_path / "broken.jsonl"
    lines = (REPO / FIXTURE).read_text().splitlines()
    broken.write_text("\n".join(lines[:5] + [lines[5][:40]] + lines[6:]) + "\n")  # line 6 cut short
    args = ["translate", "--output", str(tmp_path), f"source={broken}", labels_override(), *overrides(server)]
    assert main(args) == 2
    assert f"{broken}:6: not a record" in capsys.readouterr().err
    assert server.requests == 0


def test_llm_keys_are_shared_and_validated():
    config = LLMConfig(model="m", max_cost=1.0)
    assert config.key_env == "OPENAI_API_KEY"
    for bad in ({"concurrency": 0}, {"max_cost": -1.0}, {"max_tokens": 0}):
        try:
            LLMConfig(**bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_the_example_recipe_configures_all_three_stages():
    from pipeline.cli import stages
    from pipeline.config import load_config, read_recipe

    recipe = read_recipe(REPO / "recipes" / "llm.yaml")
    for name in ("expand", "explain", "translate"):
        config = load_config(stages()[name].config, name, recipe, {})
        assert config.key_env == "OPENAI_API_KEY" and "gpt-4o-mini" in config.prices
    assert load_config(stages()["explain"].config, "explain", recipe, {}).model == "gpt-4o"
