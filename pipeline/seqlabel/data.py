"""Sequence-labelling data: registry records → IOB2 word tags → first-sub-token training examples.

Records carry whitespace ``tokens`` and entities with character offsets into ``" ".join(tokens)``;
each entity becomes ``B-type I-type ...`` over the words it covers. An entity whose offsets do not fall
on word boundaries, or that overlaps a longer or earlier one (IOB2 cannot nest), is dropped and
counted, as the paper dropped the aspect terms it could not match; on the registry's CoNLL-2003 and
SemEval-2014 files none is dropped. Labels are the registry's readable names (``B-person``, ``I-noun phrase``).

Each sentence is tokenised as one text with a leading space (the paper enforces the prefix space), and
the label of a word sits on its first sub-token; the other sub-tokens are ignored by the loss (-100).
Words cut off by ``max_length`` get no position; at prediction time they are ``O``, so the scores
always compare full gold sentences.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpora.registry import DatasetSpec
from pipeline.records import Record

IGNORE = -100
DATA_SEED = 0
"""Subsets and carved-out dev splits use this fixed seed, so every configuration and training seed
sees the same sentences."""


@dataclass(frozen=True)
class Sentence:
    id: str
    words: tuple[str, ...]
    tags: tuple[str, ...]
    dropped: int = 0
    """Entities of the record that IOB2 could not express."""


def tag_names(labels: Sequence[str]) -> list[str]:
    """``O`` then ``B-x, I-x`` for every label, in schema order: the classifier's output classes."""
    return ["O", *(f"{prefix}-{label}" for label in labels for prefix in "BI")]


def iob2(record: Record) -> tuple[tuple[str, ...], int]:
    """The IOB2 tags of a record's words and how many of its entities could not be tagged."""
    starts, ends, pos = {}, {}, 0
    for i, word in enumerate(record.tokens):
        starts[pos], ends[pos + len(word)] = i, i
        pos += len(word) + 1
    tags = ["O"] * len(record.tokens)
    dropped = 0
    for entity in sorted(record.gold.entities, key=lambda e: (e.start or 0, -(e.end or 0))):
        first, last = starts.get(entity.start), ends.get(entity.end)
        if first is None or last is None or last < first or any(t != "O" for t in tags[first : last + 1]):
            dropped += 1
            continue
        tags[first] = f"B-{entity.type}"
        tags[first + 1 : last + 1] = [f"I-{entity.type}"] * (last - first)
    return tuple(tags), dropped


def sentences(records: Iterable[Record]) -> list[Sentence]:
    out = []
    for record in records:
        if record.tokens:
            tags, dropped = iob2(record)
            out.append(Sentence(record.id, record.tokens, tags, dropped))
    return out


def subset(items: list, limit: int) -> list:
    """A fixed random subset of ``limit`` items in their original order (all of them when ``limit`` is 0)."""
    if not limit or limit >= len(items):
        return items
    keep = sorted(random.Random(DATA_SEED).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def load_splits(spec: DatasetSpec, data_root: Path, dev_fraction: float, max_train: int, max_eval: int
                ) -> dict[str, list[Sentence]]:
    """``train``, ``dev`` and ``test`` sentences; a dataset without a dev split gets ``dev_fraction`` of
    its training sentences (a fixed random sample), as the paper did for SemEval-2014."""
    for needed in ("train", "test"):
        if needed not in spec.splits:
            raise ValueError(f"{spec.name} has no {needed!r} split; sequence labelling needs train and test")
    train = sentences(spec.read("train", data_root))
    if "dev" in spec.splits:
        dev = sentences(spec.read("dev", data_root))
    else:
        dev = subset(train, max(1, round(dev_fraction * len(train))))
        dev_ids = {s.id for s in dev}
        train = [s for s in train if s.id not in dev_ids]
    test = sentences(spec.read("test", data_root))
    for split, items in (("train", train), ("dev", dev), ("test", test)):
        if not items:
            raise ValueError(f"{spec.name} has no tokenised sentences in {split}: sequence labelling needs "
                             "records with whitespace tokens and entity offsets (e.g. conll2003)")
    return {"train": subset(train, max_train), "dev": subset(dev, max_eval), "test": subset(test, max_eval)}


def split_stats(items: Sequence[Sentence]) -> dict[str, int]:
    return {
        "sentences": len(items),
        "entities": sum(tag.startswith("B-") for s in items for tag in s.tags),
        "dropped_entities": sum(s.dropped for s in items),
    }


@dataclass(frozen=True)
class Example:
    """One tokenised sentence: ids, the position of each word's first sub-token, and their label ids."""

    input_ids: tuple[int, ...]
    first: tuple[int, ...]
    labels: tuple[int, ...]


def encode(items: Sequence[Sentence], tokenizer, tag_ids: dict[str, int], max_length: int) -> list[Example]:
    """Tokenise sentences (one fast-tokenizer batch call) and locate each word's first sub-token."""
    texts = [" " + " ".join(s.words) for s in items]
    batch = tokenizer(texts, add_special_tokens=True, return_offsets_mapping=True, truncation=True,
                      max_length=max_length)
    examples = []
    for sentence, ids, offsets in zip(items, batch["input_ids"], batch["offset_mapping"]):
        first, labels, token, pos = [], [], 0, 1
        for word, tag in zip(sentence.words, sentence.tags):
            # the first token whose character span covers the word's first character
            while token < len(offsets) and (offsets[token][1] <= pos or offsets[token][0] == offsets[token][1]):
                token += 1
            if token == len(offsets):
                break  # truncated: this word and the following ones have no position
            first.append(token)
            labels.append(tag_ids[tag])
            pos += len(word) + 1
        examples.append(Example(tuple(ids), tuple(first), tuple(labels)))
    return examples


@dataclass(frozen=True)
class Prepared:
    """Everything a unit trains and scores on; shared by all units of a run."""

    tags: tuple[str, ...]
    splits: dict[str, list[Sentence]]
    encoded: dict[str, list[Example]]
    pad_id: int


def prepare(spec: DatasetSpec, data_root: Path, tokenizer, *, dev_fraction: float, max_train: int, max_eval: int,
            max_length: int) -> Prepared:
    tags = tuple(tag_names(spec.label_set.labels))
    splits = load_splits(spec, data_root, dev_fraction, max_train, max_eval)
    unknown = {t for items in splits.values() for s in items for t in s.tags} - set(tags)
    if unknown:
        raise ValueError(f"{spec.name}: tags outside its label set: {', '.join(sorted(unknown))}")
    tag_ids = {t: i for i, t in enumerate(tags)}
    encoded = {split: encode(items, tokenizer, tag_ids, max_length) for split, items in splits.items()}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return Prepared(tags, splits, encoded, pad_id)
