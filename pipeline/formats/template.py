"""Template answer formats: the paper's triplet and natural-language outputs.

A template describes one item, e.g. ``({head}; {relation}; {tail})`` or ``{entity} is a {type}.``;
items are joined by a separator. ``[...]`` marks an optional segment holding one optional field
(``({predicate}; {subject}; {object}[; {time}][; {location}])``): it is left out when its field is
empty, unless leaving it out would let a later segment be read in its place.

Parsing compiles the template to a regular expression with lazy field groups and reads items one after
another. A value that contains the text which ends its field (``; `` inside an entity, say) is written
with a backslash before that text, and every backslash is doubled, so ``parse(render(items)) == items``
for any strings; model output with no backslashes is read as it is. Parsing never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.formats.base import Item, LabelMap, OutputFormat, canonical_value

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_VALUE = r"(?:\\.|[^\\])*?"  # lazy; an escaped pair is atomic, so a field never ends inside one
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass(frozen=True)
class _Optional:
    lead: str  # the literal before the field inside the brackets
    name: str
    tail: str  # the literal after the field inside the brackets


Part = _Literal | _Slot | _Optional


def _split_template(template: str) -> list[Part]:
    parts: list[Part] = []
    for chunk in re.split(r"(\[[^\[\]]*\])", template):
        if chunk.startswith("["):
            inner = chunk[1:-1]
            names = _PLACEHOLDER.findall(inner)
            if len(names) != 1:
                raise ValueError(f"optional segment {chunk!r} must hold exactly one field")
            lead, _, tail = _PLACEHOLDER.split(inner)
            parts.append(_Optional(lead, names[0], tail))
            continue
        if "[" in chunk or "]" in chunk:
            raise ValueError(f"unbalanced brackets in template {template!r}")
        for i, piece in enumerate(_PLACEHOLDER.split(chunk)):
            if i % 2:
                parts.append(_Slot(piece))
            elif piece:
                parts.append(_Literal(piece))
    for a, b in zip(parts, parts[1:]):
        # Two fields with nothing between them could split anywhere: the parser needs a delimiter.
        touching = isinstance(b, _Slot) or (isinstance(b, _Optional) and not b.lead)
        if isinstance(a, _Slot) and touching:
            raise ValueError(f"fields {a.name!r} and {b.name!r} need text between them in {template!r}")
    return parts


def _occurrences(text: str, stop: str):
    at = text.find(stop)
    while at != -1:
        yield at
        at = text.find(stop, at + 1)


@dataclass
class TemplateFormat(OutputFormat):
    """Items rendered through a template and joined by ``separator`` (also after the last item when
    ``trailing``). ``nested`` gives the sub-format of a list field (event arguments)."""

    template: str = ""
    separator: str = "\n"
    trailing: bool = False
    nested: dict[str, TemplateFormat] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._parts = _split_template(self.template)
        names = [p.name for p in self._parts if not isinstance(p, _Literal)]
        known = {f.name for f in self.fields}
        if set(names) != known or len(names) != len(known):
            raise ValueError(f"template {self.template!r} must use each of {sorted(known)} exactly once")
        for f in self.fields:
            if f.items and f.name not in self.nested:
                raise ValueError(f"list field {f.name!r} needs a nested format")
        self._fields = {f.name: f for f in self.fields}
        self._stops = self._stop_strings()
        self._item_re = re.compile(self._regex() + "(?:" + re.escape(self.separator) + r"|\Z)", re.DOTALL)
        # A nested format must not stop its parent early: its values are escaped against the parent's
        # stop strings after the list field too.
        self._extra_stops: tuple[str, ...] = ()
        for name, sub in self.nested.items():
            sub._extra_stops = self._stops[name]

    # -- compilation -------------------------------------------------------------------------
    def _stop_strings(self) -> dict[str, tuple[str, ...]]:
        """For each field, the texts that may directly follow its value in rendered output.

        The template's closing literal only ends an item together with the separator (or the end of
        the text), so a value may contain it freely: ``Sony (Japan)`` needs no escape before ``)``.
        """
        stops: dict[str, tuple[str, ...]] = {}
        last = len(self._parts) - 1
        for i, part in enumerate(self._parts):
            if isinstance(part, _Literal):
                continue
            following: list[str] = []
            if isinstance(part, _Optional) and part.tail:
                following.append(part.tail + self.separator if i == last else part.tail)
            else:
                for j in range(i + 1, len(self._parts)):
                    nxt = self._parts[j]
                    if isinstance(nxt, _Literal):
                        following.append(self._item_end() if j == last else nxt.text)
                        break
                    if isinstance(nxt, _Optional):  # may be left out: what follows it counts too
                        following.append(nxt.lead)
                        continue
                    break
                else:
                    following.append(self._item_end())
            stops[part.name] = tuple(s for s in dict.fromkeys(following) if s)
        return stops

    def _closing(self) -> str:
        return self._parts[-1].text if isinstance(self._parts[-1], _Literal) else ""

    def _item_end(self) -> str:
        return self._closing() + self.separator

    def _regex(self) -> str:
        out = []
        for part in self._parts:
            if isinstance(part, _Literal):
                out.append(re.escape(part.text))
            elif isinstance(part, _Slot):
                out.append(f"(?P<{part.name}>{_VALUE})")
            else:
                out.append(f"(?:{re.escape(part.lead)}(?P<{part.name}>{_VALUE}){re.escape(part.tail)})?")
        return "".join(out)

    # -- rendering ---------------------------------------------------------------------------
    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        if not items:
            return self.none
        rendered = [self._render_item(item, labels) for item in items]
        return self.separator.join(rendered) + (self.separator if self.trailing else "")

    def _render_item(self, item: Item, labels: LabelMap | None) -> str:
        values = {name: self._render_value(name, item.get(name, ""), labels) for name in self._fields}
        # An empty optional segment is dropped unless a later optional segment with the same lead is
        # kept, which the parser would otherwise read in its place (positional triplets).
        keep: dict[str, bool] = {}
        later_leads: set[str] = set()
        for part in reversed(self._parts):
            if isinstance(part, _Optional):
                keep[part.name] = values[part.name] != "" or part.lead in later_leads
                if keep[part.name]:
                    later_leads.add(part.lead)
        out = []
        for part in self._parts:
            if isinstance(part, _Literal):
                out.append(part.text)
            elif isinstance(part, _Slot):
                out.append(values[part.name])
            elif keep[part.name]:
                out.append(part.lead + values[part.name] + part.tail)
        return "".join(out)

    def _render_value(self, name: str, value, labels: LabelMap | None) -> str:
        spec = self._fields[name]
        if spec.items:
            return self.nested[name].render_items(list(value or []), labels) if value else ""
        value = canonical_value(value)
        if spec.label and labels is not None:
            value = labels.to_symbol(value)
        return self._escape(value, self._stops[name] + self._extra_stops)

    @staticmethod
    def _escape(value: str, stops: tuple[str, ...]) -> str:
        """Double backslashes, then put one before every place where a stop text would start inside
        the value, including one that runs on into the text after it (``x is a`` + `` is a ``, or
        ``v);`` + `` | `` inside brackets that close with ``); ``). A value is followed by one of
        its stop texts, so those are the continuations to check."""
        value = value.replace("\\", "\\\\")
        starts = {
            at
            for stop in stops
            for follower in stops
            for at in _occurrences(value + follower, stop)
            if at < len(value)
        }
        if not starts:
            return value
        pieces, last = [], 0
        for at in sorted(starts):
            pieces += [value[last:at], "\\"]
            last = at
        return "".join(pieces) + value[last:]

    # -- parsing -----------------------------------------------------------------------------
    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        text = text.strip()
        if self.trailing and self.separator.strip() and text.endswith(self.separator.strip()):
            text = text[: -len(self.separator.strip())].rstrip()
        if not text or self.is_none(text):
            return []
        items, pos, end = [], 0, self._last_item_end(text)
        while pos < end:
            match = self._item_re.search(text, pos, end)
            if match is None or match.end() == match.start():
                break
            item = self._item_from_match(match, labels)
            if item is not None:
                items.append(item)
            pos = match.end()
        return items

    def _last_item_end(self, text: str) -> int:
        """Where the last item could end: every match ends with the closing literal and a separator
        (or the end of the text), so the search never needs to look further. Bounding it matters: a
        truncated, looping output with no item end would otherwise make the regex try every split of
        its fields before failing (seconds for a few hundred characters, growing polynomially)."""
        closing = self._closing()
        if not closing or text.endswith(closing):
            return len(text)
        at = text.rfind(self._item_end())
        return at + len(self._item_end()) if at != -1 else 0

    def _item_from_match(self, match: re.Match, labels: LabelMap | None) -> Item | None:
        item: Item = {}
        for name, spec in self._fields.items():
            raw = match.group(name) or ""
            if spec.items:
                item[name] = self.nested[name].parse_items(raw, labels) if raw.strip() else []
                continue
            value = canonical_value(_UNESCAPE.sub(r"\1", raw))
            if spec.label and labels is not None:
                value = labels.to_label(value)
            item[name] = value
        return item if all(item[f.name] for f in self.fields if f.required and not f.items) else None
