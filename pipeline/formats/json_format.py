"""JSON answer formats.

Two shapes: ``list`` (``[{"entity": "EU", "type": "organization"}, ...]``, keys renamed through
``keys``) and ``grouped`` (``{"organization": ["EU"], ...}``: items grouped by one label field, for
two-field tasks). Parsing reads the first JSON value in the text, tolerating prose around it, and
keeps whatever items have the expected keys; it never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pipeline.formats.base import Field, Item, LabelMap, OutputFormat, canonical_value

_DECODER = json.JSONDecoder()


@dataclass
class JsonFormat(OutputFormat):
    shape: str = "list"
    keys: dict[str, str] = field(default_factory=dict)
    """Field name → JSON key (defaults to the field name)."""
    group_by: str = ""
    indent: int | None = None

    def __post_init__(self) -> None:
        if self.shape not in ("list", "grouped"):
            raise ValueError(f"unknown JSON shape {self.shape!r}")
        if self.shape == "grouped":
            names = [f.name for f in self.fields]
            if self.group_by not in names or len(names) != 2:
                raise ValueError("the grouped shape needs two fields and group_by naming one of them")

    def _key(self, f: Field) -> str:
        return self.keys.get(f.name, f.name)

    # -- rendering ---------------------------------------------------------------------------
    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        if not items:
            return self.none
        if self.shape == "grouped":
            value_field = next(f for f in self.fields if f.name != self.group_by)
            group_field = next(f for f in self.fields if f.name == self.group_by)
            grouped: dict[str, list[str]] = {}
            for item in items:
                key = _out(group_field, item.get(group_field.name), labels)
                grouped.setdefault(key, []).append(_out(value_field, item.get(value_field.name), labels))
            data: object = grouped
        else:
            data = [_to_object(self.fields, item, labels, self._key) for item in items]
        return json.dumps(data, ensure_ascii=False, indent=self.indent)

    # -- parsing -----------------------------------------------------------------------------
    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        if self.is_none(text):
            return []
        data = first_json_value(text)
        if self.shape == "grouped":
            if not isinstance(data, dict):
                return []
            value_field = next(f for f in self.fields if f.name != self.group_by)
            group_field = next(f for f in self.fields if f.name == self.group_by)
            items = []
            for key, values in data.items():
                for value in values if isinstance(values, list) else [values]:
                    item = {
                        group_field.name: _in(group_field, key, labels),
                        value_field.name: _in(value_field, value, labels),
                    }
                    if all(item.values()):
                        items.append(item)
            return items
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            return []
        return [item for obj in data if (item := _from_object(self.fields, obj, labels, self._key))]


def _out(f: Field, value, labels: LabelMap | None) -> str:
    value = canonical_value(value)
    return labels.to_symbol(value) if f.label and labels is not None else value


def _in(f: Field, value, labels: LabelMap | None) -> str:
    if isinstance(value, (dict, list)):
        return ""
    value = canonical_value(value)
    return labels.to_label(value) if f.label and labels is not None else value


def _to_object(fields, item: Item, labels, key) -> dict:
    obj = {}
    for f in fields:
        value = item.get(f.name)
        if f.items:
            obj[key(f)] = [_to_object(f.items, sub, labels, lambda g: g.name) for sub in value or []]
        elif f.required or canonical_value(value):
            obj[key(f)] = _out(f, value, labels)
    return obj


def _from_object(fields, obj, labels, key) -> Item | None:
    if not isinstance(obj, dict):
        return None
    item: Item = {}
    for f in fields:
        value = obj.get(key(f))
        if f.items:
            subs = value if isinstance(value, list) else []
            item[f.name] = [s for sub in subs if (s := _from_object(f.items, sub, labels, lambda g: g.name))]
        else:
            item[f.name] = _in(f, value, labels)
    return item if all(item[f.name] for f in fields if f.required and not f.items) else None


def first_json_value(text: str):
    """The first JSON object or array in ``text`` (``None`` if there is none)."""
    for i, char in enumerate(text):
        if char in "[{":
            try:
                return _DECODER.raw_decode(text, i)[0]
            except (json.JSONDecodeError, RecursionError):
                continue
    return None
