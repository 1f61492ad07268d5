"""FewRel JSON (thunlp/FewRel ``val_wiki.json``, ``val_nyt.json``, ``val_pubmed.json``) for relation
classification.

A file is one JSON object ``{relation: [instance, ...]}``; an instance is
``{"tokens": [...], "h": [name, id, [[token positions], ...]], "t": [...]}``. Each instance becomes one
record: ``given.entities`` holds the (head, tail) pair with offsets and ``gold.relations`` the single
relation between them. Decisions:

- The entity text is the surface of its *first* mention in the tokens (``name`` is lowercased and
  sometimes differs); later mentions of the same entity are not kept. Entities have no type (``""``):
  FewRel does not annotate any, and the (head, tail) order carries the roles.
- A few ``val_wiki`` tokens are pure whitespace (``"\\xa0"``, ``"\\n"``); they are dropped so that the
  space-joined text stays clean (no entity mention contains one).
- ``options.head: t`` reverses the pair. FewRel 2.0's PubMed file stores its UMLS relations with the
  subject in ``t`` (``ingredient_of``: h = "fluoxetine 20 mg", t = "fluoxetine"), so without the swap
  every relation name would read backwards.

The whole file is a single line, so every error is located at the line of its relation's key.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from corpora.base import adapter, located, read_json_object
from corpora.registry import DatasetSpec
from corpora.text import entities_from_tokens
from pipeline.records import Annotations, Record, Relation


def _first_mention(entity: list, keep: dict[int, int]) -> tuple[int, int, str]:
    """Token span ``(start, end, "")`` of an entity's first mention, in the kept-token numbering."""
    _name, _id, mentions = entity
    positions = mentions[0]
    if not positions or positions != list(range(positions[0], positions[-1] + 1)):
        raise ValueError(f"mention positions {positions} are not a contiguous token range")
    if any(p not in keep for p in positions):
        raise ValueError(f"mention positions {positions} fall outside the tokens or on whitespace")
    return keep[positions[0]], keep[positions[-1]] + 1, ""


@adapter("fewrel")
def read_fewrel(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Record]:
    head_key, tail_key = ("t", "h") if spec.options.get("head", "h") == "t" else ("h", "t")
    label_set = spec.label_set
    index = 0
    for path in paths:
        for line, raw_relation, instances in read_json_object(path):
            with located(path, line):
                relation = spec.readable(raw_relation)
                for instance in instances:
                    keep: dict[int, int] = {}  # source token position -> position among kept tokens
                    tokens: list[str] = []
                    for position, token in enumerate(instance["tokens"]):
                        if token.strip():
                            keep[position] = len(tokens)
                            tokens.append(token)
                    spans = [_first_mention(instance[key], keep) for key in (head_key, tail_key)]
                    text, (head, tail) = entities_from_tokens(tokens, spans, str)
                    yield Record(
                        id=f"{spec.name}/{split}/{index}",
                        dataset=spec.name,
                        task=spec.task,
                        text=text,
                        tokens=tuple(tokens),
                        label_set=label_set,
                        given=Annotations(entities=(head, tail)),
                        gold=Annotations(relations=(Relation(head=head.text, type=relation, tail=tail.text),)),
                    )
                    index += 1
