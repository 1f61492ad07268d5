"""`adelie seqlabel`: the causal-mask removal mechanism, IOB2 data on the real files, and a real run."""

from __future__ import annotations

import itertools
import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from corpora.registry import get, resolve_data_root
from pipeline.cli import main
from pipeline.models import resolve_model, tiny_model
from pipeline.seqlabel.data import encode, iob2, load_splits, sentences, tag_names
from pipeline.seqlabel.train import score
from pipeline.seqlabel.unmask import (
    all_codes,
    apply_unmasking,
    layer_groups,
    parse_code,
)

DATA = resolve_data_root()
LENGTH, FUTURE = 12, 8  # sentence length and the position whose token changes


# -- configurations and groups ---------------------------------------------------------------------
def test_layer_groups_are_consecutive_and_balanced():
    assert [list(g) for g in layer_groups(4, 4)] == [[0], [1], [2], [3]]
    assert [len(g) for g in layer_groups(30, 4)] == [8, 8, 7, 7]  # SmolLM2-135M
    assert [g.start for g in layer_groups(32, 4)] == [0, 8, 16, 24]  # Llama2-7B as in the paper
    with pytest.raises(ValueError):
        layer_groups(4, 5)


def test_codes_read_from_the_input_side_and_reject_numbers():
    assert parse_code("0011", 4) == (False, False, True, True)
    for bad in ("001", "0021", 9):  # 9 is what YAML makes of an unquoted 0011
        with pytest.raises(ValueError, match="quoted"):
            parse_code(bad, 4)


def test_all_codes_follow_gray_order_from_all_masked():
    codes = all_codes(4)
    assert codes[0] == "0000" and len(set(codes)) == 16
    assert all(sum(a != b for a, b in zip(x, y)) == 1 for x, y in itertools.pairwise(codes))


# -- the mechanism on a 4-layer model (one block per group) ------------------------------------------
@pytest.fixture(scope="module")
def tiny4(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("tiny") / "tiny4", layers=4)


def unmasked_model(path, code: str):
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=3)
    apply_unmasking(model, code, groups=4)
    return model.eval()


