"""General capability (paper §6.1, Table 10) through lm-eval with local task files.

MMLU 5-shot, BBH 3-shot CoT, and 0-shot HellaSwag, ARC-e/c, WinoGrande, OpenBookQA, SIQA and PIQA,
read from ``../shared/data/benchmarks`` through the dataset registry and run offline.
:func:`run_general` is the entry point; ``eval/tasks/*.yaml`` holds the prompts.
"""

from eval.general.runner import run_general

__all__ = ["run_general"]
