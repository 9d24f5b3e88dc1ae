"""The evaluation suites of the offline judge: one place that says what is measured and how.

Used by ``scripts/build_default_model.py`` (metrics written into the model's metadata) and by
``benchmarks/local_judge.py`` (the same numbers, with bootstrap intervals), so the two agree.

* ``ood/dev``: balanced accuracy (threshold 0.5) and ROC-AUC per *part* (the 12 parts of the
  data README: 8 SummEdits domains; BEGIN Wizard of Wikipedia, CMU-DoG, Topical-Chat with their
  dialogue models pooled; Factcheck-GPT), and their unweighted means (macro, LLM-AggreFact style);
* FIB val (all 180 rows and the notebook's first 100) and USB val;
* the shipped minimal pairs, accuracy per category.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hallujudge._local._metrics import classification_metrics
from hallujudge._local._pairs import MINIMAL_PAIR_CATEGORIES, load_minimal_pairs

__all__ = ["ScoreFn", "load_rows", "minimal_pair_accuracy", "ood_part", "part_metrics", "suites"]

ScoreFn = Callable[[Sequence[tuple[str, str]]], Sequence[float]]
"""Scores (premise, hypothesis) pairs: one P(consistent) per pair, in order."""

_POOLED = ("begin-wow", "begin-cmudog", "begin-topicalchat")


def ood_part(source: str) -> str:
    """The README's reporting part of an ``ood`` row's ``source`` (BEGIN models pooled)."""
    return next((p for p in _POOLED if source.startswith(p + "-")), source)


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines pair file as dicts (``premise, hypothesis, target``, maybe ``source``)."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def part_metrics(
    rows: Sequence[dict[str, Any]], probs: Sequence[float]
) -> dict[str, dict[str, float]]:
    """:func:`classification_metrics` per ood part, plus ``"macro"`` (means over the parts)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(ood_part(str(r.get("source", ""))), []).append(i)
    y = np.array([int(r["target"]) for r in rows])
    p = np.asarray(probs, dtype=np.float64)
    out = {k: classification_metrics(y[idx], p[idx]) for k, idx in sorted(groups.items())}
    out["macro"] = {
        "n_parts": len(groups),
        "balanced_accuracy": float(np.mean([m["balanced_accuracy"] for m in out.values()])),
        "roc_auc": float(np.nanmean([m["roc_auc"] for m in out.values()])),
        "min_roc_auc": float(np.nanmin([m["roc_auc"] for m in out.values()])),
    }
    return out


def minimal_pair_accuracy(score: ScoreFn) -> dict[str, float]:
    """Share of the shipped minimal pairs judged right (threshold 0.5), per category."""
    pairs = load_minimal_pairs()
    probs = score([(p.premise, p.hypothesis) for p in pairs])
    right: dict[str, list[bool]] = {c: [] for c in MINIMAL_PAIR_CATEGORIES}
    for pair, prob in zip(pairs, probs, strict=True):
        right[pair.category].append((prob >= 0.5) == (pair.target == 1))
    return {c: float(np.mean(v)) for c, v in right.items()}


def suites(score: ScoreFn, data: Path) -> dict[str, Any]:
    """Every selection/report suite that exists under ``data`` (the shared data folder).

    Never reads ``fib/test-cnndm.jsonl``: the held-out set is the benchmark's alone.

    Returns:
        ``{"ood_dev": part metrics, "fib_val_all", "fib_val_first100", "usb_val",
        "minimal_pairs": per category}``, each key present only when its file is.
    """
    out: dict[str, Any] = {}
    ood = data / "ood" / "dev.jsonl"
    if ood.is_file():
        rows = load_rows(ood)
        out["ood_dev"] = part_metrics(rows, score([(r["premise"], r["hypothesis"]) for r in rows]))
    for name, rel, head in (
        ("fib_val_all", "fib/val.jsonl", None),
        ("fib_val_first100", "fib/val.jsonl", 100),
        ("usb_val", "usb/val.jsonl", None),
    ):
        if (data / rel).is_file():
            rows = load_rows(data / rel)[:head]
            probs = score([(r["premise"], r["hypothesis"]) for r in rows])
            out[name] = classification_metrics([int(r["target"]) for r in rows], probs)
    out["minimal_pairs"] = minimal_pair_accuracy(score)
    return out