def layer_outputs(model, ids: torch.Tensor, mask: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The output of every decoder block (hidden_states[0] is the embedding)."""
    with torch.no_grad():
        return list(model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[1:])


def sees_future(model) -> list[bool]:
    """Per block output: do positions before FUTURE change when the token at FUTURE changes?"""
    ids = torch.arange(100, 100 + LENGTH).unsqueeze(0)
    changed = ids.clone()
    changed[0, FUTURE] = 4242
    before, after = layer_outputs(model, ids), layer_outputs(model, changed)
    return [not torch.allclose(a[0, :FUTURE], b[0, :FUTURE], atol=1e-6) for a, b in zip(before, after)]


def test_all_unmasked_sees_the_future_and_all_masked_does_not(tiny4):
    assert sees_future(unmasked_model(tiny4, "1111")) == [True] * 4
    assert sees_future(unmasked_model(tiny4, "0000")) == [False] * 4


@pytest.mark.parametrize(("code", "expected"), [
    ("0010", [False, False, True, True]),  # blocks before the first unmasked one are blind to the right
    ("1000", [True, True, True, True]),  # later causal blocks inherit right context through the hidden state
])
def test_mixed_configuration_affects_from_the_first_unmasked_block(tiny4, code, expected):
    assert sees_future(unmasked_model(tiny4, code)) == expected


def test_exactly_the_unmasked_blocks_look_right(tiny4):
    """Perturb only the FUTURE positions of each block's own input: its output before FUTURE moves iff
    that block is unmasked (the input before FUTURE is identical, so nothing else can move it)."""
    model = unmasked_model(tiny4, "0101")
    ids = torch.arange(100, 100 + LENGTH).unsqueeze(0)
    looks_right = []
    for block in model.base_model.layers:
        outputs = []
        for shift in (0.0, 1.0):
            def perturb(module, args, kwargs, shift=shift):
                hidden = (args[0] if args else kwargs.pop("hidden_states")).clone()
                hidden[:, FUTURE:] += shift
                return (hidden, *args[1:]), kwargs

            def keep(module, args, kwargs, output, outputs=outputs):
                outputs.append(output[0] if isinstance(output, tuple) else output)

            handles = [block.register_forward_pre_hook(perturb, with_kwargs=True),
                       block.register_forward_hook(keep, with_kwargs=True)]
            with torch.no_grad():
                model(input_ids=ids)
            for handle in handles:
                handle.remove()
        looks_right.append(not torch.allclose(outputs[0][0, :FUTURE], outputs[1][0, :FUTURE], atol=1e-6))
    assert looks_right == [False, True, False, True]


@pytest.mark.parametrize("code", ["1111", "0110"])
def test_padding_stays_masked(tiny4, code):
    model = unmasked_model(tiny4, code)
    real = torch.arange(100, 100 + 7).unsqueeze(0)
    padded = torch.cat([real, torch.full((1, 5), 7)], dim=1).repeat(2, 1)
    padded[1, 7:] = 999  # different padding ids must not matter either
    mask = torch.cat([torch.ones(2, 7), torch.zeros(2, 5)], dim=1).long()
    alone, batch = layer_outputs(model, real), layer_outputs(model, padded, mask)
    for a, b in zip(alone, batch):
        torch.testing.assert_close(b[:, :7], a.expand(2, -1, -1), atol=1e-5, rtol=1e-5)


def test_all_masked_is_the_stock_causal_model(tiny4):
    from transformers import AutoModelForTokenClassification

    torch.manual_seed(0)
    stock = AutoModelForTokenClassification.from_pretrained(tiny4, num_labels=3).eval()
    ids = torch.arange(100, 110).repeat(2, 1)
    mask = torch.tensor([[1] * 10, [1] * 6 + [0] * 4])
    for a, b in zip(layer_outputs(unmasked_model(tiny4, "0000"), ids, mask), layer_outputs(stock, ids, mask)):
        torch.testing.assert_close(a, b)


# -- IOB2 data from the registry -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "column"), [("conll2003", 3), ("conll2003_chunk", 2)])
def test_tags_from_offsets_reproduce_the_file(name, column):
    """IOB2 rebuilt from entity character offsets equals the file's own tag column (dev, every sentence)."""
    spec = get(name)
    expected = []
    block: list[str] = []
    for line in [*(DATA / spec.splits["dev"][0]).read_text().splitlines(), ""]:
        if line.strip() and not line.startswith("-DOCSTART-"):
            block.append(line.split()[column])
        elif block:
            expected.append([t if t == "O" else f"{t[:2]}{spec.readable(t[2:])}" for t in block])
            block = []
    got = sentences(spec.read("dev", DATA))
    assert len(got) == len(expected) == 3250
    mismatches = [s.id for s, tags in zip(got, expected) if list(s.tags) != tags]
    assert not mismatches, mismatches[:5]
    assert all(s.dropped == 0 for s in got)


def test_semeval_dev_is_carved_from_train_and_every_aspect_is_tagged():
    splits = load_splits(get("semeval14_rest"), DATA, dev_fraction=0.1, max_train=0, max_eval=0)
    assert len(splits["dev"]) == round(0.1 * 2018) and len(splits["train"]) + len(splits["dev"]) == 2018
    assert not {s.id for s in splits["dev"]} & {s.id for s in splits["train"]}
    everything = [s for items in splits.values() for s in items]
    dropped = sum(s.dropped for s in everything)
    kept = sum(t.startswith("B-") for s in everything for t in s.tags)
    assert dropped == 0 and kept == 3608 + 1120  # every aspect instance of the .seg files (the paper lost 13)
    assert all(t[2:] in {"negative", "neutral", "positive"} for s in everything for t in s.tags if t != "O")


def test_iob2_drops_entities_off_word_boundaries_or_overlapping():
    record = next(r for r in get("conll2003").read("dev") if len(r.gold.entities[0].text.split()) > 1)
    entity = record.gold.entities[0]  # a multi-word entity
    inside = entity.model_copy(update={"end": entity.start + len(entity.text.split()[0])})
    off = entity.model_copy(update={"start": entity.start + 1})
    bad = record.model_copy(update={"gold": record.gold.model_copy(update={"entities": (inside, off, *record.gold.entities)})})
    tags, dropped = iob2(bad)
    assert dropped == 2 and tags == iob2(record)[0]  # the longer of two overlapping spans wins


def test_first_sub_tokens_start_each_word_and_truncation_cuts_words():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m"))
    items = load_splits(get("conll2003"), DATA, 0.1, max_train=50, max_eval=1)["train"]
    tags = tag_names(get("conll2003").label_set.labels)
    tag_ids = {t: i for i, t in enumerate(tags)}
    full = encode(items, tokenizer, tag_ids, max_length=512)
    for sentence, example in zip(items, full):
        assert len(example.first) == len(sentence.words)
        assert [tags[k] for k in example.labels] == list(sentence.tags)
        for word, position in zip(sentence.words, example.first):
            piece = tokenizer.decode([example.input_ids[position]]).strip()
            assert piece and word.startswith(piece), (word, piece)
    short = encode(items, tokenizer, tag_ids, max_length=8)
    assert all(len(e.input_ids) <= 8 and max(e.first) < 8 for e in short)
    assert any(len(e.first) < len(s.words) for s, e in zip(items, short))


def test_scores_are_strict_iob2_spans():
    gold = [["B-person", "I-person", "O", "B-location"]]
    assert score(gold, gold)["f1"] == 1.0
    # an entity opened with I- is not a valid IOB2 span under strict matching
    assert score(gold, [["I-person", "I-person", "O", "B-location"]]) == pytest.approx(
        {"f1": 2 / 3, "precision": 1.0, "recall": 0.5})


# -- runs through the CLI --------------------------------------------------------------------------
@pytest.mark.slow
def test_one_mixed_configuration_on_the_real_model(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["seqlabel", "--config", "recipes/seqlabel-cpu.yaml", "--output", str(out), "configs=0011,",
            "seeds=[3]", "max_train=8", "max_eval=8", "epochs=1", "max_length=32"]
    assert main(args) == 0
    assert "| `0011` | 1 |" in capsys.readouterr().out
    (unit,) = json.loads((out / "results.json").read_text())["units"]
    assert unit["config"] == "0011" and unit["seed"] == 3 and len(unit["train_loss"]) == 1
    assert unit["unmasked_layers"] == list(range(16, 30))  # groups of 8, 8, 7, 7 blocks
    assert all(0.0 <= unit[split]["f1"] <= 1.0 for split in ("dev", "test"))
    lines = (out / "units" / "0011-seed3" / "predictions.test.jsonl").read_text().splitlines()
    assert len(lines) == 8 and all(len(r["gold"]) == len(r["predicted"]) for r in map(json.loads, lines))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["units"] == ["0011-seed3"] and manifest["data"]["train"]["sentences"] == 8
    assert manifest["config"]["model"] == "smollm2-135m" and (out / ".done").exists()

    first = (out / "units" / "0011-seed3" / "metrics.json").stat().st_mtime_ns
    assert main(args) == 0  # a finished unit is reused, not retrained
    assert (out / "units" / "0011-seed3" / "metrics.json").stat().st_mtime_ns == first


def test_sweep_runs_every_configuration_and_seed_and_plots(tiny4, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["seqlabel", "--output", str(out), "--sweep", f"model={tiny4}", "groups=2", "seeds=[0,1]",
                 "dataset=semeval14_rest", "max_train=8", "max_eval=4", "epochs=1", "max_length=24"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [r["config"] for r in results["rows"]] == ["00", "01", "11", "10"]  # Gray order
    assert sorted((u["config"], u["seed"]) for u in results["units"]) == [
        (c, s) for c in ("00", "01", "10", "11") for s in (0, 1)]
    row = results["rows"][0]
    assert row["seeds"] == [0, 1] and row["test"]["mean"] == pytest.approx(sum(row["test"]["f1"]) / 2)
    table = (out / "results.md").read_text()
    assert table.count("\n| `") == 4 and "± " in table and "| `10` | 2 |" in capsys.readouterr().out
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("override", "message"), [
    ("configs=001", "4 characters of 0/1"),
    ("dataset=conll04", "conll04 has no tokenised sentences"),  # RE records carry no tokens
])
def test_cli_rejects_bad_settings_with_a_clear_message(tmp_path, capsys, override, message):
    assert main(["seqlabel", "--output", str(tmp_path / "out"), override]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
