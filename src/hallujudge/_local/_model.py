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

from hallujudge._local._claim_level import ClaimJudgement, judge_claims
from hallujudge._local._features import FEATURE_NAMES, Analysis, Lexicon, analyze_many
from hallujudge._local._gbm import GradientBoostedTrees

__all__ = ["DEFAULT_MODEL_DIR", "METADATA_FILE", "MODEL_FILE", "LocalModel", "LocalPrediction"]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default"
MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
_MAX_LISTED = 5
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LocalPrediction:
    """One prediction of the offline judge.

    Attributes:
        p_consistent: Calibrated probability that the summary is consistent with the document.
        reason: A human-readable explanation naming the unsupported parts.
        spans: ``(start, end, note)`` character offsets into the *summary* of unsupported words,
            numbers and names; ``note`` is ``"number"``, ``"entity"`` or ``"word"``.
        claim: ``(start, end)`` of the weakest claim in the summary, when the summary was judged
            claim by claim (several sentences, or a document in several windows), else None.
        evidence: ``(start, end)`` of the document window that best supports that claim.
    """

    p_consistent: float
    reason: str
    spans: tuple[tuple[int, int, str], ...] = ()
    claim: tuple[int, int] | None = None
    evidence: tuple[int, int] | None = None


def _claim_sentence(summary: str, j: ClaimJudgement) -> str:
    a, b = j.claim
    text = summary[a:b]
    shown = text if len(text) <= 120 else text[:117] + "..."
    where = f"document characters {j.evidence[0]}-{j.evidence[1]}"
    return (
        f"Weakest of {len(j.claims)} claims: '{shown}' (summary characters {a}-{b}); best"
        f" evidence: {where}."
    )


def _reason(a: Analysis, p: float, claim: str = "") -> str:
    """Explain a prediction in one or two sentences a person can check against the texts."""
    verdict = "Likely consistent" if p >= 0.5 else "Likely inconsistent"
    parts = [f"{verdict} (p={p:.2f})."]
    if claim:
        parts.append(claim)
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
    if a.moved:
        word, neighbour, rival = a.moved[0]
        parts.append(
            f"'{word}' is next to '{neighbour}' here; in the document '{neighbour}' goes with"
            f" '{rival}' (names or roles exchanged?)."
        )
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

    def _analyze(self, pairs: Sequence[tuple[str, str]]) -> tuple[list[Analysis], FloatArray]:
        analyses = analyze_many(pairs, self.lexicon)
        if not analyses:
            return [], np.empty(0)
        return analyses, self._probabilities(np.stack([a.features for a in analyses]))

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> FloatArray:
        """P(consistent) of each (premise, hypothesis) pair as a whole: no claims, no windows.

        This is the :class:`~hallujudge._local._claim_level.PairScorer` that claim-level
        judging (:meth:`predict_many`) calls for every (window, claim) pair.
        """
        return self._analyze(pairs)[1]

    def predict(self, document: str, summary: str) -> LocalPrediction:
        """Judge one pair. See :meth:`predict_many`."""
        return self.predict_many([(document, summary)])[0]

    def predict_many(self, pairs: Sequence[tuple[str, str]]) -> list[LocalPrediction]:
        """Judge many (document, summary) pairs, claim by claim.

        Each summary sentence is scored against its best window of the document
        (:func:`~hallujudge._local._claim_level.judge_claims`); the summary's probability is its
        weakest claim's, and the reason and spans describe that claim. A one-sentence summary of
        a document that fits one window is scored as the whole pair. Empty documents or
        summaries give ``p_consistent=0.5`` with a reason saying why.

        Args:
            pairs: ``(document, summary)`` tuples.

        Returns:
            One :class:`LocalPrediction` per pair, in order.
        """
        out: list[LocalPrediction | None] = [None] * len(pairs)
        live: list[int] = []
        for i, (doc, summ) in enumerate(pairs):
            if not (summ or "").strip():
                out[i] = LocalPrediction(0.5, "Empty summary: there is nothing to judge.")
            elif not (doc or "").strip():
                out[i] = LocalPrediction(
                    0.5, "Empty document: the summary cannot be checked against it."
                )
            else:
                live.append(i)
        seen: dict[tuple[str, str], Analysis] = {}

        def scorer(jobs: Sequence[tuple[str, str]]) -> FloatArray:
            analyses, probs = self._analyze(jobs)
            seen.update(zip(jobs, analyses, strict=True))
            return probs

        judged = judge_claims([pairs[i] for i in live], scorer)
        for i, j in zip(live, judged, strict=True):
            doc, summ = pairs[i]
            a0, b0 = j.claim
            analysis = seen[(doc[j.evidence[0] : j.evidence[1]], summ[a0:b0])]
            spans = tuple((s.start + a0, s.end + a0, s.kind) for s in analysis.spans)
            claim = _claim_sentence(summ, j) if j.multi else ""
            out[i] = LocalPrediction(
                j.p_consistent,
                _reason(analysis, j.p_consistent, claim),
                spans,
                claim=j.claim if j.multi else None,
                evidence=j.evidence if j.multi else None,
            )
        return [p for p in out if p is not None]
