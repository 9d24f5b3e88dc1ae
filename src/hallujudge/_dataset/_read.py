"""Streaming readers: each yields ``(index, where, row)`` for every data row of a file.

Readers never hold more than one batch in memory, so a big JSONL file is validated line by
line. pandas, pyarrow and ``datasets`` are optional (``pip install 'hallujudge[data]'``) and
imported only by the readers that need them.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from .._errors import DataError
from .._extras import import_extra

__all__ = [
    "SUFFIXES",
    "check_file",
    "iter_csv",
    "iter_json",
    "iter_jsonl",
    "iter_parquet",
    "iter_path",
    "iter_records",
    "optional_import",
]

Row = tuple[int, str, Mapping[str, Any]]

SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def optional_import(module: str) -> ModuleType:
    """Import an optional dependency of the ``data`` extra, or say how to install it.

    Args:
        module: The module name (``pandas``, ``pyarrow.parquet``, ``datasets``).

    Returns:
        The module.

    Raises:
        ConfigurationError: If it is not installed.
    """
    return import_extra(module, extra="data", feature=f"reading this data ({module})")


def check_file(path: str | os.PathLike[str]) -> Path:
    """Resolve a path and make sure it is a readable file.

    Args:
        path: The file.

    Returns:
        The path.

    Raises:
        DataError: If it does not exist or is a directory.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"file not found: {str(p)!r} (resolved to {str(p.resolve())!r})")
    if p.is_dir():
        raise DataError(f"{str(p)!r} is a directory; pass a .jsonl, .json, .csv or .parquet file")
    return p


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Read JSON Lines one line at a time; blank lines are skipped.

    Args:
        path: The file.

    Yields:
        ``(index, where, row)`` per object.

    Raises:
        DataError: For a line that is not a JSON object (with its line number) or bad UTF-8.
    """
    p = check_file(path)
    index = 0
    with p.open("r", encoding="utf-8-sig") as handle:
        lineno = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{p}: line {lineno + 1} is not valid UTF-8 ({exc.reason}); save the file "
                    "as UTF-8",
                    row=index,
                ) from exc
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except RecursionError as exc:  # nesting deeper than the decoder's stack
                raise DataError(
                    f"{p}: line {lineno} nests JSON too deeply to read; each line must hold one "
                    "flat JSON object (premise, hypothesis, target, ...)",
                    row=index,
                ) from exc
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{p}: line {lineno} is not valid JSON ({exc.msg} at column {exc.colno}); "
                    "each line must hold one JSON object",
                    row=index,
                ) from exc
            if not isinstance(obj, dict):
                raise DataError(
                    f"{p}: line {lineno} holds a JSON {type(obj).__name__}, not an object; "
                    "each line must hold one JSON object",
                    row=index,
                )
            yield index, f"row {index} (line {lineno} of {p})", obj
            index += 1


def iter_json(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Read a ``.json`` file: an array of objects (or JSON Lines saved as ``.json``).

    Args:
        path: The file.

    Yields:
        ``(index, where, row)`` per object.

    Raises:
        DataError: If the file is neither an array of objects nor JSON Lines.
    """
    p = check_file(path)
    with p.open("r", encoding="utf-8-sig") as handle:
        head = handle.read(1 << 16).lstrip()
    if not head.startswith("["):
        yield from iter_jsonl(p)
        return
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except RecursionError as exc:
        raise DataError(
            f"{p}: the JSON nests too deeply to read; give an array of objects"
        ) from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{p}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not isinstance(data, list):  # pragma: no cover - guarded by the '[' check
        raise DataError(f"{p}: expected a JSON array of objects")
    yield from iter_records(data, origin=str(p))


def iter_records(records: Any, *, origin: str = "input") -> Iterator[Row]:
    """Number in-memory rows (dicts) for validation.

    Args:
        records: An iterable of mappings.
        origin: What to call the data in messages.

    Yields:
        ``(index, where, row)`` per record.
    """
    for index, record in enumerate(records):
        yield index, f"row {index} of {origin}", record


def iter_csv(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Read a CSV file with a header row, streaming, with the standard library.

    Args:
        path: The file.

    Yields:
        ``(index, where, row)`` per data row (line numbers count the header as line 1).

    Raises:
        DataError: For a malformed file or a row with more cells than the header.
    """
    p = check_file(path)
    # Documents are long: lift the csv module's 128 KiB per-field default.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with p.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        index = 0
        try:
            for record in reader:
                where = f"row {index} (line {reader.line_num} of {p})"
                if None in record:
                    raise DataError(
                        f"{where}: more cells than the header has columns; quote fields "
                        "that contain commas",
                        row=index,
                    )
                yield index, where, record
                index += 1
        except csv.Error as exc:
            raise DataError(
                f"{p}: line {reader.line_num}: malformed CSV ({exc})", row=index
            ) from exc
        except UnicodeDecodeError as exc:
            raise DataError(f"{p}: not valid UTF-8 ({exc.reason}); save it as UTF-8") from exc


def iter_parquet(path: str | os.PathLike[str], *, batch_size: int = 4096) -> Iterator[Row]:
    """Read a Parquet file batch by batch with pyarrow.

    Args:
        path: The file.
        batch_size: Rows per batch.

    Yields:
        ``(index, where, row)`` per row.

    Raises:
        DataError: If pyarrow cannot read the file.
        ConfigurationError: If pyarrow is not installed.
    """
    p = check_file(path)
    pq = optional_import("pyarrow.parquet")
    try:
        parquet = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"{p}: not a readable Parquet file ({exc})") from exc
    index = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for record in batch.to_pylist():
            yield index, f"row {index} of {p}", record
            index += 1


def iter_path(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Read any supported file, picking the reader by suffix.

    Args:
        path: A ``.jsonl``, ``.ndjson``, ``.json``, ``.csv``, ``.parquet`` or ``.pq`` file.

    Returns:
        The row iterator.

    Raises:
        DataError: For an unsupported suffix or a missing file.
    """
    p = check_file(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise DataError(
            f"{str(p)!r}: unsupported file type {p.suffix or '(no suffix)'!r}; use one of "
            f"{', '.join(sorted(SUFFIXES))}"
        )
    readers = {"jsonl": iter_jsonl, "json": iter_json, "csv": iter_csv, "parquet": iter_parquet}
    return readers[kind](p)
