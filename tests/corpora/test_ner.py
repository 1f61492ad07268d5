"""NER family: every registered NER / chunking dataset read from the real files in the data root."""

from __future__ import annotations

import dataclasses
from itertools import islice
from pathlib import Path

import pytest

from corpora.base import DataError
from corpora.registry import Role, get
from pipeline.records import Record, Task

NER_DATASETS = [
    "conll2003",
    "ontonotes5",
    "bc5cdr",
    "genia_jnlpba",
    "mit_restaurant",
    "wikiann_en",
    "wnut17",
    "mit_movie_trivia10k13",
    "genia_nested",
    "fewnerd_inter",
    "crossner_ai",
    "crossner_literature",
    "crossner_music",
    "crossner_politics",
    "crossner_science",
    "conll2003_chunk",
]
SPLITS = [(name, split) for name in NER_DATASETS for split in get(name).splits]

def record(name: str, split: str, index: int) -> Record:
    """One record by position, reading no further than needed."""
    return next(islice(get(name).read(split), index, None))


def entities(rec: Record) -> list[tuple[str, str]]:
    return [(e.text, e.type) for e in rec.gold.entities]


def test_roles() -> None:
    roles = {name: get(name).role for name in NER_DATASETS}
    assert {n for n, r in roles.items() if r is Role.HELDOUT} == {
        "fewnerd_inter",
        *(f"crossner_{d}" for d in ("ai", "literature", "music", "politics", "science")),
    }
    assert roles["conll2003_chunk"] is Role.SEQLABEL
    assert all(get(name).task is Task.NER for name in NER_DATASETS)


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_counts_and_labels(name: str, split: str) -> None:
    spec = get(name)
    labels, count = set(spec.label_set.labels), 0
    for count, rec in enumerate(spec.read(split), 1):  # streamed: holding every split in memory is slow
        assert rec.id == f"{name}/{split}/{count - 1}"
        assert rec.label_set is spec.label_set and rec.text == " ".join(rec.tokens)
        assert {e.type for e in rec.gold.entities} <= labels, rec.id
    assert count == spec.expected[split]


@pytest.mark.parametrize("name", NER_DATASETS)
def test_guidelines_cover_every_label(name: str) -> None:
    spec = get(name)
    guidelines = spec.guidelines()
    assert set(guidelines) == set(spec.label_set.labels)
    assert all(g.definition and 2 <= len(g.examples) <= 3 for g in guidelines.values())


def test_ontonotes_sentences_and_brackets() -> None:
    first = record("ontonotes5", "train", 0)
    assert first.text == "Abramov had a car accident in Moscow last night and was seriously injured ."
    assert entities(first) == [
        ("Abramov", "person"),
        ("Moscow", "geopolitical entity"),
        ("last night", "time"),
    ]
    # -LRB- / -RRB- are un-escaped, and a multi-row (ORG* ... *) span covers them.
    assert entities(record("ontonotes5", "train", 5279))[0] == ("Kao ( Taiwan ) Corporation", "organization")
    assert entities(record("ontonotes5", "dev", 0)) == [
        ("the summer of 2005", "date"),
        ("Hong Kong", "geopolitical entity"),
    ]
    assert len(get("ontonotes5").label_set.labels) == 18


def test_genia_nested_overlaps_and_duplicates() -> None:
    assert entities(record("genia_nested", "dev", 0)) == [
        ("GATA - 1", "protein"),
        ("tal - 1", "protein"),
        ("erythroid , megakaryocytic , and basosophilic lineages", "cell type"),
    ]
    # One span annotated with two types is kept twice; an exact duplicate (31,35 protein) only once.
    assert entities(record("genia_nested", "dev", 50)) == [
        ("CD14", "RNA"),
        ("CD14", "protein"),
        ("CD23 mRNA", "RNA"),
    ]
    assert entities(record("genia_nested", "dev", 1085)) == [
        ("human monocytes", "cell type"),
        ("interleukin - 1 beta", "protein"),
    ]


def test_column_variants() -> None:
    # Tag-first MIT files (the trivia set has CRLF line ends, which must not reach the tokens).
    assert entities(record("mit_restaurant", "test", 0)) == [
        ("four star", "rating"),
        ("with a", "location"),
        ("bar", "amenity"),
    ]
    movie = record("mit_movie_trivia10k13", "train", 0)
    assert movie.tokens[:2] == ("steve", "mcqueen") and entities(movie)[0] == ("steve mcqueen", "actor")
    # WikiANN tokens lose their "en:" prefix.
    assert record("wikiann_en", "train", 0).text.startswith("R.H. Saunders ( St. Lawrence River )")
    assert entities(record("bc5cdr", "train", 0)) == [
        ("Selegiline", "chemical"),
        ("postural hypotension", "disease"),
        ("Parkinson ' s disease", "disease"),
    ]
    assert entities(record("genia_jnlpba", "test", 0)) == [
        ("glucocorticoid receptors", "protein"),
        ("lymphocytes", "cell type"),
    ]
    assert entities(record("wnut17", "test", 0)) == [("Sonmarg", "location")]
    assert entities(record("crossner_politics", "dev", 0))[:3] == [
        ("2001 Italian general election", "election"),
        ("Greens", "miscellaneous"),
        ("Italian Democratic Socialists", "political party"),
    ]


