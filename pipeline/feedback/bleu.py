"""Sentence BLEU of a sample's answer against the gold answer (paper App. B.1).

The paper says "BLEU" computed with ``nltk.translate.bleu_score.sentence_bleu`` and
``SmoothingFunction().method3``; it does not say how text is tokenised, and the reference code passes
character lists. Two tokenisations are offered:

- ``word`` (default): whitespace tokens. This is what BLEU means, and it ranks IE answers the way F1
  does: a wrong entity or type costs whole n-grams. ``nltk.word_tokenize`` needs the ``punkt_tab``
  data, which is not installed and cannot be downloaded here, so whitespace is also the portable choice.
- ``char``: characters, as the reference code. Character 4-grams are lenient: two answers that differ
  by one entity type still share most of them, so fewer sample pairs clear the 0.1 margin.

Only the answer part is scored (the text after the last ``[Answer]:``), so an explanation before it
neither helps nor hurts. Two exceptions to plain ``sentence_bleu``: identical token sequences score
exactly 1 (for answers shorter than four tokens, such as ``NA``, smoothed BLEU of a perfect copy is
below 1, and the gold answer must score 1), and a sample without the ``[Answer]:`` mark scores 0 when
``require_mark`` is set, because the evaluation format demands the mark and the parser of the
evaluation would not find the answer.
"""

from __future__ import annotations

from typing import Literal

from eval.scorers.bleu import bleu as sentence_bleu
from pipeline.tasks.base import ANSWER_MARK, answer_part

Tokens = Literal["word", "char"]


def tokenize(text: str, tokens: Tokens = "word") -> list[str]:
    if tokens == "word":
        return text.split()
    if tokens == "char":
        return list(text.strip())
    raise ValueError(f"bleu tokens must be 'word' or 'char', not {tokens!r}")


def bleu(reference: str, hypothesis: str, tokens: Tokens = "word") -> float:
    """Smoothed sentence BLEU (method3, :func:`eval.scorers.bleu.bleu`) of two plain strings;
    identical token sequences score 1."""
    if tokenize(reference, tokens) == tokenize(hypothesis, tokens):
        return 1.0
    return sentence_bleu(reference.strip(), hypothesis.strip(), unit=tokens)


def answer_bleu(gold: str, sample: str, tokens: Tokens = "word", require_mark: bool = True) -> float:
    """BLEU of a sample's answer part against the gold answer part; unreadable samples score 0."""
    if not isinstance(sample, str) or (require_mark and ANSWER_MARK not in sample):
        return 0.0
    return bleu(answer_part(gold).strip(), answer_part(sample).strip(), tokens)
