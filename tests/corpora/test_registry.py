"""The registry as a whole: guidelines, sources, licences, roles and split files of every dataset."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict

import pytest

from corpora.registry import PACKAGE_DIR, DatasetSpec, get, registry, resolve_data_root
from pipeline.records import Task

DATA = resolve_data_root()
NAMES = list(registry())
LABELLED = [name for name in NAMES if get(name).labels]

# Datasets that read the same files on purpose: two views of one corpus (NER and chunk tags of
# CoNLL-2003; WikiEvents sentences for ED and event mentions for EAE), and ADE, whose train and test
# splits both read the full file and keep their side of a cross-validation fold.
SHARED_FILES = {
    frozenset({"conll2003", "conll2003_chunk"}),
    frozenset({"wikievents_ed", "wikievents_eae"}),
    frozenset({"ade"}),
}

READABLE_ROLE = re.compile(r"[a-z0-9]+( [a-z0-9]+)*")  # lowercase words, single spaces


def described_labels(spec: DatasetSpec) -> set[str]:
    """The readable names a guideline describes: labels, and the entity types of RE/RC entries."""
    return set(spec.label_set.labels) | set(spec.options.get("entity_types", {}).values())


# --- guidelines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LABELLED)
def test_every_label_has_a_guideline(name):
    spec = get(name)
    guidelines = spec.guidelines()
    for label in described_labels(spec):
        assert label in guidelines, f"{name}: no guideline for {label!r}"
        assert guidelines[label].definition.strip(), f"{name}: empty definition for {label!r}"
        assert len(guidelines[label].examples) >= 2, f"{name}: fewer than 2 examples for {label!r}"


@pytest.mark.parametrize("name", LABELLED)
def test_every_guideline_is_a_label(name):
    spec = get(name)
    assert set(spec.guidelines()) <= described_labels(spec)


def test_every_guideline_file_belongs_to_a_dataset():
    owners = {name for name in NAMES if not get(name).guidelines_from}
    for path in (PACKAGE_DIR / "guidelines").glob("*.yaml"):
        assert path.stem in owners, f"{path.name} is not the guideline file of a registered dataset"


def test_shared_guidelines_are_the_owners():
    for name, owner in [("wikievents_eae", "wikievents_ed"), ("matres_platinum", "matres"),
                        ("genia_nested", "genia_jnlpba")]:
        assert get(name).guidelines_from == owner
        assert get(name).guidelines() == get(owner).guidelines()


# --- sources, licences, roles ----------------------------------------------------------------------


def source_paths(source: str) -> list[str]:
    """The data-root paths a source names: its first word, with one ``{a,b}`` group expanded."""
    path = source.split()[0]
    group = re.search(r"\{([^{}]*)\}", path)
    if group is None:
        return [path]
    return [path[: group.start()] + choice + path[group.end() :] for choice in group[1].split(",")]


@pytest.mark.parametrize("name", NAMES)
def test_source_names_the_folder_of_the_split_files(name):
    spec = get(name)
    folders = []
    for path in source_paths(spec.source):
        found = DATA / path
        assert found.exists(), f"{name}: source {path} is not under {DATA}"
        folders.append(found if found.is_dir() else found.parent)
    for split in spec.splits:
        for file in spec.files(split, DATA):
            assert any(file.is_relative_to(folder) for folder in folders), f"{name}/{split}: {file}"


@pytest.mark.parametrize("name", NAMES)
def test_licence_is_stated(name):
    assert get(name).licence.strip()


@pytest.mark.parametrize("name", NAMES)
def test_roles_are_valid(name):
    spec = get(name)
    if spec.task in (Task.EE, Task.EAE):
        assert set(spec.roles) == set(spec.label_set.labels), "every event type declares its roles"
    else:
        assert not spec.roles, "only EE and EAE entries declare roles"
    for event_type, roles in spec.roles.items():
        assert roles and len(set(roles)) == len(roles), f"{event_type}: empty or repeated roles"
        assert all(READABLE_ROLE.fullmatch(role) for role in roles), f"{event_type}: {roles}"
    declared = {role for roles in spec.roles.values() for role in roles}
    role_names = spec.options.get("role_names", {})
    assert set(role_names.values()) <= declared, "options.role_names maps to undeclared roles"


def test_readable_role():
    phee, casie_uie = get("phee"), get("casie_uie")
    assert phee.readable_role("adverse event", "Treatment.Drug") == "treatment drug"  # via options.role_names
    assert casie_uie.readable_role("ransom", "payment method") == "payment method"  # already readable
    with pytest.raises(ValueError, match="not in options.role_names"):
        phee.readable_role("adverse event", "Treatment.Colour")
    with pytest.raises(ValueError, match="not declared for event type 'ransom'"):
        casie_uie.readable_role("ransom", "discoverer")


# --- split files -----------------------------------------------------------------------------------


def test_split_files_are_shared_only_by_declared_views():
    readers = defaultdict(set)  # file -> {(dataset, split)}
    for name in NAMES:
        spec = get(name)
        for split in spec.splits:
            for file in spec.files(split, DATA):
                readers[file].add((name, split))
    shared = set()
    for file, splits in readers.items():
        for (a, split_a), (b, split_b) in itertools.combinations(sorted(splits), 2):
            pair = frozenset({a, b})
            assert pair in SHARED_FILES, f"{a}/{split_a} and {b}/{split_b} both read {file}"
            shared.add(pair)
    assert shared == SHARED_FILES, "an allowed sharing no longer happens: drop it from SHARED_FILES"
