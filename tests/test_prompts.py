"""The prompt data of IEInstruct (paper §3.2, Tables 5, 7 and 9): hand-written task descriptions and the
output formats every task offers.

The round trips of every format on generated and real records live in test_formats_properties.py and
test_formats_real.py; here are the checks those cannot make: counts and variety, that a format's
description asks for exactly the answer the format renders, that the evaluation formats stay the
paper's, and that values built to collide with a template's own punctuation still come back.
"""

from __future__ import annotations

import re
from itertools import islice

import pytest
import yaml

from corpora.registry import registry
from pipeline.formats import OutputFormat, TemplateFormat
from pipeline.records import Annotations, Event, LabelSet, Record, Task
from pipeline.tasks import PLUGINS, plugin
from pipeline.tasks.base import ANSWER_MARK, PROMPTS_DIR

TASKS = [t for t in Task if t in PLUGINS]

# -- task descriptions ----------------------------------------------------------------------------


def _descriptions(task: Task) -> dict:
    return yaml.safe_load((PROMPTS_DIR / "descriptions" / f"{task.value}.yaml").read_text())


@pytest.mark.parametrize("task", TASKS, ids=[t.value for t in TASKS])
def test_descriptions_are_many_varied_and_free_of_placeholders(task):
    data = _descriptions(task)
    assert data["task"] == task.value
    written = data["hand_written"]
    assert len(set(written)) == len(written) >= 12
    for d in written:
        assert d == d.strip() and d[-1] in ".?", d
        # The builder appends the input block and the format: a description names neither.
        assert "{" not in d and "}" not in d, d
        assert ANSWER_MARK not in d and '"' not in d, d
    # Varied sentence types and verbs (paper §3.2): questions as well as requests, many openings.
    assert any(d.endswith("?") for d in written)
    assert len({d.split()[0].lower() for d in written}) >= 8


# -- output formats -------------------------------------------------------------------------------

# Paper §3.2 asks for several formats of each kind; BIO, the MRE mix and tables are single shapes.
MIN_FORMATS = {"triplet": 5, "json": 5, "nl": 5, "bio": 1, "mre": 2, "table": 2}
EXPECTED_KINDS = {
    Task.NER: {"triplet", "json", "nl", "bio"},
    Task.ONDEMAND: {"table"},
    Task.MRE: {"mre"},
}

# The evaluation formats: the paper's Table 9 sentences where it has one (RE and EE are not held out
# there, so their first triplet format serves), and the first format of every kind as it was.
TABLE9 = {
    Task.NER: 'Please give the answer in the form "[Answer]: {entity}; {type}; ".',
    Task.RC: 'Please give the answer in the tuple form "[Answer]: ({subject}; {relation}; {object}); ".',
    Task.ED: 'Please give the answer in the form "[Answer]: {event}; {class}; ".',
    Task.EAE: 'Please give the answer in the form "[Answer]: {word}; {role}; ".',
    Task.ERE: 'Please give the answer in the tuple form "[Answer]: ({first event}; {relation}; {second event}); ".',
    Task.OPENIE: 'Please give the answer in the tuple form "[Answer]: ({predicate}; {subject}; {object}; {time}; '
    '{location})". If one or more of the last three elements does not exist, it can be omitted.',
}
FIRST_IDS = {
    Task.NER: {"triplet": "ner-triplet-table9", "json": "ner-json-list", "nl": "ner-nl-is-a", "bio": "ner-bio-gner"},
    Task.RC: {"triplet": "rc-triplet-table9", "json": "rc-json-list", "nl": "rc-nl-between"},
    Task.RE: {"triplet": "re-triplet-table9", "json": "re-json-list", "nl": "re-nl-between"},
    Task.ED: {"triplet": "ed-triplet-table9", "json": "ed-json-list", "nl": "ed-nl-triggers"},
    Task.EAE: {"triplet": "eae-triplet-table9", "json": "eae-json-list", "nl": "eae-nl-role"},
    Task.EE: {"triplet": "ee-triplet-nested", "json": "ee-json-list", "nl": "ee-nl-sentence"},
    Task.ERE: {"triplet": "ere-triplet-table9", "json": "ere-json-list", "nl": "ere-nl-sentence"},
    Task.OPENIE: {"triplet": "openie-triplet-table9", "json": "openie-json-list", "nl": "openie-nl-connection"},
    Task.ONDEMAND: {"table": "ondemand-markdown"},
    Task.MRE: {"mre": "mre-mix"},
}
EVAL_IDS = {task: ids.get("triplet") or next(iter(ids.values())) for task, ids in FIRST_IDS.items()}

ALL_FORMATS = [(task, kind, fmt) for task in TASKS for kind, fmts in plugin(task).formats.items() for fmt in fmts]


@pytest.mark.parametrize("task", TASKS, ids=[t.value for t in TASKS])
def test_every_kind_has_enough_formats(task):
    formats = plugin(task).formats
    assert set(formats) == EXPECTED_KINDS.get(task, {"triplet", "json", "nl"})
    for kind, fmts in formats.items():
        assert len(fmts) >= MIN_FORMATS[kind], (task, kind, len(fmts))


def test_format_ids_are_unique_across_files():
    ids = []
    for path in sorted((PROMPTS_DIR / "formats").glob("*.yaml")):
        for entries in yaml.safe_load(path.read_text())["formats"].values():
            ids += [entry["id"] for entry in entries]
    assert all(ids) and len(ids) == len(set(ids)) > 0, sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize(("task", "kind", "fmt"), ALL_FORMATS, ids=[f.id for _, _, f in ALL_FORMATS])
