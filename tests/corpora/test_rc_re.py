"""Relation classification and extraction datasets (plus CASIE in UIE JSON, which shares the RE adapter).

Reads the real files under the data root; malformed-input tests write small corrupted copies to tmp_path.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest

from corpora.base import DataError
from corpora.registry import get, registry, resolve_data_root
from pipeline.records import Entity, Event, Record, Relation

DATASETS = [
    "fewrel_wiki",
    "fewrel_nyt",
    "fewrel_pubmed",
    "semeval2010_task8",
    "conll04",
    "scierc",
    "nyt",
    "webnlg",
    "ade",
    "casie_uie",
]
SPLITS = [(name, split) for name in DATASETS for split in get(name).splits]


@cache
def records(name: str, split: str) -> tuple[Record, ...]:
    return tuple(get(name).read(split))


def find(name: str, split: str, text_start: str) -> Record:
    return next(r for r in records(name, split) if r.text.startswith(text_start))


# --- counts, labels, guidelines -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_record_counts_match_sources(name, split):
    assert len(records(name, split)) == get(name).expected[split]


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_labels_are_in_the_label_set(name, split):
    spec = get(name)
    labels, entity_types = set(spec.label_set.labels), set(spec.options.get("entity_types", {}).values())
    for record in records(name, split):
        assert record.id.startswith(f"{name}/{split}/") and record.task == spec.task
        assert {r.type for r in record.gold.relations} <= labels
        assert {e.type for e in record.gold.entities} <= entity_types
        for event in record.gold.events:
            assert event.type in labels
            assert {a.role for a in event.arguments} <= set(spec.roles[event.type])


@pytest.mark.parametrize("name", DATASETS)
def test_guidelines_cover_every_label_and_entity_type(name):
    spec = get(name)
    guidelines = spec.guidelines()
    expected = set(spec.label_set.labels) | set(spec.options.get("entity_types", {}).values())
    assert set(guidelines) == expected
    for guideline in guidelines.values():
        assert guideline.definition and 2 <= len(guideline.examples) <= 3


@pytest.mark.parametrize("name", ["fewrel_wiki", "fewrel_nyt", "fewrel_pubmed", "semeval2010_task8"])
def test_rc_records_give_two_entities_and_one_relation(name):
    for split in get(name).splits:
        for record in records(name, split):
            first, second = record.given.entities
            (relation,) = record.gold.relations
            assert {relation.head, relation.tail} == {first.text, second.text} or first.text == second.text


def test_no_registered_split_reads_fewrel_semeval():
    # val_semeval.json is SemEval-2010 data: the RC held-out set must never reach training.
    root = resolve_data_root()
    for spec in registry().values():
        for patterns in spec.splits.values():
            for pattern in patterns:
                assert all(path.name != "val_semeval.json" for path in root.glob(pattern)), spec.name


def test_relation_inventories_match_rel2id_and_pid2name():
    root = resolve_data_root()
    for name in ("nyt", "webnlg"):
        id2rel, _ = json.loads((root / f"re/{name}/rel2id.json").read_text())
        assert set(get(name).labels) == set(id2rel.values())
    pids = json.loads((root / "rc/fewrel/pid2name.json").read_text())
    for name in ("fewrel_wiki", "fewrel_nyt"):
        assert set(get(name).labels) <= set(pids)


# --- spot checks of real records -------------------------------------------------------------------


def test_fewrel_wiki_spot_checks():
    first = records("fewrel_wiki", "val")[0]
    head, tail = first.given.entities
    assert (head.text, tail.text) == ("Cape Girardeau Bridge", "Mississippi River")
    assert first.gold.relations == (Relation(head="Cape Girardeau Bridge", type="crosses", tail="Mississippi River"),)
    # whitespace-only source tokens are dropped
    wilton = records("fewrel_wiki", "val")[1]
    assert wilton.text.startswith("Wilton Bridge was a major crossing of the River Wye")
    assert wilton.given.entities[1] == Entity(text="River Wye", type="", start=42, end=51)


def test_fewrel_pubmed_reads_the_subject_from_t():
    record = find("fewrel_pubmed", "val", "understanding how ubiquitin e2")
    assert record.gold.relations == (
        Relation(head="antigen presentation", type="biological process involves gene product", tail="mhc"),
    )
    assert [e.text for e in record.given.entities] == ["antigen presentation", "mhc"]


def test_semeval_spot_checks():
    train = records("semeval2010_task8", "train")
    assert train[0].text == (
        "The system as described above has its greatest application in an arrayed configuration of antenna elements."
    )
    assert [e.text for e in train[0].given.entities] == ["configuration", "elements"]  # e1, e2 in text order
    assert train[0].gold.relations == (Relation(head="elements", type="component whole", tail="configuration"),)
    assert train[1].gold.relations == (Relation(head="child", type="other", tail="cradle"),)
    test = records("semeval2010_task8", "test")
    assert test[0].text == "The most common audits were about waste and recycling."
    assert test[0].given.entities == (
        Entity(text="audits", type="", start=16, end=22),
        Entity(text="waste", type="", start=34, end=39),
    )
    assert test[0].gold.relations == (Relation(head="audits", type="message topic", tail="waste"),)


def test_conll04_spot_check_corrects_uie_spans():
    record = records("conll04", "train")[0]
    assert record.gold.entities[0] == Entity(text="U.S.", type="location", start=23, end=27)
    assert Entity(text="Radio Reloj Network", type="organization", start=73, end=92) in record.gold.entities
    assert record.gold.relations == (Relation(head="Radio Reloj Network", type="organization in", tail="Havana"),)


def test_scierc_spot_check():
    record = records("scierc", "test")[2]
    assert record.text == "The analyzer is called `` Amorph '' ."
    assert [(e.text, e.type) for e in record.gold.entities] == [("analyzer", "generic"), ("`` Amorph ''", "method")]
    assert not record.gold.relations


def test_nyt_and_webnlg_spot_checks():
    nyt = records("nyt", "dev")[0]
    assert nyt.text.startswith("In Queens , North Shore Towers")
    assert nyt.gold.relations == (
        Relation(head="Queens", type="location contains", tail="Douglaston"),
        Relation(head="Douglaston", type="neighborhood of", tail="Queens"),
    )
    webnlg = records("webnlg", "train")[0]
    assert webnlg.gold.relations == (
        Relation(head="1 . FC Köln", type="manager", tail="Peter Stöger"),
        Relation(head="1 . FC Köln", type="season", tail="2014"),
        Relation(head="1 . FC Köln", type="number of members", tail="50000"),
    )


def test_ade_fold_split_and_spot_check():
    root = resolve_data_root()
    fold = json.loads((root / "re/ade/ade_split_0_test.json").read_text())
    train, test = records("ade", "train"), records("ade", "test")
    assert sorted(r.text for r in test) == sorted(" ".join(item["tokens"]) for item in fold)
    assert not {r.text for r in train} & {r.text for r in test}
    record = find("ade", "test", "We conclude that ( a ) cyclophosphamide")
    assert Entity(text="human teratogen", type="adverse effect", start=45, end=60) in record.gold.entities
    expected = Relation(head="human teratogen", type="adverse effect of", tail="cyclophosphamide")
    assert record.gold.relations == (expected,)


def test_casie_uie_events():
    record = records("casie_uie", "dev")[3]
    assert record.text.startswith("Ticketfly did n't comment")
    assert not record.gold.entities  # EE gold is the events; the entity list only repeats argument spans
    breach, attack = record.gold.events
    assert breach.trigger == "had been stolen" and breach.type == "data breach"
    assert [(a.role, a.text) for a in breach.arguments] == [
        ("compromised data", "user information"),
        ("compromised data", "credit card data"),
    ]
    assert attack == Event(trigger="the cyberattack", type="data breach", start=106, end=121)


# --- malformed input -------------------------------------------------------------------------------


def read_copy(name: str, tmp_path, files: dict[str, str], split: str = "x", **changes):
    """Read ``files`` (written to tmp_path) through a copy of the dataset's spec."""
    for file_name, content in files.items():
        (tmp_path / file_name).write_text(content, encoding="utf-8")
    spec = dataclasses.replace(get(name), **changes)
    return list(spec.read(split, data_root=tmp_path))