def test_fewnerd_adjacent_entities_of_different_types() -> None:
    # Few-NERD comes from IO tags: an entity right after another of a different type starts with I-.
    assert entities(record("fewnerd_inter", "test", 5839))[:2] == [
        ("Ontario", "organization government agency"),
        ("New Democratic Party", "organization political party"),
    ]


def test_chunking_uses_the_chunk_column() -> None:
    assert entities(record("conll2003_chunk", "train", 0)) == [
        ("EU", "noun phrase"),
        ("rejects", "verb phrase"),
        ("German call", "noun phrase"),
        ("to boycott", "verb phrase"),
        ("British lamb", "noun phrase"),
    ]


# --- malformed input -------------------------------------------------------------------------


def read_copy(name: str, tmp_path: Path, filename: str, content: str) -> list[Record]:
    (tmp_path / filename).write_text(content, encoding="utf-8")
    spec = dataclasses.replace(get(name), splits={"x": (filename,)})
    return list(spec.read("x", data_root=tmp_path))


def conll_row(index: int, word: str, ner: str) -> str:
    return f"doc 0 {index} {word} NN * - - - spk {ner} -\n"


GOLD_CONLL_OK = (
    "#begin document (doc); part 000\n"
    + conll_row(0, "-LRB-", "*")
    + conll_row(1, "New", "(GPE*")
    + conll_row(2, "York", "*)")
    + conll_row(3, "/.", "*")
    + "\n#end document\n"
)


def test_gold_conll_reads_a_small_file(tmp_path: Path) -> None:
    (record,) = read_copy("ontonotes5", tmp_path, "ok.gold_conll", GOLD_CONLL_OK)
    assert record.tokens == ("(", "New", "York", ".")
    assert entities(record) == [("New York", "geopolitical entity")]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        # An entity opened on line 3 is never closed.
        (GOLD_CONLL_OK.replace("*)", "*"), 3, "never closed"),
        (GOLD_CONLL_OK.replace("(GPE*", "(GPE"), 3, "bad named-entity cell"),
        (GOLD_CONLL_OK.replace("(GPE*", "(CITY*"), 3, "not in the registry"),
        (GOLD_CONLL_OK.replace("doc 0 2 York", "doc 0 7 York"), 4, "word index"),
        (conll_row(0, "Hi", "*"), 1, "outside"),
        (GOLD_CONLL_OK.replace("#end document\n", ""), 6, "ends inside a document"),
    ],
)
def test_gold_conll_malformed(tmp_path: Path, content: str, line: int, reason: str) -> None:
    with pytest.raises(DataError, match=reason) as info:
        read_copy("ontonotes5", tmp_path, "bad.gold_conll", content)
    assert info.value.line == line


GENIA_OK = "IL - 2 gene\nNN HYPH CD NN\n0,3 G#protein|0,4 G#DNA\n\nNo entities here\nDT NNS RB\n\n"


def test_genia_nested_reads_a_small_file(tmp_path: Path) -> None:
    first, second = read_copy("genia_nested", tmp_path, "ok.data", GENIA_OK)
    assert entities(first) == [("IL - 2 gene", "DNA"), ("IL - 2", "protein")]
    assert second.gold.entities == ()


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (GENIA_OK.replace("0,4 G#DNA", "0,9 G#DNA"), 3, "outside the 4 tokens"),
        (GENIA_OK.replace("0,4 G#DNA", "0-4 G#DNA"), 3, "bad entity"),
        (GENIA_OK.replace("G#DNA", "G#gene"), 3, "not in the registry"),
        (GENIA_OK.replace("G#DNA\n\n", "G#DNA\nextra\n"), 4, "expected a blank line"),
        (GENIA_OK.replace("DT NNS RB\n\n", "\n\n"), 6, "expected the POS line"),
    ],
)
def test_genia_nested_malformed(tmp_path: Path, content: str, line: int, reason: str) -> None:
    with pytest.raises(DataError, match=reason) as info:
        read_copy("genia_nested", tmp_path, "bad.data", content)
    assert info.value.line == line


def test_bio_columns_tag_first_unknown_label(tmp_path: Path) -> None:
    content = "O\tcheap\nB-Dish\tpizza\n\nO\tany\nB-Drink\tbeer\n"
    with pytest.raises(DataError, match="'Drink' is not in the registry") as info:
        read_copy("mit_restaurant", tmp_path, "bad.bio", content)
    assert info.value.line == 4
