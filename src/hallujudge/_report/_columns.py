"""Per-row results of an evaluation (:class:`Columns`), the codes of labels, and prices."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Price = tuple[float, float]
"""USD per million tokens: ``(prompt, completion)``."""

LABEL_NAMES = {1: "consistent", 0: "inconsistent", -1: "unscored"}
CODES = {"consistent": 1, "inconsistent": 0, "unscored": -1}


@dataclass(slots=True, eq=False)  # numpy columns: compare reports with to_dict()
class Columns:
    """Per-row results, one array entry per dataset row, in dataset order.

    Attributes:
        ids: Row ids (the example's id, or its position when it has none).
        labels: Gold labels: 1 = consistent, 0 = inconsistent.
        preds: The judge's labels: 1 = consistent, 0 = inconsistent, -1 = unscored.
        scores: ``P(consistent)``, ``nan`` when the verdict has none.
        latency_s: Judgment wall time, ``nan`` when unknown.
        cached: Whether the verdict came from the cache.
        errors: Why a row is unscored, by row position.
    """

    ids: list[str]
    labels: npt.NDArray[np.int8]
    preds: npt.NDArray[np.int8]
    scores: npt.NDArray[np.float64]
    latency_s: npt.NDArray[np.float64]
    cached: npt.NDArray[np.bool_]
    errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a JSON-ready dict."""
        out = []
        for i, row_id in enumerate(self.ids):
            score = float(self.scores[i])
            lat = float(self.latency_s[i])
            out.append(
                {
                    "index": i,
                    "id": row_id,
                    "label": int(self.labels[i]),
                    "prediction": LABEL_NAMES[int(self.preds[i])],
                    "score": None if math.isnan(score) else score,
                    "error": self.errors.get(i),
                    "latency_s": None if math.isnan(lat) else lat,
                    "cached": bool(self.cached[i]),
                }
            )
        return out

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Columns:
        """Rebuild columns from :meth:`rows` output."""
        nan = float("nan")
        return cls(
            ids=[str(r["id"]) for r in rows],
            labels=np.array([int(r["label"]) for r in rows], dtype=np.int8),
            preds=np.array([CODES[r["prediction"]] for r in rows], dtype=np.int8),
            scores=np.array(
                [nan if r.get("score") is None else r["score"] for r in rows], dtype=np.float64
            ),
            latency_s=np.array(
                [nan if r.get("latency_s") is None else r["latency_s"] for r in rows],
                dtype=np.float64,
            ),
            cached=np.array([bool(r.get("cached")) for r in rows], dtype=bool),
            errors={int(r["index"]): str(r["error"]) for r in rows if r.get("error")},
        )
