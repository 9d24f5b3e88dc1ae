"""Evaluation metrics for hallucination judges: pure numpy, no I/O.

Conventions (every report states them):

* The **positive class is INCONSISTENT** (data label 0, a hallucination). Precision, recall, F1
  and specificity are computed for that class: recall is the share of hallucinations caught.
* ``y_pos`` arrays are booleans, True for an inconsistent row. ``pred_pos`` likewise for the
  judge's label.
* The "positive score" used for ROC-AUC and PR-AUC is ``1 - P(consistent)``: higher means more
  likely hallucinated. Ties are handled exactly as scikit-learn does (ROC-AUC: trapezoids, i.e.
  a tie counts one half; PR-AUC: average precision over distinct thresholds).
* ECE (expected calibration error) compares ``P(consistent)`` with the observed share of
  consistent rows in 10 equal-width bins ``[0, .1), [.1, .2), ..., [.9, 1.0]``:
  ``sum_b n_b / n * |mean score_b - share consistent_b|``.
* Undefined values (a ratio with a zero denominator, AUC with one class) are ``nan`` here; the
  report turns them into None with a reason.

Bootstrap intervals are percentile intervals (2.5 %, 97.5 %) over resamples drawn with a seeded
``numpy.random.Generator``, vectorised in chunks so memory stays bounded on large datasets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CLASSIFICATION_METRICS",
    "POSITIVE_CLASS",
    "SCORE_METRICS",
    "Metric",
    "PairedTest",
    "average_precision",
    "bootstrap_category_counts",
    "bootstrap_classification",
    "bootstrap_mean",
    "bootstrap_scores",
    "calibration_curve",
    "classification_from_counts",
    "confusion_counts",
    "expected_calibration_error",
    "mcnemar_exact",
    "paired_bootstrap",
    "percentile",
    "roc_auc",
    "roc_curve",
    "threshold_sweep",
]

POSITIVE_CLASS = "inconsistent"
"""The class precision, recall and F1 are computed for: a hallucination."""

CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
)
SCORE_METRICS = ("roc_auc", "pr_auc", "ece")

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Resample chunks hold at most this many indices at once (8 MB of int64 per temporary).
_CHUNK_CELLS = 1_000_000


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric with its bootstrap 95% interval.

    Attributes:
        name: The metric's name (``accuracy``, ``recall``, ...).
        value: The point estimate, or None when undefined (see ``reason``).
        low: Lower end of the 95% bootstrap interval, when computed.
        high: Upper end of the 95% bootstrap interval, when computed.
        reason: Why ``value`` is None (for example only one class present).
    """

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, float | str | None]:
        """A JSON-ready dict."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class PairedTest:
    """Two judges compared on the same rows.

    Attributes:
        n: Rows both judges scored.
        accuracy_a: Accuracy of the first judge on those rows.
        accuracy_b: Accuracy of the second judge on those rows.
        diff: ``accuracy_b - accuracy_a``.
        diff_low: Lower end of the paired-bootstrap 95% interval of ``diff``.
        diff_high: Upper end of that interval.
        bootstrap_p: Two-sided paired-bootstrap p-value for ``diff == 0``.
        only_a_right: Rows the first judge got right and the second wrong.
        only_b_right: Rows the second judge got right and the first wrong.
        mcnemar_p: Exact (binomial) McNemar p-value, two-sided.
    """

    n: int
    accuracy_a: float | None
    accuracy_b: float | None
    diff: float | None
    diff_low: float | None
    diff_high: float | None
    bootstrap_p: float | None
    only_a_right: int
    only_b_right: int
    mcnemar_p: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        """A JSON-ready dict."""
        return {
            "n": self.n,
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "diff": self.diff,
            "diff_low": self.diff_low,
            "diff_high": self.diff_high,
            "bootstrap_p": self.bootstrap_p,
            "only_a_right": self.only_a_right,
            "only_b_right": self.only_b_right,
            "mcnemar_p": self.mcnemar_p,
        }


def _div(num: npt.ArrayLike, den: npt.ArrayLike) -> FloatArray:
    n = np.asarray(num, dtype=np.float64)
    d = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return out


def confusion_counts(y_pos: npt.ArrayLike, pred_pos: npt.ArrayLike) -> tuple[int, int, int, int]:
    """Count ``(tp, fp, fn, tn)`` with inconsistent as the positive class.

    Args:
        y_pos: True where the row is really inconsistent.
        pred_pos: True where the judge said inconsistent.

    Returns:
        True positives, false positives, false negatives, true negatives.
    """
    y = np.asarray(y_pos, dtype=bool)
    p = np.asarray(pred_pos, dtype=bool)
    tp = int(np.sum(y & p))
    fp = int(np.sum(~y & p))
    fn = int(np.sum(y & ~p))
    tn = int(np.sum(~y & ~p))
    return tp, fp, fn, tn


def classification_from_counts(
    tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike, tn: npt.ArrayLike
) -> dict[str, FloatArray]:
    """Every count-based metric from confusion counts (vectorised over arrays of counts).

    Args:
        tp: True positives (inconsistent rows flagged).
        fp: False positives (consistent rows flagged).
        fn: False negatives (hallucinations missed).
        tn: True negatives.

    Returns:
        ``accuracy``, ``balanced_accuracy``, ``precision``, ``recall``, ``f1`` and
        ``specificity``; ``nan`` where a denominator is zero. Balanced accuracy is the mean of
        recall and specificity (``nan`` when a class is absent, as there is nothing to balance).
    """
    tp_a, fp_a, fn_a, tn_a = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    recall = _div(tp_a, tp_a + fn_a)
    specificity = _div(tn_a, tn_a + fp_a)
    precision = _div(tp_a, tp_a + fp_a)
    return {
        "accuracy": _div(tp_a + tn_a, tp_a + fp_a + fn_a + tn_a),
        "balanced_accuracy": (recall + specificity) / 2.0,
        "precision": precision,
        "recall": recall,
        "f1": _div(2.0 * tp_a, 2.0 * tp_a + fp_a + fn_a),
        "specificity": specificity,
    }


def _tie_groups(score: FloatArray) -> tuple[IntArray, int]:
    """Group ids in ascending score order (equal scores share a group) and the group count."""
    uniq, inverse = np.unique(score, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), int(uniq.size)


def _auc_from_group_counts(pos: FloatArray, neg: FloatArray) -> FloatArray:
    """ROC-AUC from per-tie-group counts (groups ascending in positive score; rows = samples)."""
    below = np.cumsum(neg, axis=-1) - neg
    n_pos = pos.sum(axis=-1)
    n_neg = neg.sum(axis=-1)
    wins = (pos * below).sum(axis=-1) + 0.5 * (pos * neg).sum(axis=-1)
    return _div(wins, n_pos * n_neg)


def _ap_from_group_counts(pos: FloatArray, neg: FloatArray) -> FloatArray:
    """Average precision from per-tie-group counts (groups ascending in positive score)."""
    # Thresholds run from the highest score down: reverse the groups.
    pos_d = pos[..., ::-1]
    neg_d = neg[..., ::-1]
    tp = np.cumsum(pos_d, axis=-1)
    fp = np.cumsum(neg_d, axis=-1)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1.0), 0.0)
    n_pos = pos.sum(axis=-1)
    return _div((pos_d * precision).sum(axis=-1), n_pos)


def roc_auc(y_pos: npt.ArrayLike, pos_score: npt.ArrayLike) -> float:
    """Area under the ROC curve, ties counted one half (equal to scikit-learn's).

    Args:
        y_pos: True for inconsistent rows.
        pos_score: Higher = more likely inconsistent (``1 - P(consistent)``).

    Returns:
        The AUC, or ``nan`` when only one class is present.
    """
    y = np.asarray(y_pos, dtype=bool)
    groups, n_groups = _tie_groups(np.asarray(pos_score, dtype=np.float64))
    pos = np.bincount(groups[y], minlength=n_groups).astype(np.float64)
    neg = np.bincount(groups[~y], minlength=n_groups).astype(np.float64)
    return float(_auc_from_group_counts(pos, neg))


def average_precision(y_pos: npt.ArrayLike, pos_score: npt.ArrayLike) -> float:
    """PR-AUC as average precision, ``sum_n (R_n - R_{n-1}) P_n`` (equal to scikit-learn's).

    Args:
        y_pos: True for inconsistent rows.
        pos_score: Higher = more likely inconsistent.

    Returns:
        The average precision, or ``nan`` when there is no inconsistent row.
    """
    y = np.asarray(y_pos, dtype=bool)
    groups, n_groups = _tie_groups(np.asarray(pos_score, dtype=np.float64))
    pos = np.bincount(groups[y], minlength=n_groups).astype(np.float64)
    neg = np.bincount(groups[~y], minlength=n_groups).astype(np.float64)
    return float(_ap_from_group_counts(pos, neg))


def roc_curve(
    y_pos: npt.ArrayLike, pos_score: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ROC points at every distinct threshold, starting at (0, 0).

    Args:
        y_pos: True for inconsistent rows.
        pos_score: Higher = more likely inconsistent.

    Returns:
        ``(fpr, tpr, thresholds)``; the first threshold is ``inf``. Empty-class rates are ``nan``.
    """
    y = np.asarray(y_pos, dtype=bool)
    s = np.asarray(pos_score, dtype=np.float64)
    groups, n_groups = _tie_groups(s)
    pos = np.bincount(groups[y], minlength=n_groups)[::-1].astype(np.float64)
    neg = np.bincount(groups[~y], minlength=n_groups)[::-1].astype(np.float64)
    tps = np.r_[0.0, np.cumsum(pos)]
    fps = np.r_[0.0, np.cumsum(neg)]
    thresholds = np.r_[np.inf, np.unique(s)[::-1]]
    return _div(fps, fps[-1]), _div(tps, tps[-1]), thresholds


def calibration_curve(
    p_consistent: npt.ArrayLike, y_consistent: npt.ArrayLike, bins: int = 10
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Reliability diagram data over equal-width bins of ``P(consistent)``.

    Args:
        p_consistent: The judge's probability that each row is consistent.
        y_consistent: True where the row is really consistent.
        bins: Number of equal-width bins over [0, 1]; the last bin includes 1.0.

    Returns:
        ``(mean_score, share_consistent, count)`` per bin (``nan`` for empty bins).
    """
    p = np.clip(np.asarray(p_consistent, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(y_consistent, dtype=np.float64)
    idx = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(idx, minlength=bins)
    mean_score = _div(np.bincount(idx, weights=p, minlength=bins), count)
    share = _div(np.bincount(idx, weights=y, minlength=bins), count)
    return mean_score, share, count.astype(np.int64)


def expected_calibration_error(
    p_consistent: npt.ArrayLike, y_consistent: npt.ArrayLike, bins: int = 10
) -> float:
    """Expected calibration error over ``bins`` equal-width bins (see the module docstring).

    Args:
        p_consistent: The judge's probability that each row is consistent.
        y_consistent: True where the row is really consistent.
        bins: Number of bins.

    Returns:
        The ECE in [0, 1], or ``nan`` for no rows.
    """
    p = np.asarray(p_consistent, dtype=np.float64)
    if p.size == 0:
        return float("nan")
    mean_score, share, count = calibration_curve(p, y_consistent, bins)
    gaps = np.where(count > 0, np.abs(np.nan_to_num(mean_score) - np.nan_to_num(share)), 0.0)
    return float(np.sum(gaps * count) / p.size)


def percentile(values: npt.ArrayLike, q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), or None for no values.

    Args:
        values: The numbers (``nan`` entries are ignored).
        q: Percentile in [0, 100].

    Returns:
        The percentile, or None.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return None
    return float(np.percentile(v, q))


def _chunks(n: int, n_boot: int) -> list[int]:
    per = max(1, _CHUNK_CELLS // max(n, 1))
    sizes = [per] * (n_boot // per)
    if n_boot % per:
        sizes.append(n_boot % per)
    return sizes


def _interval(samples: FloatArray) -> tuple[float | None, float | None]:
    ok = samples[~np.isnan(samples)]
    if ok.size == 0:
        return None, None
    low, high = np.percentile(ok, [2.5, 97.5])
    return float(low), float(high)


# Row categories for the classification bootstrap: true class x prediction (with unscored).
_CATEGORIES = 6  # y_pos * 3 + (0 = said consistent, 1 = said inconsistent, 2 = unscored)


def bootstrap_classification(
    y_pos: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """Bootstrap 95% intervals of the count-based metrics, over scored rows and strictly.

    Each resample draws rows with replacement from all rows (scored or not), so the share of
    unscored rows varies too. Drawn as multinomial category counts, which is exact for
    count-based metrics and fast on large datasets.

    Args:
        y_pos: True for inconsistent rows.
        pred: Per row: 1 = judged inconsistent, 0 = judged consistent, -1 = unscored.
        n_boot: Number of resamples (0 disables intervals).
        seed: Seed of the resampling generator.

    Returns:
        ``{"scored": {metric: (low, high)}, "strict": {...}}``; "strict" counts an unscored row
        as an error (a missed hallucination, or a false alarm on a consistent row).
    """
    y = np.asarray(y_pos, dtype=bool)
    p = np.asarray(pred, dtype=np.int64)
    cat = y.astype(np.int64) * 3 + np.where(p < 0, 2, p)
    return bootstrap_category_counts(np.bincount(cat, minlength=_CATEGORIES), n_boot, seed)


def bootstrap_category_counts(
    category_counts: npt.ArrayLike, n_boot: int = 1000, seed: int = 0
) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """:func:`bootstrap_classification` from the six row-category counts alone.

    For data that is never in one place (per-block counts summed, as in ``hallujudge.ray``):
    the result is identical to :func:`bootstrap_classification` on the rows themselves.

    Args:
        category_counts: Rows per category ``y_pos * 3 + (0 said consistent, 1 said
            inconsistent, 2 unscored)``.
        n_boot: Number of resamples (0 disables intervals).
        seed: Seed of the resampling generator.

    Returns:
        As :func:`bootstrap_classification`.
    """
    observed = np.asarray(category_counts, dtype=np.int64)
    n = int(observed.sum())
    empty: dict[str, tuple[float | None, float | None]] = dict.fromkeys(
        CLASSIFICATION_METRICS, (None, None)
    )
    if n == 0 or n_boot <= 0:
        return {"scored": dict(empty), "strict": dict(empty)}
    # These metrics depend on the rows only through the six category counts, and resampling
    # n rows with replacement draws those counts from Multinomial(n, observed shares): the same
    # distribution as resampling row indices, in O(n_boot) instead of O(n_boot * n).
    shares = observed / n
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, shares, size=n_boot).astype(np.float64)
    neg_ok, neg_flag, neg_uns, pos_miss, pos_ok, pos_uns = counts.T
    scored = classification_from_counts(pos_ok, neg_flag, pos_miss, neg_ok)
    # Strict: an unscored hallucination is a miss, an unscored consistent row a false alarm.
    strict = classification_from_counts(pos_ok, neg_flag + neg_uns, pos_miss + pos_uns, neg_ok)
    return {
        "scored": {k: _interval(v) for k, v in scored.items()},
        "strict": {k: _interval(v) for k, v in strict.items()},
    }


def bootstrap_scores(
    y_pos: npt.ArrayLike,
    p_consistent: npt.ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, tuple[float | None, float | None]]:
    """Bootstrap 95% intervals of ROC-AUC, PR-AUC and ECE.

    Args:
        y_pos: True for inconsistent rows (rows with a score only).
        p_consistent: The judge's ``P(consistent)`` per row.
        n_boot: Number of resamples (0 disables intervals).
        seed: Seed of the resampling generator.

    Returns:
        ``{"roc_auc": (low, high), "pr_auc": ..., "ece": ...}``; resamples where a metric is
        undefined (one class drawn) are left out of its interval.
    """
    y = np.asarray(y_pos, dtype=bool)
    p = np.asarray(p_consistent, dtype=np.float64)
    n = y.size
    if n == 0 or n_boot <= 0:
        return dict.fromkeys(SCORE_METRICS, (None, None))
    groups, n_groups = _tie_groups(1.0 - p)
    bins = np.minimum((np.clip(p, 0.0, 1.0) * 10).astype(np.int64), 9)
    rng = np.random.default_rng(seed)
    out = {k: np.empty(n_boot, dtype=np.float64) for k in SCORE_METRICS}
    start = 0
    for size in _chunks(n, n_boot):
        idx = rng.integers(0, n, size=(size, n))
        offset = (np.arange(size, dtype=np.int64) * n_groups)[:, None]
        ys = y[idx]
        flat = (groups[idx] + offset).ravel()
        pos_flat = np.bincount(flat, weights=ys.ravel(), minlength=size * n_groups)
        tot = np.bincount(flat, minlength=size * n_groups).astype(np.float64)
        pos: FloatArray = pos_flat.reshape(size, n_groups).astype(np.float64)
        neg: FloatArray = tot.reshape(size, n_groups) - pos
        out["roc_auc"][start : start + size] = _auc_from_group_counts(pos, neg)
        out["pr_auc"][start : start + size] = _ap_from_group_counts(pos, neg)
        boff = (np.arange(size, dtype=np.int64) * 10)[:, None]
        bflat = (bins[idx] + boff).ravel()
        cnt = np.bincount(bflat, minlength=size * 10).reshape(size, 10).astype(np.float64)
        psum = np.bincount(bflat, weights=p[idx].ravel(), minlength=size * 10).reshape(size, 10)
        ysum = np.bincount(bflat, weights=(~ys).ravel().astype(np.float64), minlength=size * 10)
        gap = np.abs(psum - ysum.reshape(size, 10))  # = count * |mean score - share consistent|
        out["ece"][start : start + size] = gap.sum(axis=1) / np.maximum(cnt.sum(axis=1), 1.0)
        start += size
    return {k: _interval(v) for k, v in out.items()}


def mcnemar_exact(correct_a: npt.ArrayLike, correct_b: npt.ArrayLike) -> tuple[int, int, float]:
    """Exact McNemar test: do two judges differ on the rows where exactly one is right?

    Args:
        correct_a: Per row, whether the first judge was right.
        correct_b: Per row, whether the second judge was right (same rows, same order).

    Returns:
        ``(only_a_right, only_b_right, p_value)``; the two-sided p-value is
        ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)`` (1.0 when b + c = 0).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    only_a = int(np.sum(a & ~b))
    only_b = int(np.sum(~a & b))
    m = only_a + only_b
    if m == 0:
        return only_a, only_b, 1.0
    k = min(only_a, only_b)
    # log C(m, i) - m log 2, summed in log space so large m does not overflow.
    i = np.arange(k + 1, dtype=np.float64)
    log_terms = (
        math.lgamma(m + 1)
        - np.array([math.lgamma(x + 1) for x in i])
        - np.array([math.lgamma(m - x + 1) for x in i])
        - m * math.log(2.0)
    )
    top = float(np.max(log_terms))
    tail = math.exp(top) * float(np.sum(np.exp(log_terms - top)))
    return only_a, only_b, min(1.0, 2.0 * tail)


def paired_bootstrap(
    correct_a: npt.ArrayLike,
    correct_b: npt.ArrayLike,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[float, float | None, float | None, float | None]:
    """Paired bootstrap of the accuracy difference ``b - a`` on the same rows.

    Args:
        correct_a: Per row, whether the first judge was right.
        correct_b: Per row, whether the second judge was right.
        n_boot: Number of resamples.
        seed: Seed of the resampling generator.

    Returns:
        ``(diff, low, high, p_value)``: the observed difference, its 95% interval and a
        two-sided p-value: ``2 (k + 1) / (B + 1)`` with ``k`` of the ``B`` resamples on the
        other side of zero (or at it), capped at 1.
    """
    a = np.asarray(correct_a, dtype=np.float64)
    b = np.asarray(correct_b, dtype=np.float64)
    n = a.size
    if n == 0:
        return float("nan"), None, None, None
    d = b - a
    diff = float(d.mean())
    if n_boot <= 0:
        return diff, None, None, None
    rng = np.random.default_rng(seed)
    # Per row the difference is -1, 0 or +1: resampling rows is drawing those three counts
    # from Multinomial(n, observed shares).
    shares = np.array([np.mean(d < 0), np.mean(d == 0), np.mean(d > 0)])
    draws = rng.multinomial(n, shares / shares.sum(), size=n_boot)
    diffs = (draws[:, 2] - draws[:, 0]) / n
    low, high = _interval(diffs.astype(np.float64))
    if diff == 0.0:
        p_value = 1.0
    else:
        # (k + 1) / (B + 1): a resampling p-value is never exactly 0, only "below 1/B".
        other = int(np.sum(diffs <= 0.0) if diff > 0 else np.sum(diffs >= 0.0))
        p_value = float(min(1.0, 2.0 * (other + 1) / (n_boot + 1)))
    return diff, low, high, p_value


def threshold_sweep(
    y_pos: npt.ArrayLike, p_consistent: npt.ArrayLike
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Metrics at every threshold that changes the labels (consistent when ``p >= t``).

    Candidates sit halfway between consecutive distinct scores, so a fitted threshold does not
    sit exactly on one row's score; ``0.0`` (everything consistent) and a value above the largest
    score (everything inconsistent, when that stays below 1) are included.

    Args:
        y_pos: True for inconsistent rows.
        p_consistent: The judge's ``P(consistent)`` per row.

    Returns:
        ``(thresholds, metrics)``: the candidates, ascending, and the count metrics at each.
    """
    y = np.asarray(y_pos, dtype=bool)
    p = np.asarray(p_consistent, dtype=np.float64)
    uniq = np.unique(p)
    parts = [np.zeros(1), (uniq[1:] + uniq[:-1]) / 2.0]
    if uniq.size and uniq[-1] < 1.0:
        parts.append(np.array([(uniq[-1] + 1.0) / 2.0]))
    cands = np.unique(np.concatenate(parts))
    sorted_pos = np.sort(p[y])
    sorted_neg = np.sort(p[~y])
    # Judged inconsistent (positive) when p < t.
    tp = np.searchsorted(sorted_pos, cands, side="left").astype(np.float64)
    fp = np.searchsorted(sorted_neg, cands, side="left").astype(np.float64)
    fn = sorted_pos.size - tp
    tn = sorted_neg.size - fp
    return cands, classification_from_counts(tp, fp, fn, tn)


def bootstrap_mean(
    values: npt.ArrayLike, *, n_boot: int = 1000, seed: int = 0
) -> tuple[float | None, float | None]:
    """Bootstrap 95% interval of a mean (``nan`` values are left out).

    Args:
        values: Per-row values.
        n_boot: Number of resamples (0: no interval).
        seed: Seed of the resampling generator.

    Returns:
        ``(low, high)``, or ``(None, None)`` without values or resamples.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0 or n_boot <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, dtype=np.float64)
    start = 0
    for size in _chunks(v.size, n_boot):
        means[start : start + size] = v[rng.integers(0, v.size, size=(size, v.size))].mean(axis=1)
        start += size
    return _interval(means)
