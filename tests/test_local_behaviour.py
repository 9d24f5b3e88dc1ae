"""The behavioural suite (shipped minimal pairs) against the shipped offline judges, per category.

The floors are what the shipped numpy model reaches (see ``docs/guides/local.md``): a retrained
model must not fall below them in any category. The issue's goal is 0.9 everywhere; the lexical
model does not reach it on exchanged names, reversed roles and some single-fact changes, and the
floors say so honestly rather than hiding the categories.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from hallujudge import Judge
from hallujudge._backends._local import _ensemble_ready
from hallujudge._local import load_minimal_pairs
from hallujudge._local._pairs import MINIMAL_PAIR_CATEGORIES

# What the shipped ensemble reaches (docs/guides/local.md), rounded down to a whole pair.
ENSEMBLE_FLOORS = {
    "copied": 1.0,
    "compressed": 1.0,
    "fused": 0.9,
    "generalisation": 0.7,
    "antonym": 1.0,
    "absent_entity": 0.8,
    "swapped_entities": 0.3,
    "number": 1.0,
    "date": 0.8,
    "negation": 0.8,
    "role_reversal": 0.3,
    "appended_claim": 0.65,
    "other_document": 1.0,
}
GBM_FLOORS = {
    "copied": 1.0,
    "compressed": 1.0,
    "fused": 0.9,
    "generalisation": 0.65,
    "antonym": 1.0,
    "absent_entity": 0.6,
    "swapped_entities": 0.3,
    "number": 1.0,
    "date": 0.9,
    "negation": 0.6,
    "role_reversal": 0.3,
    "appended_claim": 0.65,
    "other_document": 0.9,
}


def accuracy_by_category(model: str) -> dict[str, float]:
    pairs = load_minimal_pairs()
    verdicts = Judge(model).score_many([(p.premise, p.hypothesis) for p in pairs])
    right: dict[str, list[bool]] = defaultdict(list)
    for pair, verdict in zip(pairs, verdicts, strict=True):
        right[pair.category].append(
            verdict.label == ("consistent" if pair.target else "inconsistent")
        )
    return {c: sum(v) / len(v) for c, v in right.items()}


def test_floors_cover_every_category() -> None:
    assert set(GBM_FLOORS) == set(MINIMAL_PAIR_CATEGORIES)


def test_numpy_judge_meets_its_floor_in_every_category() -> None:
    got = accuracy_by_category("local:gbm")
    below = {c: (round(got[c], 3), floor) for c, floor in GBM_FLOORS.items() if got[c] < floor}
    assert not below, f"categories below their floor (got, floor): {below}"


def test_numpy_judge_beats_chance_on_both_sides_overall() -> None:
    got = accuracy_by_category("local:gbm")
    consistent = [got[c] for c in ("copied", "compressed", "fused", "generalisation")]
    assert min(consistent) >= 0.55
    assert sum(got.values()) / len(got) >= 0.7


def test_ensemble_floors_cover_every_category() -> None:
    assert set(ENSEMBLE_FLOORS) == set(MINIMAL_PAIR_CATEGORIES)


def test_the_default_is_the_ensemble_where_installed_and_it_gets_more_pairs_right() -> None:
    """Where the neural extra is installed, ``Judge()`` is the ensemble, the better judge here.

    The adapter retrained on ood/train and generated pairs gets more minimal pairs right than the
    numpy GBM (and more out-of-domain dev data, ``docs/guides/local.md``). If a retrained adapter
    falls behind the GBM here, this fails and the default should be revisited.
    """
    if not _ensemble_ready():
        pytest.skip("needs the neural extra, fitted for the shipped GBM")
    assert Judge().model == Judge("local:ensemble").model != Judge("local:gbm").model
    gbm, ensemble = accuracy_by_category("local:gbm"), accuracy_by_category("local:ensemble")
    assert sum(ensemble.values()) > sum(gbm.values())
    below = {c: (round(ensemble[c], 3), f) for c, f in ENSEMBLE_FLOORS.items() if ensemble[c] < f}
    assert not below, f"categories below their floor (got, floor): {below}"
