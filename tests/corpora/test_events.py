"""Event datasets (PHEE, CASIE, MAVEN, RAMS, WikiEvents, MATRES) read from the real files."""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest

from corpora.base import DataError
from corpora.registry import get, resolve_data_root
from corpora.text import sentence_spans
from pipeline.records import EventRelation, Record, Task

SPLITS = [
    ("phee", "train"),
    ("phee", "dev"),
    ("phee", "test"),
    ("casie", "train"),
    ("maven_ed", "dev"),
    ("maven_ed", "test"),
    ("rams", "dev"),
    ("rams", "test"),
    ("wikievents_ed", "dev"),
    ("wikievents_ed", "test"),
    ("wikievents_eae", "dev"),
    ("wikievents_eae", "test"),
    ("matres", "train"),
    ("matres_platinum", "test"),
]

# Counts for datasets whose record unit SOURCES.md does not count (sentence units, event mentions).
OBSERVED = {
    ("casie", "train"): 15965,
    ("wikievents_ed", "dev"): 378,
    ("wikievents_ed", "test"): 492,
    ("wikievents_eae", "dev"): 345,
    ("wikievents_eae", "test"): 364,
}


@cache
def records(name: str, split: str) -> tuple[Record, ...]:
    return tuple(get(name).read(split))


def find(name: str, split: str, prefix: str) -> Record:
    return next(r for r in records(name, split) if r.text.startswith(prefix))


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_counts(name, split):
    spec = get(name)
    expected = spec.expected.get(split, OBSERVED.get((name, split)))
    assert expected is not None
    assert len(records(name, split)) == expected


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_labels_and_roles_are_declared(name, split):
    spec = get(name)
    labels = set(spec.label_set.labels)
    assert set(spec.guidelines()) == labels
    for i, record in enumerate(records(name, split)):
        assert record.id == f"{name}/{split}/{i}"
        assert record.task == spec.task
        for event in record.given.events + record.gold.events:
            if spec.task != Task.ERE:  # MATRES mentions carry no type; its labels are relations
                assert event.type in labels
            for argument in event.arguments:
                assert argument.role in spec.roles[event.type]
        for relation in record.gold.event_relations:
            assert relation.type in labels


def test_phee_first_record_with_sub_arguments():
    record = records("phee", "train")[0]
    assert record.text.startswith("OBJECTIVE: To test the hypothesis")
    (event,) = record.gold.events
    assert (event.type, event.trigger, event.start) == ("adverse event", "induced", 162)
    assert {(a.role, a.text) for a in event.arguments} == {
        ("treatment", "insulin"),
        ("treatment drug", "insulin"),
        ("treatment disorder", "diabetic"),
        ("effect", "lipoatrophies"),
    }


def test_phee_attributes_are_not_arguments():
    roles = {a.role for r in records("phee", "dev") for e in r.gold.events for a in e.arguments}
    assert "subject age" in roles and "treatment dosage" in roles
    assert not roles & {"speculated", "negated", "severity", "combination"}


def test_casie_sentence_units():
    record = find("casie", "train", "Those affected, believed to be mainly women")
    breach = next(e for e in record.gold.events if e.trigger == "had been accessed")
    assert breach.type == "data breach"
    assert {(a.role, a.text) for a in breach.arguments} == {
        ("compromised data", "addresses"),
        ("compromised data", "their phone numbers"),
        ("compromised data", "information"),
        ("victim", "women"),
    }


def test_casie_shifted_offsets_are_repaired():
    # 10059.json's offsets are all one character too far: the spans must still be found.
    record = find("casie", "train", "The Managing Director of a company held to ransom by hackers")
    (event,) = record.gold.events
    assert (event.type, event.trigger, event.start) == ("ransom", "held to ransom", 35)
    assert ("attacker", "hackers") in {(a.role, a.text) for a in event.arguments}


def test_maven_first_sentence():
    record = records("maven_ed", "dev")[0]
    assert record.text.startswith("Only two of the 10 men who launched from the submarine")
    assert record.tokens[13] == "raid"
    events = [(e.trigger, e.type) for e in record.gold.events]
    assert events == [("launched", "process start"), ("raid", "attack")]
    assert sum(len(r.gold.events) for r in records("maven_ed", "dev")) == 9639  # SOURCES.md: 9639 triggers


def test_rams_one_trigger_per_document():
    record = records("rams", "dev")[0]
    (given,), (gold,) = record.given.events, record.gold.events
    assert (given.trigger, given.type, given.arguments) == ("exterminated", "life die", ())
    assert (gold.trigger, gold.start) == (given.trigger, given.start)
    assert {(a.role, a.text) for a in gold.arguments} == {("victim", "opponents"), ("place", "Iraq")}


def test_rams_readable_type_names():
    types = get("rams").label_set.labels
    assert "conflict attack airstrike missile strike" in types
    assert get("rams").readable("justice.arrestjaildetain.arrestjaildetain") == "justice arrest jail detain"


def test_wikievents_ed_and_eae():
    ed = records("wikievents_ed", "dev")[0]
    assert ed.text == "Roadside IED kills Russian major general in Syria"
    assert [(e.trigger, e.type) for e in ed.gold.events] == [("kills", "life die")]
    eae = records("wikievents_eae", "dev")[0]
    assert eae.text.startswith(ed.text + " The desert south and east of Deir ez - Zor")
    (gold,) = eae.gold.events
    assert {(a.role, a.text) for a in gold.arguments} == {("victim", "general"), ("place", "Syria")}


