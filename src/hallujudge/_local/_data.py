"""Reading the premise/hypothesis/target JSONL files used to build and benchmark the local judge.

Kept tiny and private: the public dataset loaders live in ``hallujudge.datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["find_shared_data", "load_pairs"]


def load_pairs(path: str | Path) -> list[tuple[str, str, int]]:
    """Read ``(premise, hypothesis, target)`` rows from a JSON Lines file.

    Args:
        path: File with one object per line holding ``premise``, ``hypothesis`` and ``target``.

    Returns:
        The rows in file order.
    """
    rows: list[tuple[str, str, int]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                obj = json.loads(line)
                rows.append((str(obj["premise"]), str(obj["hypothesis"]), int(obj["target"])))
    return rows


def find_shared_data(start: str | Path | None = None) -> Path | None:
    """Locate ``../shared/data`` relative to the project root (or ``start``), if present."""
    here = Path(start) if start is not None else Path.cwd()
    for base in (here, *here.parents):
        cand = base.parent / "shared" / "data"
        if (cand / "fib" / "val.jsonl").is_file():
            return cand
    return None
