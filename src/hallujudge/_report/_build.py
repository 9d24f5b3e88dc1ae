"""Metrics and their bootstrap intervals from per-row columns: :func:`build_report`."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _metrics as mt
from ._columns import Columns, Price
from ._eval_report import EvalReport


def number_or_none(x: Any) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


def _undefined_reason(name: str, tp: int, fp: int, fn: int, tn: int) -> str:
    if tp + fp + fn + tn == 0:
        return "no rows"
    if name in ("recall", "balanced_accuracy") and tp + fn == 0:
        return "no inconsistent rows in the data"
    if name in ("specificity", "balanced_accuracy") and tn + fp == 0:
        return "no consistent rows in the data"
    if name == "precision":
        return "the judge flagged no row as inconsistent"
    return "undefined for this data"


def count_metrics(
    counts: tuple[int, int, int, int], cis: Mapping[str, tuple[float | None, float | None]]
) -> dict[str, mt.Metric]:
    values = mt.classification_from_counts(*counts)
    out = {}
    for name in mt.CLASSIFICATION_METRICS:
        value = number_or_none(values[name])
        low, high = cis.get(name, (None, None))
        reason = None if value is not None else _undefined_reason(name, *counts)
        out[name] = mt.Metric(name, value, low, high, reason)
    return out


def build_report(
    columns: Columns,
    *,
    judge: str,
    prompt: str | None,
    settings: Mapping[str, Any],
    dataset: Mapping[str, Any],
    custom: Mapping[str, mt.Metric] | None = None,
    tokens: tuple[int, int] | None = None,
    price: Price | None = None,
    wall_s: float | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    threshold: float | None = None,
) -> EvalReport:
    """Compute every metric of one judge's run.

    Args:
        columns: Per-row results.
        judge: The judge's model name.
        prompt: The prompt strategy ``name@version``.
        settings: The judge's settings (as in its cache key).
        dataset: ``name``, ``content_hash`` and ``n`` of the data.
        custom: User-defined metrics already computed.
        tokens: Total ``(prompt, completion)`` tokens, or None when no verdict reported usage.
        price: USD per million ``(prompt, completion)`` tokens, for the cost.
        wall_s: Wall time of the run.
        bootstrap: Bootstrap resamples for the 95% intervals (0: none).
        seed: Seed of the resampling.
        threshold: The threshold the evaluator applied to scores, if any.

    Returns:
        The report.
    """
    y_pos = columns.labels == 0
    scored = columns.preds >= 0
    pred_m = np.where(scored, 1 - columns.preds, -1)  # metrics' coding: 1 = said inconsistent
    counts_scored = mt.confusion_counts(y_pos[scored], pred_m[scored] == 1)
    tp, fp, fn, tn = counts_scored
    uns_pos = int(np.sum(y_pos & ~scored))
    uns_neg = int(np.sum(~y_pos & ~scored))
    counts_strict = (tp, fp + uns_neg, fn + uns_pos, tn)
    cis = mt.bootstrap_classification(y_pos, pred_m, n_boot=bootstrap, seed=seed)
    has_score = scored & ~np.isnan(columns.scores)
    score_metrics: dict[str, mt.Metric] = {}
    if has_score.any():
        ys, ps = y_pos[has_score], columns.scores[has_score]
        s_cis = mt.bootstrap_scores(ys, ps, n_boot=bootstrap, seed=seed)
        one_class = bool(ys.all() or not ys.any())
        for name, value in (
            ("roc_auc", mt.roc_auc(ys, 1.0 - ps)),
            ("pr_auc", mt.average_precision(ys, 1.0 - ps)),
            ("ece", mt.expected_calibration_error(ps, ~ys)),
        ):
            v = number_or_none(value)
            reason = None
            if v is None:
                reason = "only one class among rows with a score" if one_class else "undefined"
            score_metrics[name] = mt.Metric(name, v, *s_cis[name], reason)
    p_tok = c_tok = None
    cost = None
    if tokens is not None:
        p_tok, c_tok = tokens
        if price is not None:
            cost = (p_tok * price[0] + c_tok * price[1]) / 1e6
    lat = columns.latency_s
    n_cached = int(columns.cached.sum())
    return EvalReport(
        judge=judge,
        prompt=prompt,
        settings=dict(settings),
        dataset=dict(dataset),
        columns=columns,
        metrics=count_metrics(counts_scored, cis["scored"]),
        metrics_strict=count_metrics(counts_strict, cis["strict"]),
        score_metrics=score_metrics,
        custom=dict(custom or {}),
        confusion={
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "unscored_inconsistent": uns_pos,
            "unscored_consistent": uns_neg,
        },
        latency_s={
            "p50": mt.percentile(lat, 50),
            "p95": mt.percentile(lat, 95),
            "mean": number_or_none(np.nanmean(lat)) if np.any(~np.isnan(lat)) else None,
        },
        tokens=(
            None
            if p_tok is None or c_tok is None
            else {"prompt": p_tok, "completion": c_tok, "total": p_tok + c_tok}
        ),
        cost_usd=cost,
        run={
            "wall_s": wall_s,
            "n_cached": n_cached,
            "n_called": len(columns) - n_cached,
            "rows_per_s": (len(columns) / wall_s) if wall_s else None,
            "bootstrap": bootstrap,
            "seed": seed,
            "threshold": threshold,
            "price_usd_per_mtok": list(price) if price else None,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
