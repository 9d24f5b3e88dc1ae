"""The published formats of FIB and USB, and how to recognise them.

FIB (``r-three/fib``) rows are multiple choice: ``id``, ``input`` (the document),
``list_choices`` (candidate summaries), ``correct_choice`` and ``lbl`` (its index). Each row
becomes one consistent pair (the correct choice) and one inconsistent pair per distractor, so a
row with k choices gives k examples. FIB repeats a document over several rows (one per
distractor), so the consistent pair recurs: call :meth:`Dataset.dedupe` for unique pairs.

USB factuality rows (``kundank/usb``): ``input_lines`` (the document's sentences),
``summary_sent`` and ``label`` where **0 means the sentence after the annotators' edit
(consistent) and 1 the original before the edit (inconsistent)**: the inverse of our labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .._errors import DataError
from .._types import Example
from ._rows import check_text, is_missing

__all__ = [
    "FIB_COLUMNS",
    "USB_COLUMNS",
    "clean_fib_summary",
    "fib_examples",
    "fib_source_hint",
    "sniff",
    "usb_examples",
]

Row = tuple[int, str, Mapping[str, Any]]

FIB_COLUMNS = frozenset({"input", "correct_choice", "list_choices"})
USB_COLUMNS = frozenset({"summary_sent", "label"})

_TAG = re.compile(r"<t>(.*?)</t>", re.DOTALL)
# CNN/DM summaries are PTB-tokenised: brackets appear as -lrb- etc. while FIB's documents use
# the characters themselves, so restoring them keeps summary and document comparable.
_PTB = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}
_PTB_RE = re.compile("|".join(map(re.escape, _PTB)), re.IGNORECASE)
_FIB_SOURCES = {"xsum": "fib-xsum", "cnn_dm": "fib-cnndm", "cnndm": "fib-cnndm"}


def sniff(columns: Iterable[str]) -> str:
    """Name the format a row's columns belong to.

    Args:
        columns: The column names of the first row.

    Returns:
        ``"fib"`` (FIB multiple choice), ``"usb"`` (USB factuality) or ``"pairs"``.
    """
    cols = set(columns)
    if cols >= FIB_COLUMNS:
        return "fib"
    if cols >= USB_COLUMNS and ("input_lines" in cols or "source" in cols):
        return "usb"
    return "pairs"


def clean_fib_summary(text: str) -> str:
    """Turn a FIB summary into plain text.

    CNN/DM summaries come as ``<t> sentence . </t> <t> ... </t>``: each tagged sentence
    becomes one line and PTB brackets (``-lrb-``) become characters. Other text is stripped.

    Args:
        text: The choice as published.

    Returns:
        The cleaned summary.
    """
    sentences = _TAG.findall(text)
    if not sentences:
        return text.strip()
    lines = (_PTB_RE.sub(lambda m: _PTB[m.group(0).lower()], s).strip() for s in sentences)
    return "\n".join(line for line in lines if line)


def _fib_source(row: Mapping[str, Any], choices: list[str], hint: str | None) -> str:
    dataset = row.get("dataset")
    if isinstance(dataset, str) and dataset.lower() in _FIB_SOURCES:
        return _FIB_SOURCES[dataset.lower()]
    if any("<t>" in c for c in choices):
        return "fib-cnndm"  # only FIB's CNN/DM half carries sentence tags
    return hint or "fib"


def fib_examples(
    rows: Iterable[Row], *, source: str | None = None, fallback: str | None = None
) -> Iterator[Example]:
    """Expand FIB multiple-choice rows into labelled pairs.

    Ids are ``f"{row_id}-{k}-{j}"``: ``k`` counts earlier rows with the same FIB id (FIB repeats
    a document once per distractor) and ``j`` is the choice's index, so ids are unique and
    stable for a given file.

    Args:
        rows: ``(index, where, row)`` triples.
        source: The ``source`` to record on every row, overriding detection.
        fallback: The source when a row does not tell (default ``fib``); by default
            ``fib-xsum``/``fib-cnndm`` come from the row's ``dataset`` column or its tags.

    Yields:
        One Example per choice.

    Raises:
        DataError: For a row without the FIB fields, or whose correct choice is not among its
            choices.
    """
    seen: dict[str, int] = {}
    for index, where, row in rows:
        absent = sorted(FIB_COLUMNS - set(row))
        if absent:
            raise DataError(
                f"{where}: not a FIB row, missing {', '.join(map(repr, absent))}; FIB rows have "
                f"id, input, correct_choice, list_choices, lbl; this one has "
                f"{', '.join(map(repr, row))}",
                row=index,
            )
        document = check_text(row["input"], "input", where=where, row=index)
        correct = check_text(row["correct_choice"], "correct_choice", where=where, row=index)
        choices = row["list_choices"]
        if hasattr(choices, "tolist"):
            choices = choices.tolist()  # numpy arrays from pandas/pyarrow
        if not isinstance(choices, list) or not choices:
            raise DataError(f"{where}: 'list_choices' must be a non-empty list of texts", row=index)
        for j, choice in enumerate(choices):
            check_text(choice, f"list_choices[{j}]", where=where, row=index)
        matches = [j for j, c in enumerate(choices) if c.strip() == correct.strip()]
        if len(matches) != 1:
            raise DataError(
                f"{where}: correct_choice appears {len(matches)} times in list_choices; "
                "it must appear exactly once",
                row=index,
            )
        lbl = row.get("lbl")
        if not is_missing(lbl) and lbl != matches[0]:
            raise DataError(
                f"{where}: lbl={lbl!r} but correct_choice is list_choices[{matches[0]}]",
                row=index,
            )
        raw_id = row.get("id")
        fib_id = str(index) if is_missing(raw_id) else str(raw_id)
        k = seen.get(fib_id, 0)
        seen[fib_id] = k + 1
        src = source or _fib_source(row, choices, fallback)
        extra = {
            key: value
            for key, value in row.items()
            if key not in {"id", "input", "correct_choice", "list_choices", "lbl"}
        }
        for j, choice in enumerate(choices):
            yield Example(
                document=document,
                summary=clean_fib_summary(choice),
                label=1 if j == matches[0] else 0,
                id=f"{fib_id}-{k}-{j}",
                source=src,
                meta={"fib_id": fib_id, "choice": j, **extra},
            )


def fib_source_hint(file_name: str) -> str | None:
    """Guess FIB's half from a file name (``xsum.jsonl``, ``cnn_dm.jsonl``), or None.

    Args:
        file_name: The file's name, without folders.

    Returns:
        ``fib-cnndm``, ``fib-xsum`` or None.
    """
    lowered = file_name.lower()
    if "cnn" in lowered:
        return "fib-cnndm"
    if "xsum" in lowered:
        return "fib-xsum"
    return None


def usb_examples(rows: Iterable[Row], *, source: str = "usb-wiki") -> Iterator[Example]:
    """Convert USB factuality rows, inverting USB's label (0 = consistent there).

    The document is ``input_lines`` joined with spaces (or a ``source`` text column).

    Args:
        rows: ``(index, where, row)`` triples.
        source: The ``source`` to record.

    Yields:
        One Example per row.

    Raises:
        DataError: For a row without the USB fields or with a label other than 0/1.
    """
    for index, where, row in rows:
        if (
            "summary_sent" not in row
            or "label" not in row
            or not ("input_lines" in row or "source" in row)
        ):
            raise DataError(
                f"{where}: not a USB factuality row; it needs input_lines (or source), "
                f"summary_sent and label; this one has {', '.join(map(repr, row))}",
                row=index,
            )
        if "input_lines" in row:
            lines = row["input_lines"]
            if hasattr(lines, "tolist"):
                lines = lines.tolist()
            if not isinstance(lines, list) or not all(isinstance(s, str) for s in lines):
                raise DataError(f"{where}: 'input_lines' must be a list of sentences", row=index)
            document = " ".join(s.strip() for s in lines if s.strip())
            check_text(document, "input_lines", where=where, row=index)
        else:
            document = check_text(row["source"], "source", where=where, row=index)
        summary = check_text(row["summary_sent"], "summary_sent", where=where, row=index)
        raw = row["label"]
        if hasattr(raw, "item"):
            raw = raw.item()
        usb_label: object = None
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw in (0, 1):
            usb_label = int(raw)  # pandas turns int columns with gaps into floats
        elif isinstance(raw, str) and raw.strip() in ("0", "1"):
            usb_label = int(raw.strip())
        if usb_label not in (0, 1):
            raise DataError(
                f"{where}: USB label {raw!r} is not 0 (after edit, consistent) or 1 (before "
                "edit, inconsistent)",
                row=index,
            )
        raw_id = row.get("id")
        extra = {
            key: value
            for key, value in row.items()
            if key not in {"id", "input_lines", "source", "summary_sent", "label"}
        }
        yield Example(
            document=document,
            summary=summary,
            label=1 if usb_label == 0 else 0,
            id=None if is_missing(raw_id) else str(raw_id),
            source=source,
            meta={"usb_label": usb_label, **extra},
        )
