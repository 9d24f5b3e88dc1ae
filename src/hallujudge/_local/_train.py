"""Train an offline judge model directory with numpy only.

Pipeline: hashed IDF from the training documents -> features -> gradient-boosted trees -> Platt
calibration fitted on *out-of-fold* logits of a K-fold cross-validation over the training rows
(folds grouped by document, so no document is in two folds). Validation rows, when given, are only
scored for the metadata: they never influence the fitted model.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hallujudge._local._augment import augment_rows
from hallujudge._local._features import (
    FEATURE_MONOTONE,
    FEATURE_NAMES,
    build_lexicon,
    featurize,
)
from hallujudge._local._gbm import GBMParams, GradientBoostedTrees, average_trees, fit_gbm
from hallujudge._local._metrics import classification_metrics
from hallujudge._local._model import METADATA_FILE, MODEL_FILE, LocalModel

__all__ = ["FORMAT_VERSION", "data_hash", "fit_platt", "train_local_model"]

FORMAT_VERSION = "local-gbm-v1"
FloatArray = npt.NDArray[np.float64]


def data_hash(rows: Sequence[tuple[str, str, int]]) -> str:
    """SHA-256 over the sorted ``(premise, hypothesis, target)`` rows (order-independent)."""
    lines = sorted(json.dumps([p, h, int(t)], ensure_ascii=False) for p, h, t in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def fit_platt(
    z: FloatArray, y: npt.NDArray[np.integer], *, iters: int = 100
) -> tuple[float, float]:
    """Fit ``p = sigmoid(a * z + b)`` by Newton's method on the log-loss (Platt's smoothed targets).

    Args:
        z: Uncalibrated logits.
        y: Labels in {0, 1}.
        iters: Maximum Newton steps.

    Returns:
        ``(a, b)``.
    """
    yv = np.asarray(y, dtype=np.float64)
    n_pos, n_neg = float(yv.sum()), float(yv.size - yv.sum())
    # Platt (1999): targets pulled slightly off 0/1 to avoid overconfident fits on small sets.
    t = np.where(yv > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -35, 35)))
        r = p - t
        wgt = np.maximum(p * (1 - p), 1e-9)
        g = np.array([np.sum(r * z), np.sum(r)])
        hess = np.array([[np.sum(wgt * z * z), np.sum(wgt * z)], [np.sum(wgt * z), np.sum(wgt)]])
        hess += np.eye(2) * 1e-6
        step = np.linalg.solve(hess, g)
        a, b = a - float(step[0]), b - float(step[1])
        if np.abs(step).max() < 1e-8:
            break
    return a, b


def _group_folds(docs: Sequence[str], n_folds: int, seed: int) -> npt.NDArray[np.int64]:
    """Fold id per row, grouping rows that share a document."""
    ids: dict[str, int] = {}
    group = np.array([ids.setdefault(d, len(ids)) for d in docs], dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(len(ids))
    fold_of_group = np.empty(len(ids), dtype=np.int64)
    fold_of_group[perm] = np.arange(len(ids)) % n_folds
    return fold_of_group[group]


def _fit_bagged(
    x: FloatArray,
    y: npt.NDArray[np.int64],
    *,
    params: GBMParams,
    sample_weight: FloatArray | None,
    seed: int,
    monotone: Sequence[int],
    n_bags: int,
) -> GradientBoostedTrees:
    """``n_bags`` boosted ensembles on different subsampling seeds, averaged (1 = one ensemble)."""
    fits = [
        fit_gbm(x, y, params=params, sample_weight=sample_weight, seed=seed + 7919 * b,
                monotone=monotone)
        for b in range(n_bags)
    ]  # fmt: skip
    return fits[0] if n_bags == 1 else average_trees(fits)


def train_local_model(
    train: Sequence[tuple[str, str, int]],
    out_dir: str | Path,
    *,
    val: Sequence[tuple[str, str, int]] | None = None,
    seed: int = 0,
    params: GBMParams | None = None,
    sample_weight: Sequence[float] | None = None,
    n_folds: int = 5,
    augment: float = 0.0,
    augment_weight: float = 1.0,
    features: Sequence[str] | None = None,
    n_bags: int = 1,
) -> dict[str, Any]:
    """Train an offline judge on labelled pairs and write it to ``out_dir``.

    Args:
        train: ``(document, summary, label)`` rows; label 1 = consistent, 0 = inconsistent.
        out_dir: Directory to create (or overwrite) with ``model.npz`` and ``metadata.json``.
        val: Optional held-out rows, scored for the metadata only (never used for fitting).
        seed: Seed for fold assignment and tree subsampling (training is deterministic given it).
        params: Boosting hyper-parameters (defaults to :class:`GBMParams`).
        sample_weight: Optional weight per training row (e.g. to balance data sources).
        n_folds: Folds of the cross-validation whose out-of-fold logits fit the calibration.
        augment: Synthetic rows per training row (:func:`~._augment.augment_rows`: perturbed
            summaries and document sentences as negatives, document sentences as positives),
            made from ``train`` with ``seed``. 0 (the default) trains on ``train`` alone.
        augment_weight: Sample weight of each synthetic row. Synthetic rows share their source
            row's document, so they stay in its fold; the calibration is fitted on the
            out-of-fold logits of the *real* rows only.
        features: Names (from :data:`~._features.FEATURE_NAMES`) of the features to use, in
            order; ``None`` uses all of them.
        n_bags: Boosted ensembles fitted on different subsampling seeds and averaged into one
            (less dependence on the seed; inference cost grows with the tree count).

    Returns:
        The metadata written to ``metadata.json``.

    Raises:
        ValueError: If labels are not 0/1, only one class is present, weights mismatch,
            ``augment``/``augment_weight`` is negative, or a feature name is unknown.
    """
    t0 = time.perf_counter()
    if augment < 0 or augment_weight < 0:
        raise ValueError("augment and augment_weight must be >= 0")
    if n_bags < 1:
        raise ValueError("n_bags must be >= 1")
    names = tuple(features) if features is not None else FEATURE_NAMES
    unknown = sorted(set(names) - set(FEATURE_NAMES))
    if unknown or not names:
        raise ValueError(f"unknown feature names {unknown}; choose from FEATURE_NAMES")
    cols = [FEATURE_NAMES.index(n) for n in names]
    monotone = tuple(FEATURE_MONOTONE[i] for i in cols)
    rows = [(str(d), str(s), int(y)) for d, s, y in train]
    labels = np.array([y for _, _, y in rows], dtype=np.int64)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (inconsistent) or 1 (consistent)")
    if labels.size < 4 or labels.min() == labels.max():
        raise ValueError("training needs at least 4 rows and both labels")
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != labels.shape or (weights < 0).any():
            raise ValueError("sample_weight must have one non-negative weight per training row")
    p = params or GBMParams()
    n_real = labels.size
    synthetic = augment_rows(rows, ratio=augment, seed=seed) if augment > 0 else []
    kinds: dict[str, int] = {}
    for _, kind in synthetic:
        kinds[kind] = kinds.get(kind, 0) + 1
    if synthetic:
        weights = np.concatenate(
            [
                np.ones(n_real) if weights is None else weights,
                np.full(len(synthetic), float(augment_weight)),
            ]
        )
        labels = np.concatenate([labels, np.array([r[2] for r, _ in synthetic], dtype=np.int64)])
    all_rows = rows + [r for r, _ in synthetic]
    real = np.arange(labels.size) < n_real
    # The lexicon (IDF, capitalisation) comes from the real documents only.
    lex = build_lexicon([d for d, _, _ in rows])
    docs = [d for d, _, _ in all_rows]
    x = featurize([(d, s) for d, s, _ in all_rows], lex)[:, cols]

    # Out-of-fold logits -> Platt calibration (honest: each logit comes from a model that never
    # saw that row's document).
    n_groups = len(set(docs))
    k = max(2, min(n_folds, n_groups))
    folds = _group_folds(docs, k, seed)
    oof = np.zeros(labels.size)
    for f in range(k):
        tr, te = folds != f, folds == f
        if labels[tr].min() == labels[tr].max() or not te.any():
            continue
        m = _fit_bagged(
            x[tr],
            labels[tr],
            params=p,
            sample_weight=None if weights is None else weights[tr],
            seed=seed + f + 1,
            monotone=monotone,
            n_bags=n_bags,
        )
        oof[te] = m.decision_function(x[te])
    a, b = fit_platt(oof[real], labels[real])
    cv_probs = 1.0 / (1.0 + np.exp(-np.clip(a * oof[real] + b, -35, 35)))
    trees = _fit_bagged(
        x, labels, params=p, sample_weight=weights, seed=seed, monotone=monotone, n_bags=n_bags
    )
    train_seconds = time.perf_counter() - t0

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays = dict(trees.to_arrays())
    arrays["idf"] = lex.idf.astype(np.float16)
    arrays["cap"] = lex.cap.astype(np.float16)
    with (out / MODEL_FILE).open("wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
    digest = data_hash(rows)
    # The version names both the training data and the exact weights (features or params changed
    # -> new version even on the same data).
    weights_digest = hashlib.sha256((out / MODEL_FILE).read_bytes()).hexdigest()
    metadata: dict[str, Any] = {
        "version": f"{FORMAT_VERSION}+data.{digest[:8]}.model.{weights_digest[:8]}",
        "format": FORMAT_VERSION,
        "kind": "features -> numpy gradient-boosted trees -> Platt calibration",
        "features": list(names),
        "params": asdict(p),
        "n_bags": n_bags,
        "monotone_decreasing": [n for n, m in zip(names, monotone, strict=True) if m < 0],
        "seed": seed,
        "calibration": {
            "method": f"platt on {k}-fold out-of-fold logits of the training rows, grouped by"
            " document",
            "a": a,
            "b": b,
        },
        "training_data_hash": digest,  # flat alias, used in cache keys by the backend
        "training_data": {
            "sha256": digest,
            "n_rows": n_real,
            "n_documents": n_groups,
            "n_consistent": int(labels[real].sum()),
            "n_inconsistent": int(n_real - labels[real].sum()),
            "weighted": weights is not None,
        },
        "augmentation": {
            "ratio": augment,
            "weight": augment_weight,
            "seed": seed,
            "n_rows": len(synthetic),
            "kinds": dict(sorted(kinds.items())),
        },
        "metrics": {"train_cv": classification_metrics(labels[real], cv_probs)},
        "training_seconds": round(train_seconds, 3),
        "files": {MODEL_FILE: (out / MODEL_FILE).stat().st_size},
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    if val:
        model = LocalModel.load(out)
        probs = [pr.p_consistent for pr in model.predict_many([(d, s) for d, s, _ in val])]
        metadata["metrics"]["val"] = classification_metrics([int(y) for _, _, y in val], probs)
        (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return metadata
