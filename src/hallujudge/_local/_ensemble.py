"""Combine the lexical GBM judge and the neural cross-encoder into one calibrated probability.

Rule (fitted by ``scripts/build_neural_model.py`` on the validation splits, stored in the neural
adapter's ``metadata.json`` under ``"ensemble"``)::

    p = sigmoid(a * (w * logit(p_gbm) + (1 - w) * logit(p_neural)) + b)

The reason and evidence spans come from the GBM (the neural model cannot point at words); only the
leading "Likely ... (p=...)" sentence is restated with the ensemble's probability so the text never
contradicts the score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hallujudge._local._metrics import roc_auc
from hallujudge._local._model import LocalModel, LocalPrediction
from hallujudge._local._neural import NeuralModel

__all__ = ["EnsembleModel", "combine", "fit_ensemble", "fit_weighted_platt", "logit"]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-6
_HEAD_RE = re.compile(r"^Likely (?:in)?consistent \(p=\d\.\d\d\)\.")


def logit(p: npt.ArrayLike) -> FloatArray:
    """Log-odds of probabilities, clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), dtype=np.float64)


def fit_weighted_platt(
    z: npt.ArrayLike, y: npt.ArrayLike, w: npt.ArrayLike, *, iters: int = 100
) -> tuple[float, float]:
    """Fit ``p = sigmoid(a * z + b)`` minimising the sample-weighted log-loss (Newton steps).

    Args:
        z: Logits.
        y: Labels in {0, 1}.
        w: Non-negative sample weights (e.g. so that each validation split counts equally).
        iters: Maximum Newton steps.

    Returns:
        ``(a, b)``.
    """
    zv = np.asarray(z, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    wv = np.asarray(w, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = _sigmoid(a * zv + b)
        r = wv * (p - yv)
        h = np.maximum(wv * p * (1 - p), 1e-12)
        g = np.array([np.sum(r * zv), np.sum(r)])
        hess = np.array([[np.sum(h * zv * zv), np.sum(h * zv)], [np.sum(h * zv), np.sum(h)]])
        step = np.linalg.solve(hess + np.eye(2) * 1e-9, g)
        a, b = a - float(step[0]), b - float(step[1])
        if np.abs(step).max() < 1e-9:
            break
    return a, b


def combine(p_gbm: npt.ArrayLike, p_neural: npt.ArrayLike, params: dict[str, Any]) -> FloatArray:
    """Apply the ensemble rule (see the module docstring) to two probability arrays."""
    w = float(params["weight"])
    z = w * logit(p_gbm) + (1 - w) * logit(p_neural)
    return _sigmoid(float(params["a"]) * z + float(params["b"]))


def fit_ensemble(
    p_gbm: npt.ArrayLike,
    p_neural: npt.ArrayLike,
    y: npt.ArrayLike,
    sample_weight: npt.ArrayLike,
    groups: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Choose the GBM weight ``w`` on a 0.05 grid, then Platt-calibrate the combined logit.

    ``w`` maximises the mean ROC-AUC over ``groups`` (e.g. 0 = FIB val, 1 = USB val; one group
    when None), so a large split does not decide alone; calibration uses ``sample_weight``.

    Returns:
        ``{"weight": w, "a": a, "b": b}``.
    """
    yv = np.asarray(y, dtype=np.int64)
    gv = np.zeros(yv.size, dtype=np.int64) if groups is None else np.asarray(groups, np.int64)
    lg, ln = logit(p_gbm), logit(p_neural)
    best_w, best_auc = 0.5, -1.0
    for w in np.round(np.arange(0.0, 1.0001, 0.05), 2):
        z = w * lg + (1 - w) * ln
        auc = float(np.mean([roc_auc(yv[gv == g], z[gv == g]) for g in np.unique(gv)]))
        if auc > best_auc + 1e-12:
            best_w, best_auc = float(w), auc
    a, b = fit_weighted_platt(best_w * lg + (1 - best_w) * ln, yv, sample_weight)
    return {"weight": best_w, "a": a, "b": b}


@dataclass
class EnsembleModel:
    """GBM + neural judge with the interface of :class:`LocalModel`.

    Attributes:
        gbm: The lexical judge (reason and spans come from it).
        neural: The cross-encoder.
        params: ``{"weight", "a", "b"}`` of the combination rule.
    """

    gbm: LocalModel
    neural: NeuralModel
    params: dict[str, Any]

    @classmethod
    def load(
        cls, gbm_path: str | Path | None = None, neural_path: str | Path | None = None
    ) -> EnsembleModel:
        """Load both models (the shipped ones by default) and the rule from the neural metadata.

        Raises:
            FileNotFoundError: If either model directory is incomplete.
            ModuleNotFoundError: If the ``neural`` extra is not installed.
        """
        neural = NeuralModel.load(neural_path)
        params = dict(neural.metadata.get("ensemble", {"weight": 0.5, "a": 1.0, "b": 0.0}))
        return cls(LocalModel.load(gbm_path), neural, params)

    @classmethod
    def load_neural_only(
        cls, gbm_path: str | Path | None = None, neural_path: str | Path | None = None
    ) -> EnsembleModel:
        """The neural model's own calibrated probability, with the GBM's reason and spans.

        The rule becomes ``weight=0, a=1, b=0``, i.e. ``p = p_neural`` exactly.
        """
        return cls(
            LocalModel.load(gbm_path),
            NeuralModel.load(neural_path),
            {"weight": 0.0, "a": 1.0, "b": 0.0, "neural_only": True},
        )

    @property
    def version(self) -> str:
        """``<gbm version>+<neural version>``."""
        return f"{self.gbm.version}+{self.neural.version}"

    @property
    def fitted_for_gbm(self) -> bool:
        """True if the combination rule was fitted for the loaded GBM version (or ignores it)."""
        return bool(self.params.get("neural_only")) or (
            self.params.get("gbm_version") == self.gbm.version
        )

    def predict(self, document: str, summary: str) -> LocalPrediction:
        """Judge one pair. See :meth:`predict_many`."""
        return self.predict_many([(document, summary)])[0]

    def predict_many(
        self, pairs: Sequence[tuple[str, str]], batch_size: int = 32
    ) -> list[LocalPrediction]:
        """Judge many ``(document, summary)`` pairs.

        Pairs with an empty document or summary keep the GBM's answer (p=0.5 and a reason saying
        why) and skip the neural model.

        Returns:
            One :class:`LocalPrediction` per pair, in order.
        """
        base = self.gbm.predict_many(pairs)
        live = [
            i for i, (doc, summ) in enumerate(pairs) if (doc or "").strip() and (summ or "").strip()
        ]
        if not live:
            return base
        p_nn = self.neural.predict_many([pairs[i] for i in live], batch_size=batch_size)
        p_gbm = np.array([base[i].p_consistent for i in live])
        p_ens = combine(p_gbm, p_nn, self.params)
        out = list(base)
        for i, p, q in zip(live, p_ens, p_nn, strict=True):
            g = base[i]
            verdict = "Likely consistent" if p >= 0.5 else "Likely inconsistent"
            head = f"{verdict} (p={p:.2f}; neural {q:.2f}, lexical {g.p_consistent:.2f})."
            m = _HEAD_RE.match(g.reason)
            reason = head + g.reason[m.end() :] if m else f"{head} {g.reason}"
            out[i] = LocalPrediction(float(p), reason, g.spans)
        return out
