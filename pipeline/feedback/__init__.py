"""IEFeedback (paper §4, App. B.1): BLEU-ranked preference pairs from the SFT model's own samples.

- :mod:`.prompts`: the sampling prompts, built like IEInstruct but in the evaluation formats (Table 9);
- :mod:`.bleu`: the score of one sample against the gold answer;
- :mod:`.pairs`: the online/offline pair rules and the mix of the two;
- :mod:`.stats`: per-dataset statistics like paper Table 8;
- :mod:`.dpo`: TRL DPO with reference log-probs cached on disk.
"""
