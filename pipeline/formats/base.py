"""What every answer format shares: item fields, the label ↔ symbol map and the format interface.

A task turns its gold structures into *items*, flat dicts of strings (a list of sub-items for event
arguments), and back. A format turns items into answer text and back. Formats know nothing of tasks;
tasks know nothing of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]

_SPACE = re.compile(r"\s+")


def canonical_value(value: Any) -> str:
    """Values are compared stripped of surrounding whitespace; inner text is kept as it is."""
    return str(value).strip() if value is not None else ""


@dataclass(frozen=True)
class Field:
    """One field of an item. ``label`` fields take values from the label set (symbols apply);
    an item missing a ``required`` field is dropped; ``items`` makes a list of sub-items."""

    name: str
    label: bool = False
    required: bool = True
    items: tuple[Field, ...] = ()


@dataclass(frozen=True)
class LabelMap:
    """Readable label ↔ symbol (``LABEL_1``...), so symbol-labelled answers map back exactly."""

    to_symbols: dict[str, str] = field(default_factory=dict)

    @classmethod
    def symbols(cls, labels, prefix: str = "LABEL_") -> LabelMap:
        return cls({label: f"{prefix}{i}" for i, label in enumerate(labels, 1)})

    def to_symbol(self, label: str) -> str:
        try:
            return self.to_symbols[label]
        except KeyError:
            raise ValueError(f"label {label!r} has no symbol in this mapping") from None

    def to_label(self, symbol: str) -> str:
        # Unknown symbols stay as they are: they will simply not match any gold label.
        return self._reverse.get(symbol, symbol)

    @property
    def _reverse(self) -> dict[str, str]:
        rev = self.__dict__.get("_rev")
        if rev is None:
            rev = {s: label for label, s in self.to_symbols.items()}
            object.__setattr__(self, "_rev", rev)
        return rev


@dataclass
class OutputFormat:
    """Renders items to answer text and parses answer text (any text) back to items.

    ``none`` is the answer when there is nothing to extract; ``description`` is the instruction text
    that asks for this format.
    """

    fields: tuple[Field, ...] = ()
    none: str = "NA"
    description: str = ""
    id: str = ""

    def render_items(self, items: list[Item], labels: LabelMap | None = None) -> str:
        raise NotImplementedError

    def parse_items(self, text: str, labels: LabelMap | None = None) -> list[Item]:
        raise NotImplementedError

    def is_none(self, text: str) -> bool:
        return _normal(text) == _normal(self.none)


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().strip(".").strip().lower()
