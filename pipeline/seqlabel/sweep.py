"""Run a set of (configuration, seed) units, resumably, and write the results table and plot.

Output folder (``--output``, default ``runs/seqlabel/<key>``)::

    units/<config>-seed<seed>/metrics.json          one finished unit (its folder appears atomically)
    units/<config>-seed<seed>/predictions.<split>.jsonl
    results.json, results.md, results.png           mean ± std F1 per configuration (Gray-code order)
    manifest.json, .done

The key hashes the config and the input files (dataset splits, model weights) but not the list of
configurations or seeds: a later ``--sweep`` of the same setup finds the units an earlier run
finished and trains only the missing ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from corpora.registry import DatasetSpec, get, resolve_data_root
from pipeline.artifacts import (
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    hash_tree,
    is_done,
    mark_done,
    runs_dir,
    stage_key,
    write_manifest,
)
from pipeline.config import to_dict
from pipeline.seqlabel import report
from pipeline.seqlabel.config import SeqlabelConfig
from pipeline.seqlabel.unmask import all_codes, parse_code

UNKEYED = ("output", "data_root", "configs", "seeds", "seed")


def planned_units(config: SeqlabelConfig, sweep: bool) -> list[tuple[str, int]]:
    codes = all_codes(config.groups) if sweep else list(dict.fromkeys(config.configs))
    for code in codes:
        parse_code(code, config.groups)
    return [(code, seed) for code in codes for seed in config.run_seeds(sweep)]


def inputs(spec: DatasetSpec, data_root: Path, model_path: str) -> dict[str, str]:
    """Hashes of the dataset's split files and of the model folder (a hub name stands for itself)."""
    found = {f"{spec.name}/{split}/{path.name}": hash_tree(path)
             for split in spec.splits for path in spec.files(split, data_root)}
    model = Path(model_path)
    found["model"] = hash_tree(model) if model.exists() else model_path
    return found


def output_folder(config: SeqlabelConfig, keyed_inputs: dict[str, str]) -> Path:
    if config.output:
        return Path(config.output)
    keyed = {k: v for k, v in to_dict(config).items() if k not in UNKEYED}
    return runs_dir() / "seqlabel" / stage_key(keyed, keyed_inputs)


def run(config: SeqlabelConfig, sweep: bool = False) -> Path:
    """Train and score every planned unit not already finished; write the summary. Returns the folder."""
    from transformers import AutoTokenizer

    from pipeline.models import resolve_model
    from pipeline.seqlabel.data import prepare, split_stats
    from pipeline.seqlabel.train import run_unit

    units = planned_units(config, sweep)
    spec = get(config.dataset)
    data_root = resolve_data_root(config.data_root)
    model_path = resolve_model(config.model)
    keyed_inputs = inputs(spec, data_root, model_path)
    folder = output_folder(config, keyed_inputs)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    data = prepare(spec, data_root, tokenizer, dev_fraction=config.dev_fraction, max_train=config.max_train,
                   max_eval=config.max_eval, max_length=config.max_length)
    results = []
    for code, seed in tqdm(units, desc="units", unit="run", file=sys.stderr):
        unit = folder / "units" / f"{code}-seed{seed}"
        if not is_done(unit):
            metrics, predictions = run_unit(model_path, data, code, seed, config)
            with atomic_dir(unit) as staging:
                atomic_write_json(staging / "metrics.json", metrics)
                for split, tags in predictions.items():
                    lines = (json.dumps({"id": s.id, "words": s.words, "gold": s.tags, "predicted": p})
                             for s, p in zip(data.splits[split], tags))
                    atomic_write_text(staging / f"predictions.{split}.jsonl", "\n".join(lines) + "\n")
                mark_done(staging)
        results.append(json.loads((unit / "metrics.json").read_text()))

    rows = report.summarize(results, config.eval_splits)
    title = f"{Path(config.model).name} on {spec.name}"
    atomic_write_json(folder / "results.json", {"title": title, "rows": rows, "units": results})
    atomic_write_text(folder / "results.md", report.markdown(rows, config.eval_splits, title))
    report.plot(rows, config.eval_splits, title, folder / "results.png")
    write_manifest(folder, "seqlabel", to_dict(config), keyed_inputs, extra={
        "sweep": sweep,
        "units": [f"{code}-seed{seed}" for code, seed in units],
        "data": {split: split_stats(items) for split, items in data.splits.items()},
        "tags": list(data.tags),
    })
    mark_done(folder)
    return folder
