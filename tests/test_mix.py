"""`adelie mix` on the real IEInstruct and general data: the size rule, shares, sources, reproducibility."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from pipeline.instruct.config import InstructConfig
from pipeline.stages.instruct import run_instruct
from pipeline.stages.mix import MixConfig, plan_sizes, run_mix


@pytest.fixture(scope="module")
def instruct(tmp_path_factory) -> Path:
    """40 real IEInstruct instances (NER and RE)."""
    cfg = InstructConfig(per_dataset_cap=20, datasets=["conll2003", "conll04"], eval_subset=5,
                         output=str(tmp_path_factory.mktemp("instruct") / "out"))
    return run_instruct(cfg, progress=False)


@pytest.fixture(scope="module")
def mixed(instruct, tmp_path_factory) -> Path:
    return run_mix(MixConfig(instruct=str(instruct), output=str(tmp_path_factory.mktemp("mix") / "a")))


def rows(folder: Path) -> list[dict]:
    from datasets import load_from_disk

    return list(load_from_disk(str(folder / "dataset")))


# -- the size rule -----------------------------------------------------------------------------------
def test_paper_sizes_all_ie_and_four_times_as_much_general():
    plan = plan_sizes(83_585, 400_000, 0.2)  # IEInstruct's size in the paper
    assert (plan.ie, plan.general, plan.warnings) == (83_585, 334_340, ())
    assert plan.share == pytest.approx(0.2)
    tulu2 = plan_sizes(83_585, 326_154, 0.2)  # the TULU 2 SFT mixture is slightly short of 334,340
    assert (tulu2.ie, tulu2.general) == (81_538, 326_154) and len(tulu2.warnings) == 1


def test_short_general_keeps_the_share_or_all_ie_with_a_warning():
    keep_share = plan_sizes(10_000, 7_903, 0.2)
    assert (keep_share.ie, keep_share.general) == (1_975, 7_903)
    assert keep_share.share == pytest.approx(0.2, abs=1e-4)
    assert "drawing 1,975 IE instances" in keep_share.warnings[0]
    keep_ie = plan_sizes(10_000, 7_903, 0.2, "keep_ie")
    assert (keep_ie.ie, keep_ie.general) == (10_000, 7_903)
    assert "the IE share is 0.559" in keep_ie.warnings[0]


def test_max_total_cuts_both_sides_in_proportion_and_extreme_shares():
    plan = plan_sizes(1_000, 10_000, 0.2, max_total=300)
    assert (plan.ie, plan.general) == (60, 240)
    assert (plan_sizes(50, 70, 0.0).ie, plan_sizes(50, 70, 0.0).general) == (0, 70)
    assert (plan_sizes(50, 70, 1.0).ie, plan_sizes(50, 70, 1.0).general) == (50, 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        plan_sizes(50, 70, 1.5)
    with pytest.raises(ValueError, match="short_general"):
        plan_sizes(50, 70, 0.2, "keep_everything")


# -- real runs ---------------------------------------------------------------------------------------
def test_mix_of_real_data_has_the_share_sources_and_chat_shape(mixed, instruct):
    data = rows(mixed)
    stats = json.loads((mixed / "stats.json").read_text())
    assert len(data) == stats["instances"] == 200  # all 40 IE instances + 160 general
    ie = [r for r in data if r["source"] == "ie"]
    assert len(ie) == 40 and stats["ie_share"] == 0.2 and not stats["warnings"]
    assert {r["dataset"] for r in ie} == {"conll2003", "conll04"}
    general = [r for r in data if r["source"] == "general"]
    assert {r["dataset"] for r in general} <= {"t0_sample", "lima", "alpaca_demo", "self_instruct"}
    assert len({r["dataset"] for r in general}) >= 3  # drawn from the pooled sources
    assert all(r["messages"][-1]["role"] == "assistant" and r["messages"][0]["role"] in ("user", "system") for r in data)
    assert len({r["id"] for r in data}) == len(data)
    sources = [r["source"] for r in data]
    assert sources != sorted(sources)  # shuffled together, not IE first
    card = (mixed / "README.md").read_text()
    assert "CC BY-NC" in card and "an IE share of 0.200" in card
    manifest = json.loads((mixed / "manifest.json").read_text())
    assert set(manifest["inputs"]) == {"instruct", "general/t0_sample", "general/lima", "general/alpaca_demo",
                                       "general/self_instruct"}


def test_same_seed_same_bytes_other_seed_differs_rerun_skipped(mixed, instruct, tmp_path):
    again = run_mix(MixConfig(instruct=str(instruct), output=str(tmp_path / "b")))
    files = sorted(str(p.relative_to(mixed)) for p in mixed.rglob("*") if p.is_file() and p.name not in ("manifest.json", ".done"))
    _, mismatch, errors = filecmp.cmpfiles(mixed, again, files, shallow=False)
    assert files and not mismatch and not errors
    other = run_mix(MixConfig(instruct=str(instruct), seed=1, output=str(tmp_path / "c")))
    assert [r["id"] for r in rows(other)] != [r["id"] for r in rows(mixed)]
    before = (mixed / "manifest.json").read_bytes()
    assert run_mix(MixConfig(instruct=str(instruct), output=str(mixed))) == mixed
    assert (mixed / "manifest.json").read_bytes() == before


def test_small_local_general_source_warns_and_keeps_the_share(instruct, tmp_path):
    source = tmp_path / "chats.jsonl"
    with open(source, "w") as f:
        for i in range(50):
            f.write(json.dumps({"messages": [{"role": "user", "content": f"Say {i}."},
                                             {"role": "assistant", "content": str(i)}]}) + "\n")
        f.write(json.dumps({"messages": [{"role": "user", "content": "no reply"}]}) + "\n")  # dropped: no reply
    out = run_mix(MixConfig(instruct=str(instruct), general=[str(source)], output=str(tmp_path / "m")))
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["ie"], stats["general"], stats["available"]["general"]) == (12, 50, 50)
    assert "drawing 12 IE instances" in stats["warnings"][0]
    assert "## Warnings" in (out / "README.md").read_text()
    kept = run_mix(MixConfig(instruct=str(instruct), general=[str(source)], short_general="keep_ie",
                             output=str(tmp_path / "k")))
    assert json.loads((kept / "stats.json").read_text())["ie"] == 40


def test_hub_names_go_to_datasets_load_dataset(monkeypatch, instruct, tmp_path):
    import datasets

    asked = []

    def fake_load_dataset(name, split):  # stands in for the hub: nothing is fetched
        asked.append((name, split))
        return datasets.Dataset.from_list([
            {"dataset": "flan_v2", "id": f"t{i}", "messages": [{"role": "user", "content": f"q{i}"},
                                                              {"role": "assistant", "content": f"a{i}"}]}
            for i in range(400)
        ])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    out = run_mix(MixConfig(instruct=str(instruct), general=["allenai/tulu-v2-sft-mixture"], output=str(tmp_path / "h")))
    assert asked == [("allenai/tulu-v2-sft-mixture", "train")]
    data = rows(out)
    assert len(data) == 200 and {r["dataset"] for r in data if r["source"] == "general"} == {"flan_v2"}
    assert json.loads((out / "manifest.json").read_text())["inputs"]["general/allenai/tulu-v2-sft-mixture"].startswith("hub:")


def test_bad_sources_are_named(instruct, tmp_path):
    with pytest.raises(ValueError, match="conll2003 is a ner dataset"):
        run_mix(MixConfig(instruct=str(instruct), general=["conll2003"], output=str(tmp_path / "x")))
    with pytest.raises(ValueError, match="unknown general source 'nonsense'"):
        run_mix(MixConfig(instruct=str(instruct), general=["nonsense"], output=str(tmp_path / "y")))
    with pytest.raises(FileNotFoundError, match="run adelie instruct"):
        run_mix(MixConfig(instruct=str(tmp_path), output=str(tmp_path / "z")))
    with pytest.raises(ValueError, match="set mix.instruct"):
        run_mix(MixConfig(output=str(tmp_path / "w")))
