"""General instruction (SFT) data as :class:`Conversation` chats of user/assistant turns, no system turn.

Formats:
- ``alpaca_json`` (LIMA, Alpaca demo from LLaMA-Factory): a JSON array of ``{instruction, input,
  output}``, LIMA items also with ``history``: earlier ``[user, assistant]`` turns, oldest first. The
  user turn is the instruction, followed by the input after a blank line when there is one.
- ``prompt_completion`` (T0 sample from Self-Instruct): JSON lines ``{prompt, completion}``; the
  completion's ``<|endoftext|>`` end marker is removed and surrounding whitespace stripped.
- ``self_instruct`` (seed tasks, user-oriented instructions): JSON lines ``{instruction,
  instances: [{input, output}]}``; one conversation per instance, the user turn built as above.

An item whose answer is empty is skipped (training on an empty reply teaches the model to say
nothing): this drops exactly the 140 T0 lines of the TREC templates (lines 4521-4660 of
``t0_sample/train.jsonl``), whose completions are only ``<|endoftext|>``; the other sources have none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from corpora.base import adapter, located, read_json_array, read_jsonl
from corpora.registry import DatasetSpec
from pipeline.records import Conversation, Message

_END_OF_TEXT = "<|endoftext|>"


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, got {type(value).__name__}")
    return value


def user_turn(instruction: Any, input_: Any = "") -> str:
    instruction, input_ = _text(instruction, "instruction").strip(), _text(input_, "input").strip()
    if not instruction:
        raise ValueError("empty instruction")
    return f"{instruction}\n\n{input_}" if input_ else instruction


def _chat(turns: Iterable[tuple[str, str]]) -> tuple[Message, ...]:
    messages = []
    for user, assistant in turns:
        messages += [Message(role="user", content=user), Message(role="assistant", content=assistant)]
    return tuple(messages)


class _Numbered:
    """Running ids per split across the files of a split."""

    def __init__(self, spec: DatasetSpec, split: str):
        self.spec, self.split, self.index = spec, split, 0

    def conversation(self, turns: list[tuple[str, str]]) -> Conversation | None:
        if not turns[-1][1]:
            return None  # empty answer: skipped, see the module docstring
        conversation = Conversation(
            id=f"{self.spec.name}/{self.split}/{self.index}", dataset=self.spec.name, messages=_chat(turns)
        )
        self.index += 1
        return conversation


@adapter("alpaca_json")
def read_alpaca_json(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Conversation]:
    numbered = _Numbered(spec, split)
    for path in paths:
        for line_no, item in read_json_array(path):
            with located(path, line_no):
                turns = [
                    (_text(user, "history").strip(), _text(reply, "history").strip())
                    for user, reply in item.get("history") or []
                ]
                answer = _text(item["output"], "output").strip()
                turns.append((user_turn(item["instruction"], item.get("input", "")), answer))
                conversation = numbered.conversation(turns)
            if conversation is not None:
                yield conversation


@adapter("prompt_completion")
def read_prompt_completion(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Conversation]:
    numbered = _Numbered(spec, split)
    for path in paths:
        for line_no, item in read_jsonl(path):
            with located(path, line_no):
                prompt = _text(item["prompt"], "prompt").strip()
                if not prompt:
                    raise ValueError("empty prompt")
                completion = _text(item["completion"], "completion").removesuffix(_END_OF_TEXT).strip()
                conversation = numbered.conversation([(prompt, completion)])
            if conversation is not None:
                yield conversation


@adapter("self_instruct")
def read_self_instruct(spec: DatasetSpec, split: str, paths: list[Path]) -> Iterator[Conversation]:
    numbered = _Numbered(spec, split)
    for path in paths:
        for line_no, task in read_jsonl(path):
            with located(path, line_no):
                if not task["instances"]:
                    raise ValueError("a task without instances")
                conversations = [
                    numbered.conversation(
                        [(user_turn(task["instruction"], inst["input"]), _text(inst["output"], "output").strip())]
                    )
                    for inst in task["instances"]
                ]
            yield from (c for c in conversations if c is not None)
