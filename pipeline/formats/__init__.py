"""Answer formats: how extracted items become answer text and how any text is read back.

Format kinds: ``triplet`` and ``nl`` (templates), ``json``, ``bio`` (GNER token-by-token),
``mre`` (MRE mix, a template with nested lists) and ``table`` (Markdown, on-demand IE). Concrete
formats are data in ``prompts/formats/<task>.yaml``; :func:`build_format` makes one from its entry.
"""

from __future__ import annotations

from typing import Any

from pipeline.formats.base import Field, Item, LabelMap, OutputFormat, canonical_value
from pipeline.formats.bio import BioFormat
from pipeline.formats.json_format import JsonFormat
from pipeline.formats.table import MarkdownTableFormat
from pipeline.formats.template import TemplateFormat

KINDS = ("triplet", "json", "nl", "bio", "mre", "table")

__all__ = [
    "Field", "Item", "LabelMap", "OutputFormat", "canonical_value", "build_format", "KINDS",
    "BioFormat", "JsonFormat", "MarkdownTableFormat", "TemplateFormat",
]


def build_format(kind: str, entry: dict[str, Any], fields: tuple[Field, ...]) -> OutputFormat:
    """A format of ``kind`` over ``fields`` from its YAML entry (unknown keys are an error)."""
    entry = dict(entry)
    common = {k: entry.pop(k) for k in ("id", "none", "description") if k in entry}
    if kind in ("triplet", "nl", "mre"):
        nested_entries = entry.pop("nested", {})
        by_name = {f.name: f for f in fields}
        nested = {
            name: build_format(kind, {"none": "", **sub}, by_name[name].items)
            for name, sub in nested_entries.items()
        }
        return TemplateFormat(fields=fields, nested=nested, **common, **entry)
    if kind == "json":
        return JsonFormat(fields=fields, **common, **entry)
    if kind == "bio":
        return BioFormat(**common, **entry)
    if kind == "table":
        return MarkdownTableFormat(**common, **entry)
    raise ValueError(f"unknown format kind {kind!r}; known: {', '.join(KINDS)}")
