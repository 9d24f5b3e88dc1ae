"""The behavioural suite shipped with the package: hand-written minimal pairs, per category.

CheckList-style (Ribeiro et al., 2020): each document comes with one summary per category, a
consistent rewrite (copied, compressed, fused, generalised) or a single, obvious error (antonym,
absent entity, swapped entities, number, date, negation, reversed roles, appended claim, a sentence
from a similar document). Written for this project (no benchmark text); the README quickstart pair
is included. Used by the tests (a per-category threshold the shipped judges must pass) and by
``benchmarks/local_judge.py``.

Example:
    >>> pairs = load_minimal_pairs()
    >>> sorted({p.category for p in pairs}) == sorted(MINIMAL_PAIR_CATEGORIES)
    True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "CONSISTENT_CATEGORIES",
    "INCONSISTENT_CATEGORIES",
    "MINIMAL_PAIRS_FILE",
    "MINIMAL_PAIR_CATEGORIES",
    "MinimalPair",
    "load_minimal_pairs",
]

MINIMAL_PAIRS_FILE = Path(__file__).resolve().parent / "minimal_pairs.jsonl"
CONSISTENT_CATEGORIES = ("copied", "compressed", "fused", "generalisation")
INCONSISTENT_CATEGORIES = (
    "antonym",
    "absent_entity",
    "swapped_entities",
    "number",
    "date",
    "negation",
    "role_reversal",
    "appended_claim",
    "other_document",
)
MINIMAL_PAIR_CATEGORIES = CONSISTENT_CATEGORIES + INCONSISTENT_CATEGORIES


class MinimalPair(NamedTuple):
    """One behavioural test case.

    Attributes:
        id: Stable id, ``{domain}-{document}-{category}``.
        premise: The document.
        hypothesis: The summary to judge.
        target: 1 = consistent, 0 = inconsistent.
        category: One of :data:`MINIMAL_PAIR_CATEGORIES`.
    """

    id: str
    premise: str
    hypothesis: str
    target: int
    category: str


def load_minimal_pairs(path: str | Path | None = None) -> list[MinimalPair]:
    """Read the shipped minimal pairs (or another file with the same fields).

    Args:
        path: A JSON Lines file with ``id, premise, hypothesis, target, category``; ``None``
            reads the one shipped in the package.

    Returns:
        The pairs in file order.
    """
    source = Path(path) if path is not None else MINIMAL_PAIRS_FILE
    pairs: list[MinimalPair] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            pairs.append(
                MinimalPair(
                    str(obj["id"]),
                    str(obj["premise"]),
                    str(obj["hypothesis"]),
                    int(obj["target"]),
                    str(obj["category"]),
                )
            )
    return pairs
