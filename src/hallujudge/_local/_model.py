"""The embedded offline judge: load a trained model directory and predict with numpy only."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from hallujudge._local._features import FEATURE_NAMES, Analysis, Lexicon, analyze_many
from hallujudge._local._gbm import GradientBoostedTrees

__all__ = ["DEFAULT_MODEL_DIR", "METADATA_FILE", "MODEL_FILE", "LocalModel", "LocalPrediction"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
_MAX_LISTED = 5


@dataclass(frozen=True)
class LocalPrediction:
    """One prediction of the offline judge.

    Attributes:
        p_consistent: Calibrated probability that the summary is consistent with the document.
        reason: A human-readable explanation naming the unsupported parts.
        spans: ``(start, end, note)`` character offsets into the *summary* of unsupported words,
            numbers and names; ``note`` is ``"number"``, ``"entity"`` or ``"word"``.
    """

    p_consistent: float
    reason: str
    spans: tuple[tuple[int, int, str], ...] = ()


def _reason(a: Analysis, p: float) -> str:
    """Explain a prediction in one or two sentences a person can check against the texts."""
    verdict = "Likely consistent" if p >= 0.5 else "Likely inconsistent"
    parts = [f"{verdict} (p={p:.2f})."]
    if a.spans:
        listed = ", ".join(f"'{s.text}' ({s.kind})" for s in a.spans[:_MAX_LISTED])
        more = f" and {len(a.spans) - _MAX_LISTED} more" if len(a.spans) > _MAX_LISTED else ""
        parts.append(f"Not supported by the document: {listed}{more}.")
    else:
        parts.append("Every content word, number and name of the summary appears in the document.")
    if not math.isnan(a.content_found):
        parts.append(f"{a.content_found:.0%} of content words found")
    if not math.isnan(a.best_coverage):
        parts[-1] += (
            f"; the best-matching passage covers {a.best_coverage:.0%} of the least supported"
            " summary sentence."
        )
    elif not math.isnan(a.content_found):
        parts[-1] += "."
    if a.unlinked:
        x, y = a.unlinked[0]
        parts.append(f"'{x}' and '{y}' never appear near each other in the document.")
    return " ".join(parts)


@dataclass(eq=False)  # compared by identity: field-wise == on numpy arrays is ambiguous
class LocalModel:
    """A trained offline judge: features -> boosted trees -> Platt calibration.

    Use :meth:`load` rather than the constructor.

    Attributes:
        path: Directory the model was loaded from.
        metadata: Contents of ``metadata.json`` (version, training data hash, metrics, ...).
        trees: The boosted-tree ensemble.
        lexicon: Hashed corpus tables (IDF, capitalisation) used by the features.
        calibration: ``(a, b)`` of ``p = sigmoid(a * logit + b)``.
        columns: Indices into :data:`FEATURE_NAMES` of the features the trees use, in their
            order (``None``: all of them).
    """

    path: Path
    metadata: dict[str, Any]
    trees: GradientBoostedTrees
    lexicon: Lexicon
    calibration: tuple[float, float] = field(default=(1.0, 0.0))
    columns: npt.NDArray[np.int64] | None = None

    @classmethod
    def load(cls, path: str | Path | None = None) -> LocalModel:
        """Load a model directory (the shipped default when ``path`` is None).

        Args:
            path: Directory written by :func:`train_local_model`.

        Returns:
            The loaded model.

        Raises:
            FileNotFoundError: If the directory lacks ``model.npz`` or ``metadata.json``.
            ValueError: If the model was trained with a different feature set.
        """
        root = Path(path) if path is not None else DEFAULT_MODEL_DIR
        meta_path, model_path = root / METADATA_FILE, root / MODEL_FILE
        if not meta_path.is_file() or not model_path.is_file():
            raise FileNotFoundError(
                f"no offline judge model in {root} (need {MODEL_FILE}, {METADATA_FILE})"
            )
        metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        names = tuple(metadata.get("features", ()))
        unknown = sorted(set(names) - set(FEATURE_NAMES))
        if not names or unknown:
            raise ValueError(
                f"model in {root} was trained with features this version does not compute"
                f" ({', '.join(unknown[:5]) or 'none listed'}); retrain it"
            )
        with np.load(model_path) as data:
            arrays = {k: data[k] for k in data.files}
        trees = GradientBoostedTrees.from_arrays(arrays)
        lexicon = Lexicon(
            idf=np.asarray(arrays["idf"], dtype=np.float32),
            cap=np.asarray(arrays["cap"], dtype=np.float32),
        )
        cal = metadata.get("calibration", {})
        # A model may use a subset of the features, in its own order (older models keep working
        # when features are added).
        columns = np.array([FEATURE_NAMES.index(n) for n in names], dtype=np.int64)
        return cls(
            root,
            metadata,
            trees,
            lexicon,
            (float(cal.get("a", 1.0)), float(cal.get("b", 0.0))),
            columns,
        )

    @property
    def version(self) -> str:
        """The model version recorded in its metadata."""
        return str(self.metadata.get("version", "unknown"))

    def _probabilities(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        a, b = self.calibration
        if self.columns is not None:
            x = x[:, self.columns]
        z = a * self.trees.decision_function(x) + b
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))), dtype=np.float64)

    def predict(self, document: str, summary: str) -> LocalPrediction:
        """Judge one pair. See :meth:`predict_many`."""
        return self.predict_many([(document, summary)])[0]

    def predict_many(self, pairs: Sequence[tuple[str, str]]) -> list[LocalPrediction]:
        """Judge many (document, summary) pairs; features per pair, trees vectorised.

        Empty documents or summaries give ``p_consistent=0.5`` with a reason saying why.

        Args:
            pairs: ``(document, summary)`` tuples.

        Returns:
            One :class:`LocalPrediction` per pair, in order.
        """
        analyses = analyze_many([(doc or "", summ or "") for doc, summ in pairs], self.lexicon)
        if not analyses:
            return []
        probs = self._probabilities(np.stack([a.features for a in analyses]))
        out: list[LocalPrediction] = []
        for (doc, summ), a, p in zip(pairs, analyses, probs, strict=True):
            if not (summ or "").strip():
                out.append(LocalPrediction(0.5, "Empty summary: there is nothing to judge."))
                continue
            if not (doc or "").strip():
                out.append(
                    LocalPrediction(
                        0.5, "Empty document: the summary cannot be checked against it."
                    )
                )
                continue
            spans = tuple((s.start, s.end, s.kind) for s in a.spans)
            out.append(LocalPrediction(float(p), _reason(a, float(p)), spans))
        return out
