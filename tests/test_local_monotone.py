"""Unsupported content can never raise P(consistent): the monotone constraints, as properties."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge._local import LocalModel, load_minimal_pairs
from hallujudge._local._features import FEATURE_MONOTONE, FEATURE_NAMES, analyze_many
from hallujudge._local._gbm import GBMParams, fit_gbm

UNSUPPORTED = (
    "content_novel_frac",
    "content_novel_count",
    "idf_novel_frac",
    "num_novel_count",
    "num_novel_frac",
    "ent_novel_count",
    "ent_novel_frac",
    "hard_novel_frac",
    "date_novel_count",
)
MODEL = LocalModel.load()
PAIRS = load_minimal_pairs()
BASE = np.stack([a.features for a in analyze_many([(p.premise, p.hypothesis) for p in PAIRS],
                                                   MODEL.lexicon)])  # fmt: skip
DECREASING = [i for i, m in enumerate(FEATURE_MONOTONE) if m < 0]


def test_every_unsupported_content_feature_is_constrained_in_training_and_in_the_model() -> None:
    for name in UNSUPPORTED:
        assert FEATURE_MONOTONE[FEATURE_NAMES.index(name)] == -1, name
    shipped = set(MODEL.metadata["monotone_decreasing"])
    assert set(UNSUPPORTED) <= shipped


@settings(max_examples=300, deadline=None)
@given(
    row=st.integers(0, len(PAIRS) - 1),
    feature=st.sampled_from(DECREASING),
    delta=st.floats(0.01, 20.0),
)
def test_more_unsupported_content_never_raises_the_shipped_models_probability(
    row: int, feature: int, delta: float
) -> None:
    x = BASE[row : row + 1].copy()
    before = MODEL._probabilities(x)[0]
    x[0, feature] += delta
    assert MODEL._probabilities(x)[0] <= before + 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), direction=st.sampled_from([-1, 1]))
def test_fit_gbm_respects_a_constraint_that_contradicts_the_data(seed: int, direction: int) -> None:
    """Even when the labels rise with a feature, a -1 constraint keeps the fit non-increasing."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(300, 3))
    y = x[:, 0] * direction + 0.3 * rng.normal(size=300) > (0.5 if direction > 0 else -0.5)
    model = fit_gbm(x, y.astype(int), params=GBMParams(n_trees=20, min_leaf=5), seed=seed,
                    monotone=[-1, 0, 0])  # fmt: skip
    grid = np.tile(rng.uniform(0, 1, size=(1, 3)), (50, 1))
    grid[:, 0] = np.linspace(0, 1, 50)
    z = model.decision_function(grid)
    assert np.all(np.diff(z) <= 1e-12)