def test_wikievents_window_option():
    spec = get("wikievents_eae")
    narrow = dataclasses.replace(spec, options={**spec.options, "window": 0})

    def count(recs) -> int:
        return sum(len(e.arguments) for r in recs for e in r.gold.events)

    assert count(records("wikievents_eae", "dev")) == 428
    assert count(narrow.read("dev")) == 426  # two dev arguments lie in a neighbouring sentence


def test_matres_pairs():
    record = records("matres", "train")[0]
    assert record.text == (
        "People have predicted his demise so many times, and the US has tried to hasten it"
        " on several occasions."
    )
    assert [(e.trigger, e.start) for e in record.given.events] == [("predicted", 12), ("tried", 63)]
    assert record.gold.event_relations == (EventRelation(head="predicted", type="before", tail="tried"),)
    first = records("matres_platinum", "test")[0]
    assert [e.trigger for e in first.given.events] == ["apologized", "happened"]
    assert first.gold.event_relations[0].type == "vague"


def test_sentence_spans():
    text = "Mr. Smith met J. Doe in the U.S. on Monday. They left!  \n\nThen it rained."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith met J. Doe in the U.S. on Monday.",
        "They left!",
        "Then it rained.",
    ]
    cut = text.index("They")
    assert len(sentence_spans(text, protected=[(cut - 3, cut + 2)])) == 2


# Malformed input: each adapter names the file and the line.


def _read_bad(tmp_path, name: str, content: str, filename: str = "bad.txt", **options):
    (tmp_path / filename).write_text(content, encoding="utf-8")
    spec = get(name)
    spec = dataclasses.replace(spec, splits={"x": (filename,)}, options={**spec.options, **options})
    with pytest.raises(DataError) as info:
        list(spec.read("x", data_root=tmp_path))
    return info.value


def _first_lines(name: str, split: str, n: int) -> list[str]:
    path = get(name).files(split, resolve_data_root())[0]
    with open(path, encoding="utf-8") as f:
        return [next(f).rstrip("\n") for _ in range(n)]


def test_phee_malformed(tmp_path):
    good, second = _first_lines("phee", "train", 2)
    bad = json.loads(second)
    bad["annotations"][0]["events"][0]["Trigger"]["start"] = [[3]]  # offset no longer gives "develop"
    error = _read_bad(tmp_path, "phee", f"{good}\n{json.dumps(bad)}\n")
    assert (error.path.name, error.line) == ("bad.txt", 2)


def test_casie_malformed(tmp_path):
    path = get("casie").files("train", resolve_data_root())[0]
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["cyberevent"]["hopper"][0]["events"][0]["subtype"] = "Burglary"
    error = _read_bad(tmp_path, "casie", json.dumps(doc), filename="1.json")
    assert (error.path.name, error.line) == ("1.json", 1)
    assert "Burglary" in error.reason


def test_maven_malformed(tmp_path):
    def sentence(start: int) -> dict:
        event = {"text": "rained", "start": start, "end": start + 1, "event_type": "Catastrophe"}
        return {"id": start, "tokens": ["It", "rained", "."], "events": [event]}

    good, bad = sentence(1), sentence(0)  # token 0 is "It", not "rained"
    error = _read_bad(tmp_path, "maven_ed", f"[\n{json.dumps(good)},\n{json.dumps(bad)}\n]\n")
    assert error.line == 3


def test_rams_malformed(tmp_path):
    first, second = _first_lines("rams", "dev", 2)
    bad = json.loads(second)
    bad["gold_evt_links"][0][2] = "evt001arg09nonsense"
    error = _read_bad(tmp_path, "rams", f"{first}\n{json.dumps(bad)}\n")
    assert error.line == 2 and "nonsense" in error.reason


@pytest.mark.parametrize("name", ["wikievents_ed", "wikievents_eae"])
def test_wikievents_malformed(tmp_path, name):
    first, second = _first_lines(name, "dev", 2)
    bad = json.loads(second)
    bad["event_mentions"][0]["trigger"]["sent_idx"] += 1  # the trigger is no longer in its sentence
    error = _read_bad(tmp_path, name, f"{first}\n{json.dumps(bad)}\n")
    assert error.line == 2


def test_matres_malformed_and_skipped_rows(tmp_path):
    texts = {"text_dirs": [str(resolve_data_root() / "temporal/matres/te3-platinum")]}
    good = "WSJ_20130322_159\tapologized\thappened\t1\t5\tVAGUE"
    for bad in (
        "WSJ_20130322_159\tapologized\thappened\t1\t5",  # five fields
        "WSJ_20130322_159\tapologized\twrapped\t1\t5\tVAGUE",  # eiid 5 is "happened"
        "WSJ_20130322_159\tapologized\thappened\t1\t5\tLATER",  # unknown label
        "NO_SUCH_DOC\tapologized\thappened\t1\t5\tVAGUE",
    ):
        error = _read_bad(tmp_path, "matres", f"{good}\n{bad}\n", **texts)
        assert (error.path.name, error.line) == ("bad.txt", 2)
    # An eiid that no MAKEINSTANCE defines is skipped, as in timebank.txt's WSJ910225-0066 rows.
    (tmp_path / "ok.txt").write_text(f"{good}\nWSJ_20130322_159\tapologized\thappened\t1\t0\tVAGUE\n")
    spec = dataclasses.replace(get("matres"), splits={"x": ("ok.txt",)}, options=texts)
    assert len(list(spec.read("x", data_root=tmp_path))) == 1
