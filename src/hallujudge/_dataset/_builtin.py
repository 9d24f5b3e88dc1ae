"""Datasets shipped in the package, loadable by name offline: ``Dataset.load("minimal-pairs")``.

``minimal-pairs`` is the behavioural suite the project wrote itself (no benchmark text): one
document per topic with one summary per category, either a consistent rewrite or a single,
obvious error. Each row's ``category`` becomes the example's ``source``, so reports break the
metrics down per category. Public benchmarks (FIB, USB) come from the Hugging Face hub with
:meth:`Dataset.from_hub`, which needs the ``data`` extra and a network connection.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .._errors import DataError

__all__ = ["BUILTIN_DATASETS", "builtin_path"]

BUILTIN_DATASETS: dict[str, str] = {
    "minimal-pairs": "_local/minimal_pairs.jsonl",
}
"""Built-in name -> the file's path inside the ``hallujudge`` package."""


def builtin_path(name: str) -> Path:
    """The file behind a built-in dataset name.

    Args:
        name: One of :data:`BUILTIN_DATASETS`.

    Returns:
        The path of the shipped JSON Lines file.

    Raises:
        DataError: For an unknown name (the message lists the known ones).
    """
    relative = BUILTIN_DATASETS.get(name)
    if relative is None:
        raise DataError(
            f"no built-in dataset {name!r}; built-in: {', '.join(sorted(BUILTIN_DATASETS))}"
        )
    return Path(str(files("hallujudge").joinpath(relative)))
