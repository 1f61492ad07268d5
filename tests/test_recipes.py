"""Every shipped recipe is valid: each section names a stage and builds that stage's typed config, so a
typo in a recipe fails here rather than hours into a run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.cli import stages
from pipeline.config import SHARED_KEYS, ConfigError, load_config

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
# dpo-sections.yaml holds recipe fragments, one per top-level key.
FRAGMENTS = {"dpo-sections.yaml"}


def recipes() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(RECIPES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if path.name in FRAGMENTS:
            found += [(f"{path.name}:{name}", fragment) for name, fragment in data.items()]
        else:
            found.append((path.name, data))
    return found


@pytest.mark.parametrize(("name", "recipe"), recipes(), ids=[name for name, _ in recipes()])
def test_every_section_builds_its_stage_config(name, recipe):
    known = stages()
    # "x-" keys hold YAML anchors that sections share (llm.yaml)
    sections = [key for key in recipe if key not in SHARED_KEYS and not key.startswith("x-")]
    assert sections, name
    for section in sections:
        assert section in known, f"{name}: {section!r} is no stage"
        load_config(known[section].config, section, recipe, {}, tuple(known))


def test_a_misspelt_key_in_a_recipe_is_an_error():
    known = stages()
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(known["sft"].config, "sft", {"sft": {"learning_rate": 1e-5}}, {}, tuple(known))


def test_a_stage_field_named_like_a_section_takes_its_override():
    """`adelie mix instruct=FOLDER`: mix's input folder shares its name with the instruct section."""
    known = stages()
    recipe = yaml.safe_load((RECIPES / "demo.yaml").read_text())
    overrides = {"instruct": "runs/instruct/abc", "sft": {"lr": 1e-5}}
    assert load_config(known["mix"].config, "mix", recipe, overrides, tuple(known)).instruct == "runs/instruct/abc"
    assert load_config(known["sft"].config, "sft", recipe, overrides, tuple(known)).lr == 1e-5


def test_a_mapping_valued_field_takes_its_override():
    """`adelie explain prices={...}`: a field holding a mapping is not mistaken for a section."""
    known = stages()
    recipe = yaml.safe_load((RECIPES / "demo.yaml").read_text())
    prices = {"gpt-4o-mini": {"input": 0.15, "output": 0.6}}
    config = load_config(known["explain"].config, "explain", recipe, {"prices": prices}, tuple(known))
    assert config.prices == prices


def test_the_demo_and_quality_recipes_run_every_stage_on_the_embedded_model():
    known = stages()
    for name in ("demo.yaml", "quality-cpu.yaml", "gpu.yaml"):
        recipe = yaml.safe_load((RECIPES / name).read_text())
        for stage in ("instruct", "mix", "sft", "sample", "feedback", "dpo", "eval"):
            assert stage in recipe, f"{name} lacks {stage}"
        assert load_config(known["sft"].config, "sft", recipe, {}, tuple(known)).model == "smollm2-135m"
