"""Render/parse round trips on generated records (hypothesis) and parser robustness on junk text."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.records import (
    Annotations,
    Argument,
    Entity,
    Event,
    EventRelation,
    LabelSet,
    OpenTuple,
    Record,
    Relation,
    Table,
    Task,
)
from pipeline.tasks import PLUGINS, plugin

# Values may be any text; labels are readable names (letters, digits, spaces, a few marks).
VALUE = st.text(min_size=1, max_size=25).filter(lambda s: s.strip() and "[Answer]:" not in s)
LABEL = st.from_regex(r"[a-z][a-z0-9 _\-]{0,14}[a-z0-9]", fullmatch=True)
WORD = st.text(st.characters(blacklist_categories=("Z", "Cc", "Cs")), min_size=1, max_size=8)


def _record(task: Task, labels: list[str], **fields) -> Record:
    given = fields.pop("given", Annotations())
    return Record(
        id="gen/0",
        dataset="gen",
        task=task,
        text=fields.pop("text", "generated text"),
        label_set=LabelSet(labels=tuple(labels)),
        given=given,
        gold=Annotations(**fields),
        **({"tokens": fields.pop("tokens")} if "tokens" in fields else {}),
    )


@st.composite
def records(draw, task: Task) -> Record:
    labels = draw(st.lists(LABEL, min_size=1, max_size=5, unique=True))
    label = st.sampled_from(labels)
    n = st.integers(0, 4)
    if task is Task.NER:
        ents = [Entity(text=draw(VALUE), type=draw(label)) for _ in range(draw(n))]
        return _record(task, labels, entities=tuple(ents))
    if task in (Task.RC, Task.RE):
        rels = [Relation(head=draw(VALUE), type=draw(label), tail=draw(VALUE)) for _ in range(draw(n))]
        return _record(task, labels, relations=tuple(rels))
    if task is Task.ERE:
        rels = [EventRelation(head=draw(VALUE), type=draw(label), tail=draw(VALUE)) for _ in range(draw(n))]
        return _record(task, labels, event_relations=tuple(rels))
    if task is Task.ED:
        return _record(task, labels, events=tuple(Event(trigger=draw(VALUE), type=draw(label)) for _ in range(draw(n))))
    if task is Task.EAE:
        args = tuple(Argument(role=draw(label), text=draw(VALUE)) for _ in range(draw(n)))
        trigger, etype = draw(VALUE), draw(label)
        return _record(
            task,
            labels,
            given=Annotations(events=(Event(trigger=trigger, type=etype),)),
            events=(Event(trigger=trigger, type=etype, arguments=args),),
        )
    if task is Task.EE:
        events = tuple(
            Event(
                trigger=draw(VALUE),
                type=draw(label),
                arguments=tuple(Argument(role=draw(label), text=draw(VALUE)) for _ in range(draw(n))),
            )
            for _ in range(draw(n))
        )
        return _record(task, labels, events=events)
    if task is Task.OPENIE:
        opt = st.one_of(st.just(""), VALUE)
        tuples = tuple(
            OpenTuple(predicate=draw(VALUE), subject=draw(VALUE), object=draw(opt), time=draw(opt), location=draw(opt))
            for _ in range(draw(n))
        )
        return _record(task, labels, tuples=tuples)
    if task is Task.ONDEMAND:
        width = draw(st.integers(1, 4))
        cell = st.one_of(st.just(""), VALUE)
        header = tuple(draw(VALUE) for _ in range(width))
        rows = tuple(tuple(draw(cell) for _ in range(width)) for _ in range(draw(n)))
        return _record(task, labels, table=Table(header=header, rows=rows))
    if task is Task.MRE:
        ents = tuple(Entity(text=draw(VALUE), type=draw(label)) for _ in range(draw(n)))
        return _record(task, labels, text_labels=(draw(label),), entities=ents)
    raise AssertionError(task)


@st.composite
def token_records(draw) -> Record:
    """Tokenised NER records with non-overlapping token-aligned entities (what BIO can express)."""
    labels = draw(st.lists(LABEL, min_size=1, max_size=4, unique=True))
    tokens = draw(st.lists(WORD, min_size=1, max_size=12))
    offsets, pos = [], 0
    for tok in tokens:
        offsets.append(pos)
        pos += len(tok) + 1
    entities, i = [], 0
    while i < len(tokens):
        if draw(st.booleans()):
            j = min(len(tokens), i + draw(st.integers(1, 3)))
            text = " ".join(tokens[i:j])
            entities.append(Entity(text=text, type=draw(st.sampled_from(labels)), start=offsets[i], end=offsets[i] + len(text)))
            i = j
        else:
            i += 1
    return Record(
        id="gen/0", dataset="gen", task=Task.NER, text=" ".join(tokens), tokens=tuple(tokens),
        label_set=LabelSet(labels=tuple(labels)), gold=Annotations(entities=tuple(entities)),
    )


def assert_round_trip(record: Record, kind: str, symbols: bool) -> None:
    p = plugin(record.task)
    labels = p.label_map(record) if symbols else None
    for fmt in p.formats[kind]:
        text = p.render(fmt, record, labels)
        back = p.parse(fmt, text, record, labels)
        assert p.keys(back) == p.keys(p.answer(record)), (fmt.id, text)


CASES = [(task, kind) for task, p in PLUGINS.items() for kind in p.formats if kind != "bio"]


@pytest.mark.parametrize(("task", "kind"), CASES, ids=[f"{t.value}-{k}" for t, k in CASES])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), symbols=st.booleans())
def test_round_trip_generated(task, kind, data, symbols):
    assert_round_trip(data.draw(records(task)), kind, symbols)


@settings(max_examples=300, deadline=None)
@given(record=token_records(), symbols=st.booleans())
def test_bio_round_trip_generated(record, symbols):
    assert plugin(Task.NER).supports("bio", record)
    assert_round_trip(record, "bio", symbols)


# ---- parsers never raise ------------------------------------------------------------------------
STRUCTURAL = list("()[]{};:,.|\\\"'/\n\t -") + ["[Answer]:", "NA", "O", "B-", "I-", "LABEL_1", "is a", '"', "null"]


def _junk(rng: random.Random) -> str:
    alphabet = STRUCTURAL + list("abcXYZ019é中") + [" is a ", "; ", "): ", "| --- |"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))


def _mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, rng.choice(STRUCTURAL))
        else:
            chars = chars[:pos]  # truncated output, as when generation hits its token limit
    return "".join(chars)


def _sample(task: Task) -> Record:
    """A fixed record per task whose rendering seeds the mutations."""
    two = ["person", "location"]
    if task is Task.NER:
        text = "Ada Lovelace lived in London ."
        return Record(
            id="s/0", dataset="s", task=task, text=text, tokens=tuple(text.split()),
            label_set=LabelSet(labels=tuple(two)),
            gold=Annotations(entities=(Entity(text="Ada Lovelace", type="person", start=0, end=12),
                                       Entity(text="London", type="location", start=22, end=28))),
        )
    ev = Event(trigger="attacked", type="attack", arguments=(Argument(role="target", text="the city (north)"),))
    gold = {
        Task.RC: {"relations": (Relation(head="Ada", type="lived in", tail="London; UK"),)},
        Task.RE: {"relations": (Relation(head="Ada", type="lived in", tail="London"),) * 2},
        Task.ERE: {"event_relations": (EventRelation(head="left", type="before", tail="arrived"),)},
        Task.ED: {"events": (Event(trigger="attacked", type="attack"),)},
        Task.EAE: {"events": (ev,)},
        Task.EE: {"events": (ev, ev)},
        Task.OPENIE: {"tuples": (OpenTuple(predicate="lived in", subject="Ada", object="London", time="1840"),)},
        Task.ONDEMAND: {"table": Table(header=("name", "city"), rows=(("Ada", "London"),))},
        Task.MRE: {"text_labels": ("history",), "entities": (Entity(text="Ada", type="person"),)},
    }[task]
    given = Annotations(events=(Event(trigger="attacked", type="attack"),)) if task is Task.EAE else Annotations()
    labels = LabelSet(labels=("lived in", "before", "attack", "person", "history"), roles={"attack": ("target",)})
    return Record(id="s/0", dataset="s", task=task, text="t", label_set=labels, given=given, gold=Annotations(**gold))


SAMPLES = {task: _sample(task) for task in PLUGINS}

# 10,000 strings for the first format of every task x kind (one parser each), 1,000 for every other
# template of that kind, which shares its parser code.
PARSERS = [
    (task, fmt, 10_000 if i == 0 else 1_000)
    for task, p in PLUGINS.items()
    for fmts in p.formats.values()
    for i, fmt in enumerate(fmts)
]


@pytest.mark.parametrize(("task", "fmt", "count"), PARSERS, ids=[f.id for _, f, _ in PARSERS])
def test_parsers_never_raise(task, fmt, count):
    p = plugin(task)
    rng = random.Random(f"fuzz-{fmt.id}")
    example = SAMPLES[task]
    rendered = p.render(fmt, example, None)
    labels = p.label_map(example)
    started = time.perf_counter()
    for i in range(count):
        text = _junk(rng) if i % 2 else _mutate(rng, rendered)
        for lm in (None, labels):
            assert isinstance(fmt.parse_items(text, lm), list)
            assert isinstance(p.parse(fmt, text, example, lm), Annotations)
    assert time.perf_counter() - started < 60


TEMPLATES = [(task, fmt) for task, p in PLUGINS.items() for fmts in p.formats.values() for fmt in fmts
             if type(fmt).__name__ == "TemplateFormat"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("task", "fmt"), TEMPLATES, ids=[f.id for _, f in TEMPLATES])
def test_a_truncated_looping_answer_parses_at_once(task, fmt):
    """A model that loops until max_new_tokens leaves an item that never closes (seen on CaRB: "(The
    company; Simpson; Simpson; ..."). With no item end in sight the regex once tried every split of
    the fields before failing: 2 s at 45 repeats, hours at 300. Now nothing past the last possible
    item end is searched, and the complete items before the loop are still read."""
    p = plugin(task)
    complete = p.render(fmt, SAMPLES[task], None)
    loop = "(" + fmt.separator.join(["Simpson; Simpson"] * 150)
    items = fmt.parse_items(complete + fmt.separator + loop)
    assert items[: len(fmt.parse_items(complete))] == fmt.parse_items(complete)
