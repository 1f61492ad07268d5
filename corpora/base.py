"""What every dataset adapter shares: located errors, line-numbered readers and the adapter registry.

An adapter turns the files of one source *format* into records. It is a generator function
``read(spec, split, paths)`` registered with :func:`adapter`; it never guesses: anything it cannot
read raises :class:`DataError` naming the file and line, so ``adelie corpora check`` can report it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pipeline.records import BenchmarkItem, Conversation, Record

if TYPE_CHECKING:
    from corpora.registry import DatasetSpec

Item = Record | Conversation | BenchmarkItem
Adapter = Callable[["DatasetSpec", str, list[Path]], Iterator[Item]]

ADAPTERS: dict[str, Adapter] = {}


class DataError(Exception):
    """Malformed input, located as ``file:line: reason`` (line 0 when no line applies)."""

    def __init__(self, path: Path | str, line: int, reason: str):
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = Path(path), line, reason


def adapter(name: str) -> Callable[[Adapter], Adapter]:
    """Register a reader under ``name``; the registry YAML refers to adapters by this name."""

    def register(fn: Adapter) -> Adapter:
        if name in ADAPTERS:
            raise ValueError(f"adapter {name!r} registered twice")
        ADAPTERS[name] = fn
        return fn

    return register


@contextmanager
def located(path: Path, line: int):
    """Turn any parsing or validation failure inside the block into a :class:`DataError` at ``line``."""
    try:
        yield
    except DataError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(path, line, f"invalid record: {where}: {first['msg']}") from None
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(path, line, f"{type(exc).__name__}: {exc}") from None


def open_text(path: Path):
    """Open a text file, transparently gunzipping ``*.gz``; universal newlines strip CRLF."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` pairs, 1-based, without the trailing newline.

    Byte-order marks are dropped wherever they occur: some files carry stray ones mid-file (WNUT-17
    dev has a line holding only U+FEFF), and they are never content.
    """
    try:
        with open_text(path) as f:
            for number, line in enumerate(f, 1):
                yield number, line.rstrip("\n").replace("\ufeff", "")
    except UnicodeDecodeError as exc:
        raise DataError(path, 0, f"not UTF-8 text: {exc}") from None
    except (OSError, EOFError) as exc:
        raise DataError(path, 0, f"cannot read: {exc}") from None


def read_blocks(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Blank-line separated blocks as ``(first_line_number, lines)``."""
    start, block = 0, []
    for number, line in read_lines(path):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """One JSON value per non-empty line."""
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})") from None


def read_json(path: Path) -> Any:
    """A whole-file JSON document."""
    text = "\n".join(line for _, line in read_lines(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None


def read_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Items of a top-level JSON array, each with the line it starts on.

    Decoding item by item (rather than ``json.load``) lets a bad item be reported at its own line.
    """
    text = "\n".join(line for _, line in read_lines(path))
    yield from _json_items(path, text, "[", "]", keyed=False)


def read_json_object(path: Path) -> Iterator[tuple[int, str, Any]]:
    """``(line, key, value)`` for each member of a top-level JSON object."""
    text = "\n".join(line for _, line in read_lines(path))
    yield from _json_items(path, text, "{", "}", keyed=True)


_DECODER = json.JSONDecoder()


def _json_items(path: Path, text: str, open_: str, close: str, keyed: bool):
    counted = [0, 1]  # (position, line there): items come in order, so count newlines incrementally

    def line_at(pos: int) -> int:
        last_pos, last_line = counted
        if pos < last_pos:
            return text.count("\n", 0, pos) + 1
        counted[:] = [pos, last_line + text.count("\n", last_pos, pos)]
        return counted[1]

    def fail(pos: int, msg: str):
        raise DataError(path, line_at(pos), msg)

    def skip_ws(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def decode(pos: int):
        try:
            return _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})") from None

    pos = skip_ws(0)
    if not text.startswith(open_, pos):
        fail(pos, f"expected a JSON {'object' if keyed else 'array'}")
    pos = skip_ws(pos + 1)
    if text.startswith(close, pos):
        return
    while True:
        line_of_item = line_at(pos)
        if keyed:
            key, pos = decode(pos)
            pos = skip_ws(pos)
            if not text.startswith(":", pos):
                fail(pos, "expected ':' after object key")
            pos = skip_ws(pos + 1)
            value, pos = decode(pos)
            yield line_of_item, key, value
        else:
            value, pos = decode(pos)
            yield line_of_item, value
        pos = skip_ws(pos)
        if text.startswith(",", pos):
            pos = skip_ws(pos + 1)
        elif text.startswith(close, pos):
            break
        else:
            fail(pos, f"expected ',' or '{close}'")
    if skip_ws(pos + 1) != len(text):
        fail(pos + 1, "trailing data after the JSON document")
