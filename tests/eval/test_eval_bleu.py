"""BLEU for IEFeedback: nltk sentence_bleu with smoothing method 3, word or character tokens."""

from __future__ import annotations

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from eval.scorers.bleu import bleu

GOLD = "(Barack Obama; born in; Hawaii); (Barack Obama; president of; United States)"
SAMPLE = "(Barack Obama; born in; Honolulu); (Obama; president of; United States)"


def test_equals_nltk_on_words_and_on_characters():
    smooth = SmoothingFunction().method3
    assert bleu(GOLD, SAMPLE) == sentence_bleu([GOLD.split()], SAMPLE.split(), smoothing_function=smooth)
    assert bleu(GOLD, SAMPLE, unit="char") == sentence_bleu([list(GOLD)], list(SAMPLE), smoothing_function=smooth)
    assert bleu(GOLD, SAMPLE, unit="char") > bleu(GOLD, SAMPLE) > 0.3  # characters forgive more


def test_ranks_samples_and_handles_empty_text():
    assert bleu(GOLD, GOLD) == 1.0
    assert bleu(GOLD, SAMPLE) > bleu(GOLD, "(Hawaii; located in; Pacific)") > 0.0
    assert bleu(GOLD, "") == bleu("", SAMPLE) == 0.0
    with pytest.raises(ValueError, match="unit"):
        bleu(GOLD, SAMPLE, unit="token")
