"""``adelie translate``: an MRE mix dataset into another language (the MMM translation framework, seed 001 §3.1).

1. Labels are translated by rule, from the recipe's table ``labels: {SOURCE: TARGET}`` (text-level
   and word-level labels alike); a label missing from the table is an error naming file and line.
2. The text and the entities go to the LLM with the translated labels as help and a one-shot example
   (``prompts/llm/translate.yaml``); it answers ``{"text": ..., "entities": [...]}``.
3. Filters drop a sample when the answer is not that JSON shape with one non-empty string per
   entity (``format``: the label-entity pairing must be intact), when the translation still holds
   characters of a source script (``residual_script``; ``residual_scripts`` names them: kana, han,
   hangul, ...), or when a translated entity does not occur verbatim in the translated text
   (``entity_not_in_text``). The MRE mix answer format escapes its separators, so any kept pair
   renders and parses back.

Input: ``source``, a JSON-lines file of :class:`~pipeline.records.Record` with task ``mre`` (text,
``gold.text_labels``, ``gold.entities``, ``instruction`` = the task word). Output, in the output
folder (default ``runs/translate``):

- ``records.jsonl``: the kept samples as MRE records in the target language (``dataset`` is
  ``name``; ids are the source ids), in source order;
- ``dropped.jsonl``: ``{"id", "reason", "answer"}`` per dropped sample, for the manual review the
  paper ends with;
- ``store.jsonl``, ``manifest.json`` (with the filter counts), ``.done``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.artifacts import atomic_write_text, hash_file
from pipeline.cli import Stage
from pipeline.config import help_field
from pipeline.llm.config import LLMConfig, add_arguments
from pipeline.llm.engine import Engine, LLMRequest
from pipeline.llm.stage import PROMPTS_DIR, dry_run, finish, incomplete, run_stage, template, usage
from pipeline.records import Annotations, Entity, LabelSet, Record, Task

SCRIPTS = {  # Unicode ranges of scripts whose leftovers mark an unfinished translation
    "kana": "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "hangul": "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af",
    "cyrillic": "\u0400-\u04ff",
    "arabic": "\u0600-\u06ff",
    "thai": "\u0e00-\u0e7f",
}
REASONS = ("format", "residual_script", "entity_not_in_text")


@dataclass
class TranslateConfig(LLMConfig):
    seed: int = help_field(0, "Unused by this stage (requests are deterministic); shared by the recipe.")
    data_root: str | None = help_field(None, "Unused by this stage; shared by the recipe.")
    output: str | None = help_field(None, "Output folder (default runs/translate); holds the store to resume from.")
    source: str | None = help_field(None, "JSON-lines file of MRE mix records in the source language (required).")
    source_language: str = help_field("Japanese", "Language of the source records, as named in the prompt.")
    target_language: str = help_field("English", "Language to translate into, as named in the prompt.")
    labels: dict = help_field({}, "Rule-based label translation: {source label: target label}, text and word level.")
    residual_scripts: list[str] = help_field(["kana", "han"], f"Scripts that must not remain: {', '.join(SCRIPTS)}.")
    name: str = help_field("", "Dataset name of the output records (default: <source dataset>_<target language>).")
    one_shot: dict = help_field({}, "A one-shot example replacing the template's (same keys as in translate.yaml).")
    max_tokens: int = help_field(1024, "Output token cap per request.")


@dataclass(frozen=True)
class Sample:
    """A source record with its labels translated, and its request."""

    record: Record
    text_labels: tuple[str, ...]
    entity_labels: tuple[str, ...]
    request: LLMRequest


# -- core ------------------------------------------------------------------------------------------
def read_source(path: Path) -> list[tuple[int, Record]]:
    """The source records with their line numbers."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = Record.from_json(line)
            except ValidationError as exc:
                raise ValueError(f"{path}:{number}: not a record ({exc.errors()[0]['msg']})") from None
            if record.task is not Task.MRE:
                raise ValueError(f"{path}:{number}: task {record.task.value!r}, expected mre")
            records.append((number, record))
    return records


def translate_label(label: str, table: dict[str, str], where: str) -> str:
    try:
        return table[label]
    except KeyError:
        raise ValueError(f"{where}: label {label!r} has no translation in translate.labels") from None


def sample_input(text: str, text_labels: tuple[str, ...], pairs: list[tuple[str, str]]) -> str:
    return json.dumps({"text_labels": list(text_labels), "text": text,
                       "entities": [{"label": label, "entity": entity} for label, entity in pairs]}, ensure_ascii=False)


