"""Numpy-only metrics for the offline judge (no scikit-learn at inference or in tests).

Conventions: ``y`` is 1 = consistent, 0 = inconsistent (the data's convention) and ``p`` is the
probability of *consistent*. Accuracy, balanced accuracy and ROC-AUC are symmetric in the choice
of positive class, so they equal what a hallucination detector (positive = inconsistent) reports.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["bootstrap_ci", "classification_metrics", "ece", "ece_noise_floor", "roc_auc"]

FloatArray = npt.NDArray[np.float64]


def roc_auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """ROC-AUC via the rank-sum statistic (ties get average ranks); ``nan`` for one class."""
    yv = np.asarray(y, dtype=np.int64)
    s = np.asarray(score, dtype=np.float64)
    n_pos = int(yv.sum())
    n_neg = yv.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # Average ranks over runs of tied scores.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[yv == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def ece(y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error of ``p`` = P(y=1) with equal-width bins over [0, 1]."""
    yv = np.asarray(y, dtype=np.float64)
    pv = np.asarray(p, dtype=np.float64)
    if yv.size == 0:
        return float("nan")
    idx = np.minimum((pv * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(yv[m].mean() - pv[m].mean())
    return float(total / yv.size)


def classification_metrics(y: npt.ArrayLike, p: npt.ArrayLike) -> dict[str, float]:
    """Accuracy, balanced accuracy (threshold 0.5), ROC-AUC and ECE of probabilities ``p``."""
    yv = np.asarray(y, dtype=np.int64)
    pv = np.asarray(p, dtype=np.float64)
    pred = (pv >= 0.5).astype(np.int64)
    recalls = [float((pred[yv == c] == c).mean()) for c in (0, 1) if (yv == c).any()]
    return {
        "n": int(yv.size),
        "accuracy": float((pred == yv).mean()) if yv.size else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
        "roc_auc": roc_auc(yv, pv),
        "ece": ece(yv, pv),
    }


def bootstrap_ci(
    y: npt.ArrayLike, p: npt.ArrayLike, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals for :func:`classification_metrics`."""
    yv = np.asarray(y, dtype=np.int64)
    pv = np.asarray(p, dtype=np.float64)
    rng = np.random.default_rng(seed)
    keys = ("accuracy", "balanced_accuracy", "roc_auc", "ece")
    samples: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(n_boot):
        idx = rng.integers(0, yv.size, yv.size)
        m = classification_metrics(yv[idx], pv[idx])
        for k in keys:
            samples[k].append(m[k])
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out: dict[str, tuple[float, float]] = {}
    for k in keys:
        arr = np.asarray(samples[k])
        arr = arr[np.isfinite(arr)]
        out[k] = (
            (float(np.percentile(arr, lo)), float(np.percentile(arr, hi)))
            if arr.size
            else (
                float("nan"),
                float("nan"),
            )
        )
    return out


def ece_noise_floor(p: npt.ArrayLike, *, n_sim: int = 1000, seed: int = 0) -> tuple[float, float]:
    """ECE a *perfectly calibrated* model would still show on this many rows.

    Labels are drawn as ``y ~ Bernoulli(p)``; returns the median and 95th percentile of the ECE.
    On a few hundred rows this floor is several points, which puts a measured ECE in context.
    """
    pv = np.asarray(p, dtype=np.float64)
    rng = np.random.default_rng(seed)
    sims = [ece((rng.uniform(size=pv.size) < pv).astype(np.int64), pv) for _ in range(n_sim)]
    return float(np.median(sims)), float(np.percentile(sims, 95))
