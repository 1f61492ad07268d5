"""Sentence BLEU as ADELIE ranks sampled answers for IEFeedback (paper §3.2 and Appendix C.1).

The paper names nltk's ``sentence_bleu`` with ``SmoothingFunction().method3``; it does not say how
the text is split. ADELIE's code compares *characters* (each character, spaces included, is a token)
of the text after ``[Answer]:``. :func:`bleu` offers both: ``unit="word"`` (default) splits on
whitespace, the natural reading of the paper and less sensitive to spelling; ``unit="char"``
reproduces the reference code. Taking the answer part is the caller's choice, not done here. An
empty reference or hypothesis scores 0.
"""

from __future__ import annotations

from typing import Literal


def bleu(reference: str, hypothesis: str, unit: Literal["word", "char"] = "word") -> float:
    """nltk ``sentence_bleu`` of ``hypothesis`` against one ``reference``, smoothing method 3."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    if unit == "word":
        ref, hyp = reference.split(), hypothesis.split()
    elif unit == "char":
        ref, hyp = list(reference), list(hypothesis)
    else:
        raise ValueError(f"unit must be 'word' or 'char', not {unit!r}")
    if not ref or not hyp:
        return 0.0
    return float(sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method3))
