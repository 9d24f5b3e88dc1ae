"""Turning raw rows (dicts from JSONL, CSV, Parquet, pandas, ``datasets``) into Examples.

One place decides what a valid row is, so every loader reports bad data the same way: a
:class:`~hallujudge.DataError` that names the row (``row`` = 0-based index among data rows)
and, for files, the line.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import DataError
from .._types import Example

__all__ = [
    "NATIVE",
    "PAIR",
    "ColumnMap",
    "check_text",
    "is_missing",
    "make_mapping",
    "parse_label",
    "row_to_example",
    "rows_to_examples",
]

_TEXT_LABELS = {"consistent": 1, "inconsistent": 0, "1": 1, "0": 0}


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds which field of an :class:`Example`.

    Attributes:
        document: Column of the source document.
        summary: Column of the summary to judge.
        label: Column of the label, or None for unlabelled data.
        id: Column of the row id, or None.
        source: Column naming where the row came from, or None.
        required: Optional fields the user named explicitly: a row without them is an error
            (a typo in ``label=`` must not silently load unlabelled data).
    """

    document: str = "premise"
    summary: str = "hypothesis"
    label: str | None = "target"
    id: str | None = "id"
    source: str | None = "source"
    required: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        """The mapping as keyword arguments, for error messages."""
        return (
            f"document={self.document!r}, summary={self.summary!r}, label={self.label!r}, "
            f"id={self.id!r}, source={self.source!r}"
        )

    @functools.cached_property
    def fields(self) -> frozenset[str]:
        """Column names this mapping reads."""
        names = (self.document, self.summary, self.label, self.id, self.source)
        return frozenset(n for n in names if n is not None)


PAIR = ColumnMap()
"""The pair format of ``../shared/data`` and the reference notebook: premise/hypothesis/target."""

NATIVE = ColumnMap(document="document", summary="summary", label="label", id="id", source="source")
"""Example's own field names (what :meth:`Dataset.to_pandas` writes)."""

_KEYS = ("document", "summary", "label", "id", "source")


def make_mapping(
    overrides: Mapping[str, str | None], columns: Iterable[str] | None = None
) -> ColumnMap:
    """Build the column mapping from user keywords, guessing Example-native names if needed.

    When the user named neither ``document`` nor ``summary`` and the columns are Example's own
    field names (``document``, ``summary``, ``label``) rather than the pair format's, those are
    used, so ``to_pandas()`` output loads back without a mapping.

    Args:
        overrides: Keywords the user passed (``document=``, ``summary=``, ``label=``, ``id=``,
            ``source=``).
        columns: The columns the data has, when known up front.

    Returns:
        The mapping.

    Raises:
        DataError: For an unknown keyword.
    """
    unknown = set(overrides) - set(_KEYS)
    if unknown:
        raise DataError(
            f"unknown column mapping {sorted(unknown)}; use any of {', '.join(_KEYS)} "
            "(for example document='article', summary='claim', label='is_consistent')"
        )
    base = PAIR
    if columns is not None and "document" not in overrides and "summary" not in overrides:
        cols = set(columns)
        if {"document", "summary"} <= cols and not {"premise", "hypothesis"} <= cols:
            base = NATIVE
    values: dict[str, Any] = {k: getattr(base, k) for k in _KEYS}
    values.update(overrides)
    for key in ("document", "summary"):
        if not isinstance(values[key], str) or not values[key]:
            raise DataError(f"{key}= must name a column, got {values[key]!r}")
    required = frozenset(k for k in ("label", "id", "source") if overrides.get(k) is not None)
    return ColumnMap(**values, required=required)


