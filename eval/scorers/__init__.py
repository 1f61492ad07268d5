"""Scorers of ``adelie eval`` / ``adelie score``: pure functions from model answers and gold records
to metrics, each cross-checked against the implementation it reproduces (tests/eval).

- :mod:`.closed_ie`: exact-match micro F1 for NER, RC, RE, ED, EAE, EE, ERE (normalised and strict);
- :mod:`.carb`: CaRB (AUC, optimal P/R/F1) for Open IE, the official scorer's default variant;
- :mod:`.gner`: GNER's BIO answers, hierarchical matching, strict (= seqeval) and partial entity F1;
- :mod:`.mre`: MRE mix text-level, word-level and ALL F1;
- :mod:`.ondemand`: InstructIE header soft match (all-MiniLM-L6-v2) and content ROUGE-Lsum;
- :mod:`.bleu`: nltk sentence BLEU (smoothing method 3), word or character tokens, for IEFeedback;
- :mod:`.prf`: the shared micro precision/recall/F1 counts.

Heavy libraries (numpy, nltk, rouge-score, sentence-transformers) are imported inside functions.
"""