def test_fewrel_malformed(tmp_path):
    good = '{"tokens": ["A", "crosses", "B"], "h": ["a", "Q1", [[0]]], "t": ["b", "Q2", [[2]]]}'
    bad = '{"tokens": ["A", "crosses", "B"], "h": ["a", "Q1", [[0]]], "t": ["b", "Q2", [[7]]]}'
    content = f'{{\n"P177": [{good}],\n"P26": [{bad}]\n}}\n'
    with pytest.raises(DataError) as err:
        read_copy("fewrel_wiki", tmp_path, {"bad.json": content}, splits={"x": ("bad.json",)})
    assert (err.value.path.name, err.value.line) == ("bad.json", 3)


def test_semeval_malformed_label(tmp_path):
    content = (
        '1\t"The <e1>child</e1> was put into the <e2>cradle</e2>."\nOther\nComment:\n\n'
        '2\t"A <e1>fire</e1> made <e2>smoke</e2>."\nCause-Effect(e3,e1)\nComment:\n\n'
    )
    with pytest.raises(DataError) as err:
        read_copy("semeval2010_task8", tmp_path, {"bad.txt": content}, splits={"x": ("bad.txt",)}, options={})
    assert (err.value.path.name, err.value.line) == ("bad.txt", 6)


def test_semeval_key_must_agree(tmp_path):
    content = '1\t"A <e1>fire</e1> made <e2>smoke</e2>."\nCause-Effect(e1,e2)\nComment:\n\n'
    files = {"t.txt": content, "key.txt": "1\tProduct-Producer\n"}
    with pytest.raises(DataError) as err:
        read_copy("semeval2010_task8", tmp_path, files, splits={"x": ("t.txt",)}, options={"keys": {"x": "key.txt"}})
    assert (err.value.path.name, err.value.line) == ("key.txt", 1)
    (record,) = read_copy(
        "semeval2010_task8", tmp_path, {"key.txt": "1\tCause-Effect\n"},
        splits={"x": ("t.txt",)}, options={"keys": {"x": "key.txt"}},
    )
    assert record.gold.relations == (Relation(head="fire", type="cause effect", tail="smoke"),)


