"""Pure operations over example tuples: hashing, grouping, splitting, balancing, mixing.

Everything seeded uses its own ``random.Random(seed)``, so results depend only on the data and
the seed (never on global state, process, or Python's string-hash randomisation).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence

from .._errors import ConfigurationError, DataError
from .._types import Example

__all__ = [
    "HASH_VERSION",
    "balance_indices",
    "check_unique_ids",
    "content_hash",
    "dedupe_indices",
    "document_key",
    "mix_indices",
    "split_indices",
]

HASH_VERSION = "hallujudge-dataset-v1"


def content_hash(examples: Sequence[Example]) -> str:
    """SHA-256 over the canonical rows, in order.

    The hashed bytes are ``HASH_VERSION`` and a newline, then per row the UTF-8 of
    ``json.dumps([document, summary, label], ensure_ascii=False, separators=(",", ":"))`` and
    a newline. Ids, sources, meta and the dataset's name do not count: two datasets with the
    same pairs and labels in the same order have the same hash.

    Args:
        examples: The rows.

    Returns:
        64 hex characters.
    """
    digest = hashlib.sha256(HASH_VERSION.encode() + b"\n")
    for ex in examples:
        row = json.dumps(
            [ex.document, ex.summary, ex.label], ensure_ascii=False, separators=(",", ":")
        )
        digest.update(row.encode("utf-8") + b"\n")
    return digest.hexdigest()


def document_key(document: str) -> str:
    """Group key of a document: SHA-1 of its whitespace-collapsed, case-folded text.

    Two copies of a document that differ only in spacing or case share a key, so they cannot
    land on both sides of a split.

    Args:
        document: The text.

    Returns:
        A hex digest.
    """
    normal = " ".join(document.split()).casefold()
    return hashlib.sha1(normal.encode("utf-8"), usedforsecurity=False).hexdigest()


def _where(examples: Sequence[Example], i: int) -> str:
    ex = examples[i]
    return f"row {i}" + (f" (id {ex.id!r})" if ex.id is not None else "")


def check_unique_ids(examples: Sequence[Example]) -> None:
    """Refuse two rows with the same id.

    Args:
        examples: The rows.

    Raises:
        DataError: Naming both rows.
    """
    first: dict[str, int] = {}
    for i, ex in enumerate(examples):
        if ex.id is None:
            continue
        j = first.setdefault(ex.id, i)
        if j != i:
            raise DataError(
                f"duplicate id {ex.id!r} at rows {j} and {i}; ids must be unique "
                "(drop or rename one, or load without an id column)",
                row=i,
            )


def dedupe_indices(examples: Sequence[Example]) -> list[int]:
    """Indices of the first occurrence of each exact (document, summary) pair.

    Args:
        examples: The rows.

    Returns:
        Indices to keep, in order.

    Raises:
        DataError: When copies of a pair disagree on the label, naming both rows.
    """
    first: dict[tuple[str, str], int] = {}
    keep: list[int] = []
    for i, ex in enumerate(examples):
        key = (ex.document, ex.summary)
        j = first.setdefault(key, i)
        if j == i:
            keep.append(i)
        elif examples[j].label != ex.label:
            raise DataError(
                f"{_where(examples, j)} and {_where(examples, i)} hold the same (document, "
                f"summary) with different labels ({examples[j].label} vs {ex.label}); fix or "
                "drop one of them",
                row=i,
            )
    return keep


def split_indices(
    examples: Sequence[Example], test_size: float, seed: int
) -> tuple[list[int], list[int]]:
    """Split rows into train and test so that no document is on both sides.

    Documents are grouped by :func:`document_key`; groups are stratified by the multiset of
    labels they hold (so the label mix stays close on both sides) and, within each stratum,
    shuffled with ``seed`` and the first ``round(test_size * groups)`` go to test.

    Args:
        examples: The rows.
        test_size: Target share of documents in the test split, in (0, 1).
        seed: Random seed.

    Returns:
        (train indices, test indices), each in original order.

    Raises:
        ConfigurationError: If ``test_size`` is outside (0, 1).
        DataError: If there are fewer than two distinct documents.
    """
    if isinstance(test_size, bool) or not 0.0 < float(test_size) < 1.0:
        raise ConfigurationError(
            f"test_size must be between 0 and 1 (exclusive), got {test_size!r}"
        )
    row_keys = [document_key(ex.document) for ex in examples]
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(row_keys):
        groups.setdefault(key, []).append(i)
    if len(groups) < 2:
        raise DataError(
            f"cannot split {len(examples)} rows with {len(groups)} distinct document(s) by "
            "document: at least 2 documents are needed"
        )
    strata: dict[str, list[str]] = {}
    for key, members in groups.items():
        labels = sorted(str(examples[i].label) for i in members)
        strata.setdefault(",".join(labels), []).append(key)
    rng = random.Random(seed)
    test_keys: set[str] = set()
    leftovers: list[tuple[float, str]] = []
    for signature in sorted(strata):
        keys = sorted(strata[signature])  # sorted first: independent of input order
        rng.shuffle(keys)
        exact = test_size * len(keys)
        take = int(exact)
        test_keys.update(keys[:take])
        if take < len(keys):
            leftovers.append((exact - take, keys[take]))
    # Largest-remainder rounding across strata, so the total matches round(test_size * docs).
    target = max(1, min(len(groups) - 1, round(test_size * len(groups))))
    leftovers.sort(key=lambda item: -item[0])
    for _, key in leftovers:
        if len(test_keys) >= target:
            break
        test_keys.add(key)
    if len(test_keys) >= len(groups):  # pragma: no cover - guarded by target
        test_keys.discard(next(iter(test_keys)))
    train = [i for i, key in enumerate(row_keys) if key not in test_keys]
    test = [i for i, key in enumerate(row_keys) if key in test_keys]
    return train, test


def balance_indices(examples: Sequence[Example], seed: int) -> list[int]:
    """Indices of a label-balanced subset: the majority label downsampled to the minority's size.

    Args:
        examples: The rows (all labelled).
        seed: Random seed.

    Returns:
        Indices to keep, in original order.

    Raises:
        DataError: If a row is unlabelled or one label is absent.
    """
    by_label: dict[int, list[int]] = {0: [], 1: []}
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError(
                f"cannot balance: {_where(examples, i)} is unlabelled; drop unlabelled rows "
                "first with .filter(lambda ex: ex.label is not None)",
                row=i,
            )
        by_label[ex.label].append(i)
    size = min(len(by_label[0]), len(by_label[1]))
    if size == 0:
        raise DataError(
            f"cannot balance {len(examples)} rows: {len(by_label[1])} consistent and "
            f"{len(by_label[0])} inconsistent; both labels are needed"
        )
    rng = random.Random(seed)
    keep: list[int] = []
    for label in (0, 1):
        members = by_label[label]
        keep.extend(members if len(members) == size else rng.sample(members, size))
    return sorted(keep)


def mix_indices(
    sizes: Sequence[int], weights: Sequence[float] | None, n: int | None, seed: int
) -> list[tuple[int, int]]:
    """Choose (dataset, row) pairs for a weighted mix, sampling without replacement.

    Args:
        sizes: Rows in each dataset.
        weights: Share of each dataset in the mix (normalised), or None for the sizes.
        n: Rows in the mix; by default the most the weights allow without repeating rows.
        seed: Random seed.

    Returns:
        (dataset index, row index) pairs, shuffled.

    Raises:
        ConfigurationError: For bad weights or ``n``.
        DataError: If a dataset has fewer rows than its share of ``n``.
    """
    if weights is None:
        weights = [float(s) for s in sizes]
    if len(weights) != len(sizes):
        raise ConfigurationError(f"got {len(weights)} weights for {len(sizes)} datasets")
    if any(not w >= 0 for w in weights) or sum(weights) <= 0:
        raise ConfigurationError(
            f"weights must be non-negative with a positive sum, got {list(weights)}"
        )
    total = float(sum(weights))
    shares = [w / total for w in weights]
    if n is None:
        n = min(
            int(size / share + 1e-9) for size, share in zip(sizes, shares, strict=True) if share > 0
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigurationError(f"n must be a non-negative integer, got {n!r}")
    exact = [share * n for share in shares]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda k: (-(exact[k] - counts[k]), k))
    for k in order[: n - sum(counts)]:
        counts[k] += 1
    for k, (count, size) in enumerate(zip(counts, sizes, strict=True)):
        if count > size:
            raise DataError(
                f"the mix needs {count} rows from dataset {k} but it has {size}; lower n "
                "or that dataset's weight (rows are never repeated)"
            )
    rng = random.Random(seed)
    picked = [
        (k, i)
        for k, (count, size) in enumerate(zip(counts, sizes, strict=True))
        for i in sorted(rng.sample(range(size), count))
    ]
    rng.shuffle(picked)
    return picked
