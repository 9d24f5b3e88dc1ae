"""Metrics against scikit-learn (an independent implementation) on fixed data, ties included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from hallujudge import _metrics as m

RNG = np.random.default_rng(7)
# Labels in the data's convention: 1 = consistent, 0 = inconsistent.
LABELS = RNG.integers(0, 2, size=300)
# P(consistent), rounded to 1 decimal so many scores tie.
P_CONS = np.clip(np.round(LABELS * 0.3 + RNG.random(300) * 0.7, 1), 0.0, 1.0)
Y_POS = LABELS == 0
PRED_POS = P_CONS < 0.5


def test_count_metrics_match_sklearn_with_positive_class_inconsistent() -> None:
    tp, fp, fn, tn = m.confusion_counts(Y_POS, PRED_POS)
    got = {k: float(v) for k, v in m.classification_from_counts(tp, fp, fn, tn).items()}
    y, p = Y_POS.astype(int), PRED_POS.astype(int)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert got["precision"] == pytest.approx(skm.precision_score(y, p, pos_label=1))
    assert got["recall"] == pytest.approx(skm.recall_score(y, p, pos_label=1))
    assert got["f1"] == pytest.approx(skm.f1_score(y, p, pos_label=1))
    assert got["specificity"] == pytest.approx(skm.recall_score(y, p, pos_label=0))
    # Recall is on the inconsistent class, not the consistent one (a notebook flaw).
    assert got["recall"] != pytest.approx(skm.recall_score(y, p, pos_label=0))
    cm = skm.confusion_matrix(y, p, labels=[1, 0])
    assert (tp, fn, fp, tn) == (cm[0, 0], cm[0, 1], cm[1, 0], cm[1, 1])


def test_auc_and_average_precision_match_sklearn_with_ties() -> None:
    pos_score = 1.0 - P_CONS
    assert np.unique(pos_score).size < 15  # the data really has ties
    assert m.roc_auc(Y_POS, pos_score) == pytest.approx(skm.roc_auc_score(Y_POS, pos_score))
    assert m.average_precision(Y_POS, pos_score) == pytest.approx(
        skm.average_precision_score(Y_POS, pos_score)
    )


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn_on_random_heavily_tied_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.random(57) < 0.3
    s = rng.integers(0, 4, size=57) / 3.0
    assert m.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    assert m.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))


def test_all_tied_scores_give_auc_one_half() -> None:
    y = np.array([True, False, True, False, False])
    s = np.full(5, 0.4)
    assert m.roc_auc(y, s) == pytest.approx(0.5)
    assert m.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s))


def test_roc_curve_matches_sklearn_points() -> None:
    pos_score = 1.0 - P_CONS
    fpr, tpr, thr = m.roc_curve(Y_POS, pos_score)
    sk_fpr, sk_tpr, _ = skm.roc_curve(Y_POS, pos_score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert thr[0] == np.inf
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.roc_auc(Y_POS, pos_score))


def test_one_class_makes_auc_undefined_not_a_crash() -> None:
    y = np.zeros(10, dtype=bool)  # every row consistent: no positive
    s = np.linspace(0, 1, 10)
    assert math.isnan(m.roc_auc(y, s))
    assert math.isnan(m.average_precision(y, s))
    counts = m.classification_from_counts(*m.confusion_counts(y, s > 0.5))
    assert math.isnan(float(counts["recall"]))
    assert math.isnan(float(counts["balanced_accuracy"]))
    assert float(counts["specificity"]) == pytest.approx(0.5)  # 5 of 10 above 0.5
    boot = m.bootstrap_scores(y, s, n_boot=50, seed=0)
    assert boot["roc_auc"] == (None, None)
    assert boot["ece"][0] is not None


def test_empty_inputs_are_undefined() -> None:
    counts = m.classification_from_counts(0, 0, 0, 0)
    assert all(math.isnan(float(v)) for v in counts.values())
    assert math.isnan(m.expected_calibration_error([], []))
    assert m.percentile([], 50) is None


def test_ece_by_hand_and_against_sklearn_calibration_curve() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0, 0.55])
    y = np.array([0, 1, 0, 1, 1, 0], dtype=bool)
    # bins: [0,.1): {0.05 -> y 0}; [.1,.2): {0.15, 0.15 -> 1, 0}; [.5,.6): {0.55 -> 0};
    # [.9,1]: {0.95, 1.0 -> 1, 1}.
    expected = (1 * 0.05 + 2 * abs(0.15 - 0.5) + 1 * 0.55 + 2 * abs(0.975 - 1.0)) / 6
    assert m.expected_calibration_error(p, y) == pytest.approx(expected)
    # Off the bin edges, the bins agree with scikit-learn's (which closes bins on the right).
    off_edge = np.clip(P_CONS + 0.03, 0.0, 0.99)
    mean_score, share, count = m.calibration_curve(off_edge, LABELS == 1)
    from sklearn.calibration import calibration_curve as sk_cal

    sk_share, sk_mean = sk_cal(LABELS == 1, off_edge, n_bins=10, strategy="uniform")
    keep = count > 0
    np.testing.assert_allclose(share[keep], sk_share)
    np.testing.assert_allclose(mean_score[keep], sk_mean)


def test_bootstrap_is_seeded_and_contains_the_estimate() -> None:
    pred = np.where(PRED_POS, 1, 0)
    pred[:20] = -1  # some unscored rows
    a = m.bootstrap_classification(Y_POS, pred, n_boot=400, seed=3)
    b = m.bootstrap_classification(Y_POS, pred, n_boot=400, seed=3)
    c = m.bootstrap_classification(Y_POS, pred, n_boot=400, seed=4)
    assert a == b
    assert a != c
    scored = pred >= 0
    point = m.classification_from_counts(*m.confusion_counts(Y_POS[scored], pred[scored] == 1))
    for name in m.CLASSIFICATION_METRICS:
        low, high = a["scored"][name]
        assert low is not None
        assert high is not None
        assert low <= float(point[name]) <= high, name
        assert high - low < 0.25
    # Strict intervals count unscored rows as errors: accuracy can only be lower.
    assert a["strict"]["accuracy"][1] < a["scored"]["accuracy"][1]  # type: ignore[operator]


def test_score_bootstrap_contains_estimates_and_is_deterministic() -> None:
    a = m.bootstrap_scores(Y_POS, P_CONS, n_boot=300, seed=1)
    assert a == m.bootstrap_scores(Y_POS, P_CONS, n_boot=300, seed=1)
    auc = m.roc_auc(Y_POS, 1 - P_CONS)
    ap = m.average_precision(Y_POS, 1 - P_CONS)
    ece = m.expected_calibration_error(P_CONS, ~Y_POS)
    for name, point in (("roc_auc", auc), ("pr_auc", ap), ("ece", ece)):
        low, high = a[name]
        assert low is not None
        assert high is not None
        assert low <= point <= high, name


def test_bootstrap_chunking_gives_the_same_auc_as_direct_computation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With one resample per chunk, each resample's AUC must equal sklearn's on those rows.
    monkeypatch.setattr(m, "_CHUNK_CELLS", 1)
    y, p = Y_POS[:40], P_CONS[:40]
    rng = np.random.default_rng(9)
    idx = rng.integers(0, 40, size=(3, 40))
    expected = sorted(skm.roc_auc_score(y[i], 1 - p[i]) for i in idx)
    got = m.bootstrap_scores(y, p, n_boot=3, seed=9)["roc_auc"]
    assert got[0] == pytest.approx(np.percentile(expected, 2.5))
    assert got[1] == pytest.approx(np.percentile(expected, 97.5))


def test_mcnemar_exact_matches_binomial_by_hand() -> None:
    a = np.array([1] * 10 + [0] * 2 + [1] * 5 + [0] * 3, dtype=bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 5 + [0] * 3, dtype=bool)
    only_a, only_b, p = m.mcnemar_exact(a, b)
    assert (only_a, only_b) == (10, 2)
    expected = 2 * sum(math.comb(12, i) for i in range(3)) / 2**12
    assert p == pytest.approx(expected)
    assert m.mcnemar_exact(a, a)[2] == 1.0
    # Large counts do not overflow.
    big_a = np.r_[np.ones(5000, bool), np.zeros(5000, bool)]
    assert 0.0 <= m.mcnemar_exact(big_a, ~big_a)[2] <= 1.0


def test_paired_bootstrap_detects_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(0)
    a = rng.random(400) < 0.6
    b = a | (rng.random(400) < 0.5)  # b is right wherever a is, and more
    diff, low, high, p = m.paired_bootstrap(a, b, n_boot=500, seed=0)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert low is not None
    assert high is not None
    assert p is not None
    assert 0 < low <= diff <= high
    assert p < 0.01
    same = m.paired_bootstrap(a, a, n_boot=200, seed=0)
    assert same[0] == 0.0
    assert same[3] == 1.0


def test_threshold_sweep_counts_match_direct_labelling() -> None:
    thresholds, sweep = m.threshold_sweep(Y_POS, P_CONS)
    for i in (0, 3, len(thresholds) - 1):
        t = thresholds[i]
        direct = m.classification_from_counts(*m.confusion_counts(Y_POS, t > P_CONS))
        assert float(sweep["balanced_accuracy"][i]) == pytest.approx(
            float(direct["balanced_accuracy"]), nan_ok=True
        )
    assert thresholds.max() <= 1.0


def test_latency_percentiles() -> None:
    lat = np.arange(1, 101, dtype=float)
    assert m.percentile(lat, 50) == pytest.approx(50.5)
    assert m.percentile(lat, 95) == pytest.approx(np.percentile(lat, 95))


def test_multinomial_bootstrap_matches_resampling_rows() -> None:
    # The count draws must give the same intervals as resampling row indices directly.
    pred = np.where(PRED_POS, 1, 0)
    pred[:30] = -1
    got = m.bootstrap_classification(Y_POS, pred, n_boot=4000, seed=5)["strict"]
    rng = np.random.default_rng(11)
    idx = rng.integers(0, Y_POS.size, size=(4000, Y_POS.size))
    y, p = Y_POS[idx], pred[idx]
    correct = (p >= 0) & ((p == 1) == y)
    acc = correct.mean(axis=1)
    recall = (correct & y).sum(axis=1) / y.sum(axis=1)
    for name, values in (("accuracy", acc), ("recall", recall)):
        low, high = np.percentile(values, [2.5, 97.5])
        assert got[name][0] == pytest.approx(low, abs=0.015), name
        assert got[name][1] == pytest.approx(high, abs=0.015), name
    a = Y_POS == PRED_POS
    b = a.copy()
    b[:40] = ~b[:40]
    _, lo, hi, _ = m.paired_bootstrap(a, b, n_boot=4000, seed=2)
    direct = (b[idx].astype(float) - a[idx]).mean(axis=1)
    assert lo == pytest.approx(np.percentile(direct, 2.5), abs=0.015)
    assert hi == pytest.approx(np.percentile(direct, 97.5), abs=0.015)
