"""``adelie mix``: IEInstruct mixed with general instruction data, IE being ``ie_share`` of the whole.

ADELIE trains on IEInstruct plus TULU 2's general data, IE making 20% of the mix, so the model gains
IE without losing general ability ("alignment tax"). The size follows the paper: every IE instance,
and as much general data as makes IE the configured share (83,585 IE → 334,340 general; the paper used
320,000). When the general sources hold less than that, ``short_general`` decides: ``keep_share``
(default) keeps the share and draws fewer IE instances, ``keep_ie`` keeps them all and lets the share
rise; either way a warning says what happened. ``max_total`` then caps the whole in proportion.
Draws and the final order are seeded. Locally the general sources are the registry's ``general``
datasets (about 7,900 conversations); users with a hub can name hub datasets with a ``messages``
column (e.g. ``allenai/tulu-v2-sft-mixture``), and any local saved dataset or JSON(L) file works too.

Writes ``dataset/`` (columns ``messages``, ``source`` (ie|general), ``dataset``, ``task``, ``id``),
``README.md`` (card), ``stats.json`` and ``manifest.json``; ``runs/mix/<key>`` by default.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.artifacts import (
    atomic_dir, atomic_write_json, atomic_write_text, finished, hash_file, hash_json, hash_tree, mark_done,
    output_folder, stage_key, write_manifest,
)
from pipeline.cli import Stage
from pipeline.config import help_field, to_dict
from pipeline.train.data import dataset_hash, load_columns, saved_dataset

LOCAL_GENERAL = ["t0_sample", "lima", "alpaca_demo", "self_instruct"]
SHORT_GENERAL = ("keep_share", "keep_ie")


@dataclass
class MixConfig:
    seed: int = help_field(0, "Seeds which instances are drawn and the order of the mix.")
    data_root: str | None = help_field(None, "Folder of the raw datasets, for registry sources (also --data-root).")
    output: str | None = help_field(None, "Output folder (default runs/mix/<key>).")
    instruct: str | None = help_field(None, "IEInstruct: the folder `adelie instruct` wrote (or the dataset/ inside it).")
    general: list[str] = help_field(
        LOCAL_GENERAL, "General sources: registry datasets of task general, saved datasets or .json/.jsonl files "
        "with a messages column, or hub dataset names (owner/name, e.g. allenai/tulu-v2-sft-mixture; needs a hub).")
    ie_share: float = help_field(0.2, "Share of IE instances in the mix (the paper's choice: 0.2).")
    short_general: str = help_field(
        "keep_share", "When the general data is too small for ie_share with every IE instance: keep_share draws "
        "fewer IE instances, keep_ie keeps them all and the share rises.")
    max_total: int = help_field(0, "Cap on the mix size (0: none); IE and general are cut in proportion.")


@dataclass(frozen=True)
class Plan:
    ie: int
    general: int
    warnings: tuple[str, ...]

    @property
    def share(self) -> float:
        return self.ie / (self.ie + self.general) if self.ie + self.general else 0.0


# -- core ------------------------------------------------------------------------------------------
def plan_sizes(n_ie: int, n_general: int, share: float, short_general: str = "keep_share", max_total: int = 0) -> Plan:
    """How many IE and general instances to draw (the rule is in the module docstring)."""
    if not 0 <= share <= 1:
        raise ValueError(f"ie_share must be between 0 and 1, not {share}")
    if short_general not in SHORT_GENERAL:
        raise ValueError(f"short_general must be one of {', '.join(SHORT_GENERAL)}, not {short_general!r}")
    warnings = []
    if share in (0, 1):
        ie, general = (n_ie, 0) if share == 1 else (0, n_general)
    else:
        wanted = round(n_ie * (1 - share) / share)
        if wanted <= n_general:
            ie, general = n_ie, wanted
        elif short_general == "keep_ie":
            ie, general = n_ie, n_general
            warnings.append(
                f"the general sources hold {n_general:,} conversations, {wanted:,} are needed for an IE share of "
                f"{share} with all {n_ie:,} IE instances: keeping them all, the IE share is {n_ie / (n_ie + n_general):.3f}"
            )
        else:
            ie, general = min(n_ie, math.floor(n_general * share / (1 - share))), n_general
            warnings.append(
                f"the general sources hold {n_general:,} conversations, {wanted:,} are needed for an IE share of "
                f"{share} with all {n_ie:,} IE instances: drawing {ie:,} IE instances to keep the share "
                "(add general sources, or set short_general=keep_ie)"
            )
    if max_total and ie + general > max_total:
        scaled = round(max_total * ie / (ie + general))
        ie, general = scaled, max_total - scaled
    return Plan(ie, general, tuple(warnings))


def ie_rows(path: str) -> list[dict]:
    data = load_columns(path, "adelie instruct", ["messages", "record_id", "dataset", "task"])
    return [
        {"messages": row["messages"], "source": "ie", "dataset": row["dataset"], "task": row["task"], "id": row["record_id"]}
        for row in data
    ]


def general_rows(source: str, data_root: str | None) -> tuple[list[dict], str, str]:
    """The conversations of one general source, its input hash for the manifest, and its licence."""
    from corpora.registry import get, registry

    if source in registry():
        from corpora.cache import read_cached
        from corpora.registry import resolve_data_root

        spec = get(source)
        if spec.task.value != "general":
            raise ValueError(f"general source {source} is a {spec.task.value} dataset, not general instruction data")
        root = resolve_data_root(data_root)
        rows, hashes = [], []
        for split in spec.splits:
            hashes += [hash_file(p) for p in spec.files(split, root)]
            rows += [_row([m.model_dump() for m in c.messages], source, c.id) for c in read_cached(spec, split, root)]
        return rows, hash_json(hashes), spec.licence
    path = Path(source)
    if path.exists():
        return _messages_rows(_load_local(path), source), hash_tree(path), "see the source"
    if "/" in source:
        from datasets import load_dataset

        try:
            data = load_dataset(source, split="train")
        except Exception as exc:  # offline, unknown name, gated: say which source and why
            raise ValueError(f"could not load the hub dataset {source}: {exc}") from exc
        return _messages_rows(data, source), f"hub:{source}@{data._fingerprint}", "see the hub dataset card"
    raise ValueError(
        f"unknown general source {source!r}: not a registered dataset ({', '.join(LOCAL_GENERAL)} are), "
        "not an existing path, and not a hub name (owner/name)"
    )


def _load_local(path: Path):
    from datasets import load_dataset, load_from_disk

    if path.is_dir():
        return load_from_disk(str(saved_dataset(path, "datasets' save_to_disk")))
    return load_dataset("json", data_files=str(path), split="train")


def _messages_rows(data, source: str) -> list[dict]:
    if "messages" not in data.column_names:
        raise ValueError(f"general source {source} has no messages column (columns: {', '.join(data.column_names)})")
    rows = []
    for i, row in enumerate(data):
        messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"] or []]
        if messages and messages[-1]["role"] == "assistant":  # a chat must end with the reply to learn
            rows.append(_row(messages, row.get("dataset") or source, str(row.get("id") or f"{source}/{i}")))
    return rows


def _row(messages: list[dict], dataset: str, id_: str) -> dict:
    return {"messages": messages, "source": "general", "dataset": dataset, "task": "general", "id": id_}


def mix(ie: list[dict], general: list[dict], cfg: MixConfig) -> tuple[list[dict], Plan]:
    """Draw the planned numbers from each side (seeded) and shuffle them together."""
    plan = plan_sizes(len(ie), len(general), cfg.ie_share, cfg.short_general, cfg.max_total)
    if plan.ie + plan.general == 0:
        raise ValueError("the mix would be empty: no IE instances and no general conversations were drawn")
    rng = random.Random(f"{cfg.seed}/mix")
    rows = rng.sample(ie, plan.ie) + rng.sample(general, plan.general)
    rng.shuffle(rows)
    return rows, plan


def statistics(rows: list[dict], plan: Plan, available: dict[str, int]) -> dict:
    return {
        "instances": len(rows),
        "ie": plan.ie,
        "general": plan.general,
        "ie_share": round(plan.share, 4),
        "available": available,
        "per_dataset": dict(sorted(Counter(f"{r['source']}/{r['dataset']}" for r in rows).items())),
        "warnings": list(plan.warnings),
    }


def config_for_key(cfg: MixConfig) -> dict:
    """The config minus where things are read from or written to (they do not change the mix)."""
    return {k: v for k, v in to_dict(cfg).items() if k not in ("output", "data_root")}


def card(stats: dict, cfg: MixConfig, licences: dict[str, str], key: str) -> str:
    lines = [
        "# SFT mix (adelie)",
        "",
        (f"{stats['instances']:,} conversations built by `adelie mix` (seed {cfg.seed}, key `{key}`): "
         f"{stats['ie']:,} IE instances from IEInstruct and {stats['general']:,} general conversations, "
         f"an IE share of {stats['ie_share']:.3f} (configured {cfg.ie_share}). TRL conversational format (`messages`)."),
        "",
        "## Sources",
        "",
        "| source | drawn | licence |",
        "|---|---|---|",
    ]
    for name, count in stats["per_dataset"].items():
        source, dataset = name.split("/", 1)
        licence = "see the IEInstruct card" if source == "ie" else licences.get(dataset, "see the source")
        lines.append(f"| {name} | {count:,} | {licence} |")
    lines += ["", "Available before drawing: " + ", ".join(f"{k} {v:,}" for k, v in stats["available"].items()) + "."]
    if stats["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in stats["warnings"]]
    lines += ["", "## Config", "", "```json", json.dumps(config_for_key(cfg), indent=1, sort_keys=True), "```",
              "", "LIMA and Alpaca are non-commercial (CC BY-NC): check every licence before redistributing."]
    return "\n".join(lines) + "\n"


def write_dataset(rows: list[dict], folder: Path, seed: int) -> None:
    """``folder/dataset``, byte-identical for the same seed and inputs (fingerprint derived from them)."""
    from datasets import Dataset

    data = Dataset.from_list(rows)
    data._fingerprint = hash_json({"seed": seed, "ids": [r["id"] for r in rows]})[:16]
    data.save_to_disk(str(folder / "dataset"), num_shards=1)


def run_mix(cfg: MixConfig) -> Path:
    """Build (or find) the mix; return its folder."""
    if cfg.instruct is None and cfg.ie_share > 0:
        raise ValueError("set mix.instruct to the folder adelie instruct wrote (or ie_share=0 for general data only)")
    ie = ie_rows(cfg.instruct) if cfg.instruct else []
    general, inputs, licences = [], {}, {}
    if cfg.instruct:
        inputs["instruct"] = dataset_hash(cfg.instruct, "adelie instruct")
    for source in cfg.general:
        rows, digest, licences[source] = general_rows(source, cfg.data_root)
        general += rows
        inputs[f"general/{source}"] = digest
    key = stage_key(config_for_key(cfg), inputs)
    folder = output_folder("mix", key, cfg.output)
    if finished(folder, key):
        print(f"mix: up to date in {folder}", file=sys.stderr)
        return folder
    rows, plan = mix(ie, general, cfg)
    for warning in plan.warnings:
        print(f"mix: warning: {warning}", file=sys.stderr)
    stats = statistics(rows, plan, {"ie": len(ie), "general": len(general)})
    with atomic_dir(folder) as staging:
        write_dataset(rows, staging, cfg.seed)
        atomic_write_json(staging / "stats.json", stats)
        atomic_write_text(staging / "README.md", card(stats, cfg, licences, key))
        write_manifest(staging, "mix", to_dict(cfg), inputs, {"seed": cfg.seed, "key": key, "instances": len(rows),
                                                              "ie_share": stats["ie_share"]})
        mark_done(staging)
    print(f"mix: {len(rows):,} conversations ({plan.ie:,} IE, {plan.general:,} general) in {folder}", file=sys.stderr)
    return folder


def run(config: MixConfig, args: argparse.Namespace) -> int:
    try:
        run_mix(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"adelie mix: {exc}", file=sys.stderr)
        return 2
    return 0


STAGE = Stage(name="mix", help="mix IEInstruct with general instruction data (IE share 0.2 by default)",
              description=__doc__, config=MixConfig, run=run)
