"""Sequence labelling with layer-group causal-mask removal ("Looking right is sometimes right").

``unmask`` removes the causal mask in chosen groups of decoder blocks through transformers' public
attention interface; ``data`` turns registry records into IOB2 first-sub-token examples; ``train``
trains and scores one (configuration, seed) unit with LoRA; ``sweep`` runs many units resumably and
``report`` writes the table and the Figure-2-style plot. Only ``config`` is imported by the CLI.
"""