def test_uie_json_malformed_span(tmp_path):
    good = {"text": "Smith lives in Rome .", "ans": {"ent": [], "rel": [], "event": []}}
    bad = {
        "text": "Smith lives in Rome .",
        "ans": {"ent": [{"type": "location", "text": "Rome", "span": [3, 7]}], "rel": [], "event": []},
    }
    content = f"{json.dumps(good)}\n{json.dumps(bad)}\n"
    with pytest.raises(DataError) as err:
        read_copy("conll04", tmp_path, {"bad.jsonl": content}, splits={"x": ("bad.jsonl",)})
    assert (err.value.path.name, err.value.line) == ("bad.jsonl", 2)


def test_uie_json_undeclared_role(tmp_path):
    event = {"event_type": "ransom", "trigger": {"text": "locked", "span": [5, 11]},
             "args": [{"role": "discoverer", "text": "files", "span": [11, 17]}]}
    content = json.dumps({"text": "They locked files .", "ans": {"ent": [], "rel": [], "event": [event]}}) + "\n"
    with pytest.raises(DataError) as err:
        read_copy("casie_uie", tmp_path, {"bad.jsonl": content}, splits={"x": ("bad.jsonl",)})
    assert err.value.line == 1 and "discoverer" in err.value.reason


def test_casrel_malformed_triple(tmp_path):
    content = (
        '[\n  {"text": "Paris is in France .", "triple_list": [["France", "/location/location/contains", "Paris"]]},\n'
        '  {"text": "Rome is in Italy .", "triple_list": [["Italy", "Rome"]]}\n]\n'
    )
    with pytest.raises(DataError) as err:
        read_copy("nyt", tmp_path, {"bad.json": content}, splits={"x": ("bad.json",)})
    assert (err.value.path.name, err.value.line) == ("bad.json", 3)


def test_spert_malformed_relation(tmp_path):
    def item(orig_id, head):
        return json.dumps({
            "tokens": ["aspirin", "caused", "rash"],
            "entities": [{"type": "Drug", "start": 0, "end": 1}, {"type": "Adverse-Effect", "start": 2, "end": 3}],
            "relations": [{"type": "Adverse-Effect", "head": head, "tail": 0}],
            "orig_id": orig_id,
        })

    options = {**get("ade").options, "fold_file": "fold_{fold}.json"}
    files = {"full.json": f"[\n{item(1, 1)},\n{item(2, 5)}\n]\n", "fold_0.json": f"[\n{item(1, 1)}\n]\n"}
    with pytest.raises(DataError) as err:
        read_copy("ade", tmp_path, files, split="train", splits={"train": ("full.json",)}, options=options)
    assert (err.value.path.name, err.value.line) == ("full.json", 3)
    (record,) = read_copy("ade", tmp_path, {}, split="test", splits={"test": ("full.json",)}, options=options)
    assert record.gold.relations == (Relation(head="rash", type="adverse effect of", tail="aspirin"),)
