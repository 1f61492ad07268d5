"""One IEInstruct instance from one record (paper §3.2-3.3, Figure 3).

The user turn is: task description, schema description (closed IE), symbol mapping, guidelines,
output-format description, demonstrations and the input block; the assistant turn is an optional
explanation followed by ``[Answer]: `` and the answer rendered in the chosen format. Every choice is
drawn from ``rng``, which the builder seeds per record.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from corpora.registry import Guideline
from pipeline.formats import LabelMap, OutputFormat
from pipeline.instruct.config import InstructConfig
from pipeline.instruct.prompts import PromptData
from pipeline.records import Record, Task
from pipeline.tasks import plugin
from pipeline.tasks.base import ANSWER_MARK, TaskPlugin


@dataclass
class Instance:
    """A chat instance plus what happened to it (the metadata columns of the corpus)."""

    messages: list[dict[str, str]]
    record_id: str
    dataset: str
    task: str
    format_id: str
    format_kind: str
    n_types: int = 0
    n_kept: int = 0
    guidelines: bool = False
    symbols: bool = False
    n_demos: int = 0
    cot: bool = False
    cot_unavailable: bool = False  # CoT was drawn but the store has no explanation for the record
    empty_answer: bool = False
    schema: list[str] = field(default_factory=list)  # the categories the instruction lists, in its order
    symbol_map: str = ""  # JSON {label: symbol} when symbols replaced the names
    augmentations: list[str] = field(default_factory=list)
    eligible: list[str] = field(default_factory=list)  # augmentations this instance could have had


@dataclass(frozen=True)
class Choices:
    """The instruction choices shared by an instance and its demonstrations."""

    fmt: OutputFormat
    kind: str
    kept: list[str]
    labels: LabelMap | None


def compose(
    record: Record,
    demo_pool: Sequence[Record],
    cfg: InstructConfig,
    prompts: PromptData,
    guidelines: dict[str, Guideline],
    rng: random.Random,
) -> Instance:
    p = plugin(record.task)
    kind = _choose_kind(p, record, cfg, rng)
    fmt = rng.choice(p.formats[kind])
    universe = p.schema_labels(record)
    wants_cot = rng.random() < cfg.cot_rate
    explanation = prompts.explanations.get(record.id) if wants_cot else None
    # An explanation speaks of the full schema in plain names, so CoT instances keep both.
    kept = list(universe)
    rng.shuffle(kept)
    subset = explanation is None and bool(kept) and rng.random() < cfg.subset_rate
    if subset:
        kept = kept[: rng.randint(1, len(kept))]
    symbols = explanation is None and bool(kept) and rng.random() < cfg.symbol_rate
    labels = _symbols(p, record, kept) if symbols else None
    choices = Choices(fmt, kind, kept, labels)

    parts = [rng.choice(prompts.descriptions[record.task])]
    if kept:
        parts.append(_schema(p, record, choices, prompts, rng))
    if labels:
        mapping = "; ".join(f"{symbol} = {label}" for label, symbol in labels.to_symbols.items())
        parts.append(rng.choice(prompts.symbols).format(mapping=mapping))
    with_guidelines = bool(kept and guidelines) and rng.random() < cfg.guideline_rate
    if with_guidelines:
        parts.append(_guidelines(kept, guidelines, labels, prompts, rng))
    parts.append(fmt.description)
    demos = draw_demos(record, demo_pool, cfg, rng, accept=lambda d: p.supports(kind, d))
    if demos:
        shown = [f"{input_block(d, p, prompts, labels)}\n{ANSWER_MARK} {answer(d, p, choices)}" for d in demos]
        parts.append(rng.choice(prompts.demonstrations) + "\n\n" + "\n\n".join(shown))
    parts.append(input_block(record, p, prompts, labels))

    rendered = answer(record, p, choices)
    reply = f"{ANSWER_MARK} {rendered}"
    if explanation:
        reply = f"{explanation.strip()}\n{reply}"
    instance = Instance(
        messages=[{"role": "user", "content": "\n\n".join(parts)}, {"role": "assistant", "content": reply}],
        record_id=record.id,
        dataset=record.dataset,
        task=record.task.value,
        format_id=fmt.id,
        format_kind=kind,
        n_types=len(universe),
        n_kept=len(kept),
        guidelines=with_guidelines,
        symbols=symbols,
        n_demos=len(demos),
        cot=explanation is not None,
        cot_unavailable=wants_cot and explanation is None,
        empty_answer=not p.items(_restricted(record, p, choices).gold),
    )
    instance.schema = kept
    instance.symbol_map = json.dumps(labels.to_symbols, ensure_ascii=False) if labels else ""
    # Rates are measured over the instances an augmentation could apply to: a schema-free task gets no
    # subset, CoT needs an explanation (and then keeps the full schema and plain names).
    has_schema, has_explanation = bool(universe), record.id in prompts.explanations
    for name, fired, eligible in (
        ("subset", subset, has_schema and explanation is None),
        ("guidelines", with_guidelines, has_schema and bool(guidelines)),
        ("symbols", symbols, has_schema and explanation is None),
        ("demos", bool(demos), len(demo_pool) > 1),
        ("cot", instance.cot, has_explanation),
    ):
        instance.augmentations += [name] if fired else []
        instance.eligible += [name] if eligible else []
    return instance


def _choose_kind(p: TaskPlugin, record: Record, cfg: InstructConfig, rng: random.Random) -> str:
    kinds = [k for k in p.formats if p.supports(k, record)]
    weights = [cfg.format_weights.get(k, 1.0) for k in kinds]
    if not any(weights):
        weights = [1.0] * len(kinds)
    return rng.choices(kinds, weights=weights)[0]


def _symbols(p: TaskPlugin, record: Record, kept: list[str]) -> LabelMap:
    """Symbols for the kept categories first, then for any other label an answer may use (EE roles,
    MRE text labels)."""
    ls = record.label_set
    extra: list[str] = []
    if record.task is Task.EE:
        extra = [r for t in kept for r in ls.roles.get(t, ())]
    extra += list(ls.text_labels)
    return LabelMap.symbols(dict.fromkeys([*kept, *extra]))


def _schema(p: TaskPlugin, record: Record, choices: Choices, prompts: PromptData, rng: random.Random) -> str:
    phrasing = rng.choice(prompts.schema[record.task])
    labels = p.schema_text(choices.kept, record, choices.labels)
    text_labels = ", ".join(
        choices.labels.to_symbol(t) if choices.labels else t for t in record.label_set.text_labels
    )
    return phrasing.format(labels=labels, text_labels=text_labels)


def _guidelines(kept, guidelines, labels: LabelMap | None, prompts: PromptData, rng: random.Random) -> str:
    lines = [rng.choice(prompts.guidelines)]
    for label in kept:
        g = guidelines.get(label)
        if g is None:
            continue
        name = labels.to_symbol(label) if labels else label
        examples = f" (e.g. {', '.join(g.examples)})" if g.examples else ""
        lines.append(f"- {name}: {g.definition}{examples}")
    return "\n".join(lines)


def draw_demos(record: Record, pool: Sequence[Record], cfg: InstructConfig, rng: random.Random, accept) -> list[Record]:
    """1..8 other records of the same dataset that the chosen format can express, in random order.

    A few spare candidates are drawn (the record itself, or one BIO cannot express, is skipped)
    rather than filtering the whole pool for every instance.
    """
    if rng.random() >= cfg.demo_rate:
        return []
    wanted = rng.randint(cfg.min_demos, cfg.max_demos)
    candidates = rng.sample(pool, min(len(pool), 2 * wanted + 1))
    return [d for d in candidates if d.id != record.id and accept(d)][:wanted]


def input_block(record: Record, p: TaskPlugin, prompts: PromptData, labels: LabelMap | None) -> str:
    return prompts.input[record.task].format(text=record.text, **p.given_fields(record, labels))


def _restricted(record: Record, p: TaskPlugin, choices: Choices) -> Record:
    if set(choices.kept) >= set(p.schema_labels(record)):
        return record
    return record.model_copy(update={"gold": p.restrict(record.gold, set(choices.kept), record)})


def answer(record: Record, p: TaskPlugin, choices: Choices) -> str:
    """The record's answer under the instance's choices (kept types, symbols, format)."""
    return p.render(choices.fmt, _restricted(record, p, choices), choices.labels)


def eval_prompt(record: Record, demos: Sequence[Record], prompts: PromptData) -> tuple[str, OutputFormat]:
    """The evaluation prompt (paper §4, Table 9): the first hand-written description, the full schema
    in its first phrasing, the task's single evaluation format, ``demos`` and the input block."""
    p = plugin(record.task)
    fmt = p.eval_format
    kept = p.schema_labels(record)
    choices = Choices(fmt, "eval", kept, None)
    parts = [prompts.descriptions[record.task][0]]
    if kept:
        phrasing = prompts.schema[record.task][0]
        parts.append(phrasing.format(labels=p.schema_text(kept, record, None), text_labels=", ".join(record.label_set.text_labels)))
    parts.append(fmt.description)
    if demos:
        shown = [f"{input_block(d, p, prompts, None)}\n{ANSWER_MARK} {answer(d, p, choices)}" for d in demos]
        parts.append(prompts.demonstrations[0] + "\n\n" + "\n\n".join(shown))
    parts.append(input_block(record, p, prompts, None))
    return "\n\n".join(parts), fmt
