"""Writing JSON Lines files atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_jsonl"]


def _json_default(value: Any) -> Any:
    # Meta from pandas/pyarrow may hold numpy values; anything else unknown is written as text.
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line, atomically (a temp file renamed into place).

    Args:
        path: The output file; parent folders are created.
        rows: The objects.

    Returns:
        The path written.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
