"""OpenIE, on-demand IE, general SFT data, benchmarks and ABSA: counts, spot checks and malformed input.

Reads the real files under the data root (``$ADELIE_DATA_ROOT`` or ``../shared/data``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpora.adapters.instructie import parse_markdown_table
from corpora.base import DataError
from corpora.registry import get, registry, resolve_data_root
from pipeline.records import BenchmarkItem, Conversation, OpenTuple, Record, Table, Task

OPENIE = ["oie2016", "openie4_train", "carb", "re_oie2016", "wire57", "benchie"]
GENERAL = ["lima", "alpaca_demo", "t0_sample", "self_instruct"]
BENCHMARKS = [
    "mmlu", "bbh", "arc_easy", "arc_challenge", "openbookqa", "siqa",
    "commonsense_qa", "boolq", "winogrande", "hellaswag", "piqa",
]  # fmt: skip
DATASETS = [*OPENIE, "instructie", *GENERAL, *BENCHMARKS, "semeval14_rest"]


@cache
def items(name: str, split: str) -> tuple:
    return tuple(get(name).read(split))


def splits_of(names):
    return [(name, split) for name in names for split in get(name).splits]


# --- counts and the shape of every item ---------------------------------------------------------


@pytest.mark.parametrize("name,split", splits_of(DATASETS))
def test_counts_match_registry(name, split):
    spec = get(name)
    assert len(items(name, split)) == spec.expected[split]


@pytest.mark.parametrize("name", DATASETS)
def test_every_split_has_an_expected_count(name):
    assert set(get(name).expected) == set(get(name).splits)


@pytest.mark.parametrize("name,split", splits_of([*OPENIE, "instructie", "semeval14_rest"]))
def test_records_are_typed_and_numbered(name, split):
    spec = get(name)
    records = items(name, split)
    assert all(isinstance(r, Record) and r.dataset == name and r.task == spec.task for r in records)
    assert [r.id for r in records] == [f"{name}/{split}/{i}" for i in range(len(records))]
    assert all(r.label_set is spec.label_set for r in records)


@pytest.mark.parametrize("name,split", splits_of(GENERAL))
def test_conversations_alternate_user_and_assistant(name, split):
    for conv in items(name, split):
        assert isinstance(conv, Conversation) and conv.task == Task.GENERAL
        assert [m.role for m in conv.messages] == ["user", "assistant"] * (len(conv.messages) // 2)
        assert all(m.content.strip() for m in conv.messages), conv.id


@pytest.mark.parametrize("name,split", splits_of(BENCHMARKS))
def test_benchmark_items(name, split):
    bench = items(name, split)
    assert all(isinstance(b, BenchmarkItem) and b.dataset == name and b.question for b in bench)
    assert len({b.id for b in bench}) == len(bench)
    if name == "bbh":
        assert all(isinstance(b.answer, str) and not b.choices for b in bench)
    else:
        assert all(isinstance(b.answer, int) and b.choices for b in bench)


def test_no_labels_outside_the_label_set():
    for name, split in splits_of([*OPENIE, "instructie"]):
        assert get(name).label_set.labels == ()
        assert all(r.gold.entities == () for r in items(name, split))
    labels = set(get("semeval14_rest").label_set.labels)
    assert labels == {"negative", "neutral", "positive"}
    for split in ("train", "test"):
        assert {e.type for r in items("semeval14_rest", split) for e in r.gold.entities} <= labels
    assert set(get("semeval14_rest").guidelines()) == labels


# --- OpenIE ----------------------------------------------------------------------------------------


def test_oie2016_dev_and_test_are_never_registered():
    """CaRB re-annotates the OIE2016 dev/test sentences: no split may read those files."""
    root = resolve_data_root()
    forbidden = {(root / "openie/oie2016" / f).resolve() for f in ("dev.oie", "test.oie")}
    for spec in registry().values():
        for split, patterns in spec.splits.items():
            for pattern in patterns:
                assert "dev.oie" not in pattern and "test.oie" not in pattern, (spec.name, split)
            assert not forbidden & {p.resolve() for p in spec.files(split, root)}, (spec.name, split)


def test_oie2016_spot_check():
    records = items("oie2016", "train")
    assert sum(len(r.gold.tuples) for r in records) == 5078
    first = records[0]
    assert first.text.startswith("Courtaulds ' spinoff reflects pressure")
    assert first.gold.tuples == (
        OpenTuple(predicate="reflects", subject="Courtaulds ' spinoff", object="pressure on British industry"),
        OpenTuple(
            predicate="might boost",
            subject="British industry",
            object="share prices",
            extra=("beyond the reach of corporate raiders",),
        ),
    )


def test_openie4_spot_check():
    records = items("openie4_train", "train")
    assert sum(len(r.gold.tuples) for r in records) == 997
    simon = records[0].gold.tuples
    assert len(simon) == 4
    assert simon[1] == OpenTuple(predicate="to get back as quickly", subject="I")  # <arg2>   </arg2>
    assert simon[2] == OpenTuple(predicate="'d seen", subject="you", object="Widnes ever")  # spaces collapsed
    assert records[1].text == "The couple had no children ."


def test_carb_spot_check():
    test = items("carb", "test")
    assert sum(len(r.gold.tuples) for r in test) == 2715
    assert sum(len(r.gold.tuples) for r in items("carb", "dev")) == 2548
    assert sum(not r.gold.tuples for r in test) == 7
    assert test[0].text.startswith("32.7 % of all households")
    assert test[0].gold.tuples[0] == OpenTuple(
        predicate="were made up of", subject="32.7 % of all households", object="individuals"
    )
    by_text = {r.text: r for r in test}
    healthvest = by_text[
        "A spokesman said HealthVest has paid two of the three banks it owed interest to in October "
        "and is in negotiations with the third bank ."
    ]
    assert (
        OpenTuple(
            predicate="has paid",
            subject="HealthVest",
            object="two of the three banks",
            time="in October",
            extra=("it owed interest to", "C: A spokesman said"),
        )
        in healthvest.gold.tuples
    )
    exercise = by_text["A surprising 78 % of people said they exercise regularly , up from 73 % in 1981 ."]
    assert OpenTuple(predicate="said", subject="73 % of people", object="they exercise regularly", time="in 1981") in (
        exercise.gold.tuples
    )


def test_re_oie2016_spot_check():
    records = items("re_oie2016", "test")
    # 1,508 extractions in the file; the two without a predicate are left out.
    assert sum(len(r.gold.tuples) for r in records) == 1506
    stoll = next(r for r in records if r.text.startswith("Mr. Stoll suspected the intruder"))
    assert stoll.gold.tuples[0] == OpenTuple(
        predicate="was",
        subject="the intruder",
        object="one of those precocious students who has fun breaking into computers",
        extra=("C: Mr. Stoll suspected",),
    )


def test_wire57_spot_check():
    records = items("wire57", "test")
    assert sum(len(r.gold.tuples) for r in records) == 343
    assert records[0].text.startswith("Tokyo (ˈtoʊkioʊ, Japanese: toːkʲoː), officially Tokyo Metropolis")
    # "[is in] Japanese": inferred words kept, brackets dropped, as the WiRe57 scorer compares them
    assert records[0].gold.tuples[0] == OpenTuple(predicate="is in Japanese", subject="Tokyo", object="toːkʲoː")


def test_benchie_spot_check():
    records = items("benchie", "test")
    graner = records[1]
    assert graner.text.startswith("Graner handcuffed him to the bars of a cell window")
    assert OpenTuple(predicate="handcuffed", subject="Graner", object="him") in graner.gold.tuples
    # "Graner --> left him [there] for --> [nearly] five hours": optional words spelled out
    assert OpenTuple(predicate="left him there for", subject="Graner", object="nearly five hours") in (
        graner.gold.tuples
    )
    assert len(graner.gold.tuples) == len(set(graner.gold.tuples))
    assert sum(not r.gold.tuples for r in records) == 4  # sentences without any fact synset
    assert not any("[" in part or "]" in part for r in records for t in r.gold.tuples for part in (
        t.subject, t.predicate, t.object))  # fmt: skip


# --- on-demand IE -------------------------------------------------------------------------------


def test_instructie_spot_check():
    records = items("instructie", "test")
    first = records[0]
    assert first.task == Task.ONDEMAND
    assert first.instruction.startswith("Could you collate data from medical literature and patient records?")
    assert first.text.startswith("Considering the patient's medication history")
    assert first.gold.table.header == ("Drug-drug Interactions", "Side Effects", "Suggestions")
    assert len(first.gold.table.rows) == 3
    assert first.gold.table.rows[0][0] == "Amlodipine & Atorvastatin"
    # item 53's separator row has 3 cells for a 4-column header: the table is still read
    assert len(records[53].gold.table.header) == 4 and len(records[53].gold.table.rows) == 2
    assert all(len(row) == len(r.gold.table.header) for r in records for row in r.gold.table.rows)


def test_markdown_table_parser():
    answer = "Here it is:\n```\n| Name | Age |\n|:---|---:|\n| Ann | 3 |\n| Bo \\| Jo | |\n```\nDone."
    assert parse_markdown_table(answer) == Table(header=("Name", "Age"), rows=(("Ann", "3"), ("Bo | Jo", "")))
    assert parse_markdown_table("a | b\nc | d") == Table(header=("a", "b"), rows=(("c", "d"),))
    assert parse_markdown_table("| a | b |\n| 1 | 2 | 3 |") == Table(header=("a", "b"), rows=(("1", "2", "3"),))
    assert parse_markdown_table("| x |\n| --- |") == Table(header=("x",))
    for no_table in ("", "no table here", "| |\n|---|", None, 42):
        assert parse_markdown_table(no_table) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("|-: ab\\\n\t`"), max_size=80) | st.text(max_size=80))
def test_markdown_table_parser_never_raises(text):
    table = parse_markdown_table(text)
    assert table is None or isinstance(table, Table)


# --- general SFT data ------------------------------------------------------------------------------


def test_lima_multi_turn():
    convs = items("lima", "train")
    assert sum(len(c.messages) > 2 for c in convs) == 29
    assert max(len(c.messages) for c in convs) == 20  # one item with 9 earlier turns
    assert convs[0].messages[0].content.startswith("Can brain cells move?")


def test_instruction_and_input_are_joined():
    seed = items("self_instruct", "train")[1]
    assert seed.messages[0].content == "What is the relation between the given pairs?\n\nNight : Day :: Right : Left"
    assert seed.messages[1].content == "The relation between the given pairs is that they are opposites."
    alpaca = items("alpaca_demo", "train")
    assert sum("\n\n" in c.messages[0].content for c in alpaca) >= 412  # the 412 items with an input


def test_t0_completion_marker_removed():
    convs = items("t0_sample", "train")
    assert convs[0].messages[1].content == "subjective idealism"
    assert not any("<|endoftext|>" in c.messages[1].content for c in convs)


# --- benchmarks -------------------------------------------------------------------------------------


def test_benchmark_spot_checks():
    mmlu = items("mmlu", "test")
    assert mmlu[0].id == "mmlu/test/abstract_algebra/0"
    assert mmlu[0].choices == ("0", "4", "2", "6") and mmlu[0].answer == 1
    assert len({b.id.split("/")[2] for b in mmlu}) == 57
    bbh = items("bbh", "test")
    assert len({b.id.split("/")[2] for b in bbh}) == 27
    assert bbh[0].id == "bbh/test/boolean_expressions/0"
    assert (bbh[0].question, bbh[0].answer) == ("not ( True ) and ( True ) is", "False")
    wino = items("winogrande", "dev")[0]
    assert wino.question == "always got the easier cases." and wino.answer == 1
    assert wino.choices[1] == "Sarah was a much better surgeon than Maria so Maria"
    piqa = items("piqa", "dev")[0]
    assert piqa.question == "How do I ready a guinea pig cage for it's new occupants?" and piqa.answer == 0
    hella = items("hellaswag", "dev")[0]
    assert hella.answer == 3 and hella.choices[3].startswith("are in the gym practicing")
    assert items("boolq", "dev")[0].choices == ("no", "yes")


# --- ABSA -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split,aspects,sentences", [("train", 3608, 2018), ("test", 1120, 615)])
def test_semeval14_aspect_counts(split, aspects, sentences):
    records = items("semeval14_rest", split)
    assert len(records) == sentences
    assert sum(len(r.gold.entities) for r in records) == aspects
    assert all(r.text == " ".join(r.tokens) for r in records)
    if split == "train":  # polarity -1/0/1 counted in the file: 807 / 637 / 2164
        counts = Counter(e.type for r in records for e in r.gold.entities)
        assert counts == {"negative": 807, "neutral": 637, "positive": 2164}


def test_semeval14_groups_a_sentence_with_its_aspects():
    records = items("semeval14_rest", "train")
    assert records[0].text == "But the staff was so horrible to us ."
    assert [(e.text, e.type, e.start) for e in records[0].gold.entities] == [("staff", "negative", 8)]
    food = next(r for r in records if r.text.startswith("The food is uniformly exceptional"))
    assert [(e.text, e.type) for e in food.gold.entities] == [
        ("food", "positive"),
        ("kitchen", "positive"),
        ("menu", "neutral"),
    ]


# --- malformed input: every adapter names the file and line -------------------------------------

MALFORMED = {
    # dataset: ({file name: content}, file name expected in the error, 1-based line)
    "oie2016": ({"a.oie": "S one .\thead\thead\tS\tone\nS two .\tonly-three-fields\tx\n"}, "a.oie", 2),
    "openie4_train": (
        {"a.tsv": "S .\t<arg1> S </arg1> <rel> r </rel>\t0.9\nS .\t<arg1> S </arg1> oops\t0.5\n"}, "a.tsv", 2
    ),
    "carb": ({"s.txt": "One .\nTwo .\n", "g.tsv": "One .\tis\tx\ty\nThree .\tis\tx\n"}, "g.tsv", 2),
    "re_oie2016": ({"r.json": '{\n"S one .": [],\n"S two .": [{"arg0": "x"}]\n}\n'}, "r.json", 3),
    "wire57": ({"w.json": '{\n"doc-a": [],\n"doc-b": [{"sent": "S .", "tuples": [{"rel": {}}]}]\n}\n'}, "w.json", 3),
    "benchie": ({"s.txt": "A b .\n", "g.txt": "sent_id:1\tA b .\n1--> Cluster 1:\nA --> b\n"}, "g.txt", 3),
    "instructie": (
        {"t.json": '[\n{"instruction": "i", "text": "t", "table": "| a |\\n|---|\\n| 1 |"},\n'
                   '{"instruction": "i", "text": "t", "table": "no table"}\n]\n'},
        "t.json", 3,
    ),
    "lima": (
        {"l.json": '[\n{"instruction": "q", "input": "", "output": "a", "history": []},\n'
                   '{"instruction": "q", "input": "", "output": "a", "history": [["only one"]]}\n]\n'},
        "l.json", 3,
    ),
    "t0_sample": ({"t.jsonl": '{"prompt": "p", "completion": "c"}\n{"prompt": "p"}\n'}, "t.jsonl", 2),
    "self_instruct": (
        {"s.jsonl": '{"instruction": "i", "instances": [{"input": "", "output": "o"}]}\n'
                    '{"instruction": "i", "instances": []}\n'},
        "s.jsonl", 2,
    ),
    # the quoted question spans lines 2-3, so the bad answer "z" is on line 4
    "mmlu": (
        {"x_test.csv": 'question,choice0,choice1,choice2,choice3,answer\n"Two\nlines",a,b,c,d,0\nQ,a,b,c,d,z\n'},
        "x_test.csv", 4,
    ),
    "bbh": ({"t.json": '{\n"canary": "c",\n"examples": [{"input": "i"}]\n}\n'}, "t.json", 3),
    "arc_easy": (
        {"a.jsonl": '{"query": "q", "choices": ["a", "b"], "gold": 1}\n{"query": "q", "choices": ["a"], "gold": 1}\n'},
        "a.jsonl", 2,
    ),
    "winogrande": (
        {"w.jsonl": '{"context_options": ["a", "b"], "continuation": "c", "gold": 0}\n'
                    '{"context_options": "ab", "continuation": "c", "gold": 0}\n'},
        "w.jsonl", 2,
    ),
    "hellaswag": (
        {"h.jsonl": '{"ctx": "c", "endings": ["a", "b"], "label": 1}\n\n'
                    '{"ctx": "c", "endings": ["a", "b"], "label": "x"}\n'},
        "h.jsonl", 3,
    ),
    "piqa": (  # two questions, one label: the mismatch is reported on the labels file
        {"p.jsonl": '{"goal": "g", "sol1": "a", "sol2": "b"}\n{"goal": "g", "sol1": "a", "sol2": "b"}\n',
         "p.lst": "0\n"},
        "p.lst", 0,
    ),
    "semeval14_rest": ({"a.txt": "The $T$ is good .\nfood\n1\nThe $T$ is bad .\nservice\n2\n"}, "a.txt", 6),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_located(name, tmp_path: Path):
    files, bad_file, line = MALFORMED[name]
    for file_name, content in files.items():
        (tmp_path / file_name).write_text(content, encoding="utf-8")
    spec = dataclasses.replace(get(name), splits={"x": tuple(files)})
    with pytest.raises(DataError) as caught:
        list(spec.read("x", data_root=tmp_path))
    assert (caught.value.path.name, caught.value.line) == (bad_file, line), str(caught.value)


def test_every_adapter_has_a_malformed_input_test():
    mine = {get(name).adapter for name in DATASETS}
    assert mine == {get(name).adapter for name in MALFORMED}


def test_openie_markers_go_to_time_location_and_context(tmp_path: Path):
    (tmp_path / "s.txt").write_text("S .\n", encoding="utf-8")
    (tmp_path / "g.tsv").write_text("S .\tr\ta\tT: t\tb\tL:  l \tC: c\tx\n", encoding="utf-8")
    spec = dataclasses.replace(get("carb"), splits={"x": ("s.txt", "g.tsv")})
    (record,) = spec.read("x", data_root=tmp_path)
    assert record.gold.tuples == (
        OpenTuple(predicate="r", subject="a", object="b", time="t", location="l", extra=("x", "C: c")),
    )