def test_description_asks_for_the_answer_the_format_gives(task, kind, fmt: OutputFormat):
    assert ANSWER_MARK in fmt.description, fmt.id
    assert fmt.none in fmt.description, (fmt.id, fmt.none)
    if kind != "table":  # a table's "none" is an empty table, read back as its (empty) header
        assert fmt.parse_items(fmt.none) == []
        assert plugin(task).items(plugin(task).parse(fmt, f"{ANSWER_MARK} {fmt.none}", _empty(task))) == []


def _empty(task: Task) -> Record:
    given = Annotations(events=(Event(trigger="t", type="x"),)) if task is Task.EAE else Annotations()
    return Record(id="e/0", dataset="e", task=task, text="t", label_set=LabelSet(labels=("x",)), given=given)


@pytest.mark.parametrize("task", TASKS, ids=[t.value for t in TASKS])
def test_evaluation_formats_are_unchanged(task):
    p = plugin(task)
    pointer = yaml.safe_load((PROMPTS_DIR / "formats" / f"{task.value}.yaml").read_text())["eval"]
    assert pointer["index"] == 0 and p.eval_format.id == EVAL_IDS[task]
    assert {kind: fmts[0].id for kind, fmts in p.formats.items()} == FIRST_IDS[task]
    if task in TABLE9:  # the paper's sentence, then the "none" answer it left to the task description
        assert p.eval_format.description.startswith(TABLE9[task])
        assert p.eval_format.none == "NA"


# -- adversarial values ---------------------------------------------------------------------------

# Engine defect (reported, not fixed here): a value that ends with the start of its stop string, when
# that stop string begins and ends with the same text (" is a " begins and ends with a space), is cut
# early: "x is a" + " is a " + "t." reads back as ("x", "is a t"). Formats whose stops have that shape
# fail until pipeline/formats/template.py escapes such overlaps; the mark is strict, so the fix makes
# this test fail until the mark is removed.

TEMPLATES = [(task, kind, fmt) for task, kind, fmt in ALL_FORMATS if isinstance(fmt, TemplateFormat)]


def _hazards(fmt: TemplateFormat) -> set[str]:
    """Every literal of the template (and of its nested formats), alone and followed by a separator."""
    literals = {t for t in re.split(r"\{\w+\}|[\[\]]", fmt.template) if t} | {fmt.separator}
    found = literals | {t + fmt.separator for t in literals}
    for sub in fmt.nested.values():
        found |= {h + s for h in _hazards(sub) for s in ("", *found)}
    return {h for h in found if h.strip()}


def _collisions(fmt: TemplateFormat) -> list[str]:
    """Values that contain a hazard, start with its end or end with its start."""
    values = set()
    for h in _hazards(fmt):
        values |= {f"v{h}w", f"v\\{h}"}
        values |= {f"v{h[:m]}" for m in range(1, len(h))} | {f"{h[m:]}w" for m in range(1, len(h))}
    return sorted(v for v in {v.strip() for v in values} if v)


def _item(fields, fill: str, empty_optional: bool, at: tuple[str, ...] = (), value: str = "") -> dict:
    item = {}
    for f in fields:
        if f.items:
            sub_at = at[1:] if at and at[0] == f.name else ()
            item[f.name] = [_item(f.items, fill, False, sub_at, value), _item(f.items, fill + "2", False)]
        elif at == (f.name,):
            item[f.name] = value
        else:
            item[f.name] = "" if empty_optional and not f.required else f"{fill}{f.name[0]}"
    return item


def _paths(fields) -> list[tuple[str, ...]]:
    return [(f.name, *sub) for f in fields for sub in (_paths(f.items) if f.items else [()])]


@pytest.mark.parametrize(("task", "kind", "fmt"), TEMPLATES, ids=[fmt.id for _, _, fmt in TEMPLATES])
def test_values_colliding_with_the_template_come_back(task, kind, fmt: TemplateFormat):
    fields = plugin(task).fields_for(kind)
    failures = []
    for path in _paths(fields):
        for value in _collisions(fmt):
            for empty_optional in (False, True):
                items = [_item(fields, "a", empty_optional, path, value), _item(fields, "b", empty_optional)]
                text = fmt.render_items(items)
                if fmt.parse_items(text) != items:
                    failures.append((path, value, text))
    assert not failures, failures[:5]


# -- real data ------------------------------------------------------------------------------------

# A value containing a template's stop text is written with a backslash; on real data that should be
# rare, or the corpus teaches the model backslashes. Allowed share of escaped answers per dataset:
ESCAPE_LIMIT = 0.05
REAL = [s for s in registry().values() if s.task in PLUGINS]


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


@pytest.mark.parametrize("spec", REAL, ids=[s.name for s in REAL])
def test_real_answers_rarely_need_escapes(spec):
    p = plugin(spec.task)
    records = list(islice(spec.read(next(iter(spec.splits))), 200))
    escaped: dict[str, int] = {}
    for record in records:
        if any("\\" in s for s in _strings(p.items(record.gold))):
            continue
        for kind, fmts in p.formats.items():
            if kind in ("json", "bio", "table") or not p.supports(kind, record):
                continue
            for fmt in fmts:
                escaped[fmt.id] = escaped.get(fmt.id, 0) + ("\\" in p.render(fmt, record))
    too_many = {i: n for i, n in escaped.items() if n > ESCAPE_LIMIT * len(records)}
    assert not too_many, too_many


def test_prompt_files_cover_every_task():
    assert {p.stem for p in (PROMPTS_DIR / "descriptions").glob("*.yaml")} == {t.value for t in TASKS}
    assert {p.stem for p in (PROMPTS_DIR / "formats").glob("*.yaml")} == {t.value for t in TASKS}