def samples(config: TranslateConfig, records: list[tuple[int, Record]], source: Path) -> list[Sample]:
    spec = template("translate")
    shot = config.one_shot or spec["one_shot"]
    example_input = sample_input(shot["text"], tuple(shot["text_labels"]),
                                 [(e["label"], e["entity"]) for e in shot["entities"]])
    example_output = json.dumps(shot["translation"], ensure_ascii=False)
    out = []
    for number, record in records:
        where = f"{source}:{number}: record {record.id}"
        text_labels = tuple(translate_label(label, config.labels, where) for label in record.gold.text_labels)
        entity_labels = tuple(translate_label(e.type, config.labels, where) for e in record.gold.entities)
        pairs = [(label, e.text) for label, e in zip(entity_labels, record.gold.entities, strict=True)]
        content = spec["prompt"].format(source=config.source_language, target=config.target_language,
                                        example_input=example_input, example_output=example_output,
                                        input=sample_input(record.text, text_labels, pairs))
        out.append(Sample(record, text_labels, entity_labels, LLMRequest.user(content, tag=record.id)))
    return out


def residual_pattern(scripts: list[str]) -> re.Pattern | None:
    unknown = set(scripts) - set(SCRIPTS)
    if unknown:
        raise ValueError(f"unknown residual_scripts {sorted(unknown)}; known: {', '.join(SCRIPTS)}")
    return re.compile(f"[{''.join(SCRIPTS[s] for s in scripts)}]") if scripts else None


def parse_answer(answer: str, n_entities: int) -> tuple[str, list[str]] | None:
    """``(text, entities)`` from the model's JSON answer, or None when it does not have that shape."""
    start, end = answer.find("{"), answer.rfind("}")
    try:
        data = json.loads(answer[start : end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    text, entities = data.get("text"), data.get("entities")
    if not isinstance(text, str) or not text.strip() or not isinstance(entities, list):
        return None
    if len(entities) != n_entities or not all(isinstance(e, str) and e.strip() for e in entities):
        return None
    return text.strip(), [e.strip() for e in entities]


def translated(sample: Sample, answer: str, name: str, residual: re.Pattern | None) -> Record | str:
    """The translated record, or the reason (one of :data:`REASONS`) it is dropped."""
    parsed = parse_answer(answer, len(sample.entity_labels))
    if parsed is None:
        return "format"
    text, entities = parsed
    if residual is not None and any(residual.search(s) for s in (text, *entities)):
        return "residual_script"
    if any(entity not in text for entity in entities):
        return "entity_not_in_text"
    pairs = zip(entities, sample.entity_labels, strict=True)
    return Record(
        id=sample.record.id, dataset=name, task=Task.MRE, text=text, instruction=sample.record.instruction,
        gold=Annotations(text_labels=sample.text_labels, entities=tuple(Entity(text=e, type=t) for e, t in pairs)),
        label_set=LabelSet(labels=tuple(dict.fromkeys(sample.entity_labels)),
                           text_labels=tuple(dict.fromkeys(sample.text_labels))),
    )


def output_name(config: TranslateConfig, records: list[tuple[int, Record]]) -> str:
    if config.name:
        return config.name
    source = records[0][1].dataset if records else "mre"
    return f"{source}_{config.target_language.lower()}"


# -- CLI -------------------------------------------------------------------------------------------
def run(config: TranslateConfig, args: argparse.Namespace) -> int:
    return run_stage("translate", config, args, _run)


def _run(config: TranslateConfig, folder: Path) -> int:
    if not config.source:
        raise ValueError("set translate.source to a JSON-lines file of MRE records (source=PATH)")
    source = Path(config.source)
    residual = residual_pattern(config.residual_scripts)
    records = read_source(source)
    work = samples(config, records, source)
    engine = Engine(config, folder)
    requests = [s.request for s in work]
    if config.dry_run:
        return dry_run("translate", engine, requests)
    outcome = engine.run(requests, desc="translate")
    if not outcome.complete:
        return incomplete("translate", engine, outcome)
    name = output_name(config, records)
    kept: list[Record] = []
    dropped: list[dict[str, Any]] = []
    for sample in work:
        answer = outcome.results[engine.key(sample.request)]["content"]
        result = translated(sample, answer, name, residual)
        if isinstance(result, Record):
            kept.append(result)
        else:
            dropped.append({"id": sample.record.id, "reason": result, "answer": answer})
    atomic_write_text(folder / "records.jsonl", "".join(r.to_json() + "\n" for r in kept))
    atomic_write_text(folder / "dropped.jsonl", "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dropped))
    reasons = Counter(d["reason"] for d in dropped)
    inputs = {"source": hash_file(source), "prompt": hash_file(PROMPTS_DIR / "translate.yaml")}
    finish("translate", engine, config, inputs,
           {"llm": usage(engine, [outcome]), "kept": len(kept), "dropped": {r: reasons[r] for r in REASONS}})
    return 0


STAGE = Stage(
    name="translate",
    help="translate an MRE mix dataset with an LLM (MMM framework): rule-based labels, filters",
    description=__doc__,
    config=TranslateConfig,
    run=run,
    add_arguments=add_arguments,
)