def is_missing(value: object) -> bool:
    """Whether a cell is empty: None, NaN, or pandas' NA/NaT."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value: object) -> object:
    # numpy scalars (from pandas, pyarrow) become Python values; numpy is imported lazily by
    # whoever produced them, so duck-typing avoids importing it here.
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def parse_label(value: object, *, where: str, row: int | str | None) -> Literal[0, 1] | None:
    """Read a label: 1 = consistent, 0 = inconsistent, None = unlabelled.

    Accepts 0/1 (ints, integral floats, ``"0"``/``"1"``/``"0.0"``/``"1.0"``), booleans, and
    the words ``consistent``/``inconsistent`` (any case). Empty cells are unlabelled.

    Args:
        value: The raw cell.
        where: Where the row is, for the error message.
        row: The row reference stored in the error.

    Returns:
        The label.

    Raises:
        DataError: For any other value, naming the row.
    """
    if type(value) is int and (value == 0 or value == 1):  # the common case, first
        return 1 if value == 1 else 0
    value = _plain(value)
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value in (0, 1):
        return 1 if value == 1 else 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        if text in _TEXT_LABELS:
            return 1 if _TEXT_LABELS[text] == 1 else 0
        if text in ("1.0", "0.0"):  # CSVs written by pandas from a float column
            return 1 if text == "1.0" else 0
    raise DataError(
        f"{where}: label {value!r} is not valid; use 1 or 'consistent' for a consistent "
        "summary, 0 or 'inconsistent' for an inconsistent one, or leave it empty",
        row=row,
    )


def check_text(value: object, name: str, *, where: str, row: int | str | None) -> str:
    """Return a non-empty string cell or raise a DataError that names the row.

    Args:
        value: The raw cell.
        name: The column (for the message).
        where: Where the row is.
        row: The row reference stored in the error.

    Returns:
        The text, unchanged.

    Raises:
        DataError: If the cell is missing, not a string, or only whitespace.
    """
    if type(value) is str and not value[:1].isspace() and value:  # the common case, first
        return value
    if is_missing(value):
        raise DataError(f"{where}: {name!r} is empty; every row needs text there", row=row)
    if not isinstance(value, str):
        raise DataError(
            f"{where}: {name!r} must be text, got {type(value).__name__} {_short(value)}",
            row=row,
        )
    if not value.strip():
        raise DataError(f"{where}: {name!r} is empty; every row needs text there", row=row)
    return value


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional_str(value: object, name: str, *, where: str, row: int) -> str | None:
    if type(value) is str:
        return value
    value = _plain(value)
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise DataError(f"{where}: {name!r} must be text, got {value!r}", row=row)
    if isinstance(value, numbers.Integral):
        return str(value)  # numeric ids (FIB's, pandas' int columns) are fine as text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # pandas turns int columns with gaps into floats
    if isinstance(value, str):
        return value
    raise DataError(
        f"{where}: {name!r} must be text or an integer, got {type(value).__name__}", row=row
    )


def row_to_example(
    row: Mapping[str, Any], mapping: ColumnMap, *, index: int, where: str
) -> Example:
    """Validate one row and turn it into an Example.

    Columns the mapping does not read are kept in ``Example.meta`` (a ``meta`` column holding a
    dict is merged into it, so :meth:`Dataset.to_jsonl` output round-trips).

    Args:
        row: The raw row.
        mapping: Which column is which field.
        index: 0-based index of the row among data rows (stored as ``DataError.row``).
        where: Human description of the row's place (``"row 3 (line 4 of x.jsonl)"``).

    Returns:
        The example.

    Raises:
        DataError: For a missing column, empty or non-text text, or an invalid label.
    """
    if not isinstance(row, Mapping):
        raise DataError(
            f"{where}: expected an object with named fields, got {type(row).__name__}", row=index
        )
    missing = [mapping.document, mapping.summary] + [
        getattr(mapping, k) for k in sorted(mapping.required)
    ]
    absent = [name for name in missing if name not in row]
    if absent:
        raise DataError(
            f"{where}: missing column(s) {', '.join(map(repr, absent))}; the row has "
            f"{', '.join(map(repr, row)) or 'no columns'}; mapping used: {mapping.describe()}. "
            "Pass document=, summary=, label= to name your columns.",
            row=index,
        )
    document = check_text(row[mapping.document], mapping.document, where=where, row=index)
    summary = check_text(row[mapping.summary], mapping.summary, where=where, row=index)
    label = parse_label(row.get(mapping.label), where=where, row=index) if mapping.label else None
    ident = (
        _optional_str(row.get(mapping.id), mapping.id, where=where, row=index)
        if mapping.id
        else None
    )
    source = (
        _optional_str(row.get(mapping.source), mapping.source, where=where, row=index)
        if mapping.source
        else None
    )
    used = mapping.fields
    meta: dict[str, Any] = {}
    for key, value in row.items():
        if key in used:
            continue
        if key == "meta" and isinstance(value, Mapping):
            meta.update(value)
        else:
            meta[key] = _plain(value)
    return Example(
        document=document, summary=summary, label=label, id=ident, source=source, meta=meta
    )


def rows_to_examples(
    rows: Iterable[tuple[int, str, Mapping[str, Any]]], mapping: ColumnMap
) -> Iterator[Example]:
    """Validate a stream of ``(index, where, row)`` triples lazily.

    Args:
        rows: The rows with their index and place description.
        mapping: Which column is which field.

    Yields:
        One Example per row.
    """
    for index, where, row in rows:
        yield row_to_example(row, mapping, index=index, where=where)
