"""The CLI convention and `adelie corpora list|check|show` on the real data."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from corpora.registry import registry, resolve_data_root
from pipeline.cli import main

DATA = resolve_data_root()


def adelie(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True)


def test_check_loads_every_dataset_without_error():
    result = adelie("corpora", "check", "--data-root", str(DATA))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ok: {len(registry())} datasets" in result.stdout


def test_readme_datasets_are_all_registered():
    readme = (DATA / "README.md").read_text()
    folders = {spec.source.split()[0].split("/")[1] for spec in registry().values() if "/" in spec.source}
    for folder in ("conll2003", "ontonotes5", "bc5cdr", "genia_jnlpba", "mit_restaurant", "wikiann_en", "wnut17",
                   "mit_movie_trivia10k13", "fewrel", "conll04", "scierc", "ade", "nyt", "webnlg",
                   "maven_ed_sentences", "phee", "casie", "casie_uie", "rams", "matres", "oie2016",
                   "openie4_train_sample", "t0_sample", "lima", "alpaca_demo", "self_instruct", "fewnerd_inter",
                   "crossner_ai", "semeval2010_task8", "wikievents", "carb", "re_oie2016", "wire57", "benchie",
                   "instructie", "semeval14_rest", "mmlu", "bbh", "arc_easy", "hellaswag", "piqa"):
        assert folder.split("_")[0] in readme, folder  # the list above is the README's, not ours
        assert folder in folders, f"{folder} is in shared/data/README.md but not registered"


@pytest.mark.parametrize(
    ("name", "counts"),  # record counts as SOURCES.md states them
    [("conll2003", "train 14,041, dev 3,250, test 3,453"), ("semeval2010_task8", "train 8,000, test 2,717"),
     ("conll04", "train 922, dev 231, test 288"), ("instructie", "test 150")],
)
def test_list_counts_match_sources(name, counts):
    result = adelie("corpora", "list", name, "--data-root", str(DATA))
    assert result.returncode == 0, result.stderr
    assert counts in result.stdout


def test_corrupted_line_is_located_and_nothing_is_written(tmp_path):
    target = tmp_path / "re" / "conll04" / "train.jsonl"
    target.parent.mkdir(parents=True)
    shutil.copy(DATA / "re" / "conll04" / "train.jsonl", target)
    lines = target.read_text().splitlines(keepends=True)
    lines[56] = lines[56][: len(lines[56]) // 2] + "\n"  # line 57 cut in half
    target.write_text("".join(lines))
    before = sorted(p for p in tmp_path.rglob("*"))
    result = adelie("corpora", "check", "conll04", "--data-root", str(tmp_path))
    assert result.returncode == 2
    assert f"{target}:57:" in result.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_show_prints_a_card(capsys):
    assert main(["corpora", "show", "conll2003", "--data-root", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "licence: Reuters" in out and "**person**" in out and '"task": "ner"' in out


@pytest.mark.parametrize(
    ("args", "message"),
    [(["corpora", "list", "rolez=[train]"], "unknown key 'rolez' for corpora (did you mean 'roles'?)"),
     (["corpora", "list", "sfft.lr=1"], "unknown key 'sfft'"),
     (["corpora", "show", "nope"], "unknown dataset 'nope'")],
)
def test_bad_invocations_fail_clearly(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_help_teaches_the_recipe_keys():
    result = adelie("corpora", "--help")
    assert result.returncode == 0
    assert "roles = []" in result.stdout and "key=value" in result.stdout


def test_a_stage_key_may_be_given_as_an_option(monkeypatch):
    """`adelie eval --model M --limit 50` is `adelie eval model=M limit=50`; unknown options still fail."""
    import dataclasses

    from pipeline import cli

    seen = []
    known = cli.stages()
    known["eval"] = dataclasses.replace(known["eval"], run=lambda config, args: seen.append(config) or 0)
    monkeypatch.setattr(cli, "stages", lambda: known)
    assert main(["eval", "--model", "runs/sft/x", "--limit", "50", "--max-new-tokens=64", "settings=[few_shot]"]) == 0
    (config,) = seen
    assert (config.model, config.limit, config.max_new_tokens, config.settings) == ("runs/sft/x", 50, 64, ["few_shot"])
    with pytest.raises(SystemExit):
        main(["eval", "--limt", "50"])
    with pytest.raises(SystemExit):
        main(["eval", "--limit"])
