"""Fine-tuning data: render examples into vendor records and validate them before any upload.

Completion records are ``{"messages": [...]}`` rendered by the same prompt strategy the judge uses
at inference, followed by the strategy's ``target`` as the assistant answer, so training and
inference prompts cannot drift. Classifier records are ``{"text": classifier_input(example),
"labels": {"consistency": "consistent" | "inconsistent"}}``, with the text built by the same
function the classifier backend sends at inference.

Every check names the offending row (0-based, as in the input) through :class:`DataError`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._dataset._ops import content_hash as _dataset_hash
from .._dataset._ops import split_indices
from .._errors import DataError
from .._prompts import PromptStrategy
from .._types import Example
from ._lineage import DataStats

__all__ = [
    "CLASSIFIER_LABELS",
    "CLASSIFIER_TARGET",
    "JobType",
    "Limits",
    "PreparedData",
    "build_records",
    "content_hash",
    "document_split",
    "prepare",
    "read_jsonl_records",
    "to_examples",
    "to_jsonl_bytes",
    "validate_records",
]

JobType = Literal["completion", "classifier"]

CLASSIFIER_TARGET = "consistency"
"""The classifier target's name, in training rows and in the job's ``classifier_targets``."""

CLASSIFIER_LABELS = ("consistent", "inconsistent")
"""The classifier's labels: index 1 - label of :class:`Example` (1 = consistent)."""

_ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class Limits:
    """What fine-tuning data must satisfy before it is uploaded.

    Attributes:
        min_rows: Fewest records a file may have.
        max_line_bytes: Largest record, in UTF-8 bytes of its JSON line. The default (128 KiB,
            about 32k tokens, Mistral's default training sequence length) catches rows the
            vendor would truncate or reject.
        max_file_bytes: Largest file (Mistral accepts files up to 512 MB).
        min_label_share: Below this share of the rarer label, a warning says the data is
            imbalanced.
    """

    min_rows: int = 10
    max_line_bytes: int = 128 * 1024
    max_file_bytes: int = 512 * 1024 * 1024
    min_label_share: float = 0.2


@dataclass(frozen=True)
class PreparedData:
    """One validated data file, ready to upload.

    Attributes:
        name: ``train`` or ``val``: used in messages and file names.
        records: The records, in order.
        payload: The exact JSONL bytes to upload.
        stats: Hashes, sizes and label counts, for lineage.
        examples: The examples the records were rendered from, in the same order.
    """

    name: str
    records: list[dict[str, Any]]
    payload: bytes
    stats: DataStats
    examples: list[Example]


def to_examples(data: Any, *, name: str = "data") -> list[Example]:
    """Turn a Dataset, Examples, or labelled dicts into a list of Examples.

    Args:
        data: A ``Dataset``, an iterable of :class:`Example`, or dicts with ``document``,
            ``summary`` and ``label`` (or ``premise``, ``hypothesis`` and ``target``).
        name: What to call the data in error messages.

    Returns:
        The examples, in order.

    Raises:
        DataError: For a row of another shape, naming it.
    """
    rows = data.examples if hasattr(data, "examples") else data
    if type(data).__name__ == "DataFrame":  # iterating a DataFrame yields column names
        raise DataError(f"{name} is a DataFrame: wrap it with Dataset.from_pandas(df) first")
    if isinstance(rows, str | bytes | Path) or not isinstance(rows, Iterable):
        raise DataError(
            f"{name} must be a Dataset or an iterable of Examples, not {type(data).__name__}; "
            "load files with Dataset.from_jsonl(path)"
        )
    examples: list[Example] = []
    for i, row in enumerate(rows):
        if isinstance(row, Example):
            examples.append(row)
        elif isinstance(row, Mapping):
            doc = row.get("document", row.get("premise"))
            summ = row.get("summary", row.get("hypothesis"))
            label = row.get("label", row.get("target"))
            if not isinstance(doc, str) or not isinstance(summ, str):
                raise DataError(
                    f"{name} row {i}: needs string 'document' and 'summary' (or 'premise' and "
                    f"'hypothesis') fields; got keys {sorted(row)}",
                    row=i,
                )
            if label not in (0, 1, None):
                raise DataError(
                    f"{name} row {i}: label must be 1 (consistent) or 0 (inconsistent), "
                    f"not {label!r}",
                    row=i,
                )
            examples.append(Example(document=doc, summary=summ, label=label))
        else:
            raise DataError(
                f"{name} row {i}: expected an Example or a dict, not {type(row).__name__}",
                row=i,
            )
    return examples


def content_hash(data: Any, examples: Sequence[Example]) -> str:
    """The dataset's content hash: the Dataset's own when it has one, else the same algorithm.

    Both are ``Dataset.content_hash()``'s canonical SHA-256 over ``(document, summary, label)``
    in row order, so ``Dataset(rows).content_hash()`` reproduces a hash found in a lineage.

    Args:
        data: What the user passed (a Dataset knows its own hash), or None.
        examples: The examples it holds.

    Returns:
        A hex digest.
    """
    own = getattr(data, "content_hash", None)
    if callable(own):
        value = own()
        if isinstance(value, str):
            return value
    return _dataset_hash(examples)


def document_split(
    examples: Sequence[Example], val_size: float, *, seed: int = 0
) -> tuple[list[Example], list[Example]]:
    """Split examples into train and validation by document: no document lands in both.

    Uses ``Dataset.split``'s algorithm (documents compared up to spacing and case, stratified
    by the labels each document carries).

    Args:
        examples: The examples.
        val_size: Share of documents (not rows) to put in validation, in (0, 1).
        seed: Makes the split reproducible.

    Returns:
        ``(train, val)``, each in input order.

    Raises:
        DataError: If there are fewer than two distinct documents, or ``val_size`` is
            outside (0, 1).
    """
    if not 0.0 < val_size < 1.0:
        raise DataError(f"val_size must lie strictly between 0 and 1, not {val_size!r}")
    try:
        train_idx, val_idx = split_indices(examples, val_size, seed)
    except DataError as exc:
        raise DataError(
            f"{exc}; pass val= explicitly, or val_size=0 to train without validation"
        ) from exc
    return [examples[i] for i in train_idx], [examples[i] for i in val_idx]


def _classifier_text(example: Example) -> str:
    # The classifier backend owns the template, so training text equals inference text.
    from .._backends.mistral._inputs import classifier_input

    return classifier_input(example)


def build_records(
    examples: Sequence[Example],
    *,
    job_type: JobType,
    strategy: PromptStrategy | None = None,
    name: str = "train",
) -> list[dict[str, Any]]:
    """Render labelled examples into fine-tuning records.

    Args:
        examples: Labelled examples.
        job_type: ``completion`` (chat messages) or ``classifier`` (text and labels).
        strategy: The prompt strategy (required for completion records).
        name: What to call the data in error messages.

    Returns:
        One record per example, in order.

    Raises:
        DataError: For an unlabelled example, naming the row.
    """
    records: list[dict[str, Any]] = []
    for i, example in enumerate(examples):
        if example.label is None:
            raise DataError(
                f"{name} row {i}: has no label; fine-tuning needs label 1 (consistent) or "
                "0 (inconsistent) on every row",
                row=i,
            )
        if job_type == "classifier":
            records.append(
                {
                    "text": _classifier_text(example),
                    "labels": {CLASSIFIER_TARGET: CLASSIFIER_LABELS[1 - example.label]},
                }
            )
        else:
            if strategy is None:
                raise DataError("completion records need a prompt strategy")
            messages: list[dict[str, Any]] = [dict(m) for m in strategy.render(example)]
            messages.append({"role": "assistant", "content": strategy.target(example)})
            records.append({"messages": messages})
    return records


def to_jsonl_bytes(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Serialise records as JSON Lines (UTF-8, one compact object a line)."""
    return b"".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in records
    )


def read_jsonl_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a fine-tuning JSONL file written by hand or by another tool, for validation.

    Args:
        path: The file.

    Returns:
        The records.

    Raises:
        DataError: For a line that is not a JSON object, naming it (0-based row, 1-based line).
    """
    records: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} row {i} (line {i + 1}): not JSON: {exc}", row=i) from exc
            if not isinstance(record, dict):
                raise DataError(f"{path} row {i} (line {i + 1}): not a JSON object", row=i)
            records.append(record)
    return records


def _label_of(record: Mapping[str, Any], job_type: JobType) -> str:
    if job_type == "classifier":
        return str(record["labels"][CLASSIFIER_TARGET])
    return str(record["messages"][-1]["content"]).strip()


def _check_completion(record: Mapping[str, Any], where: str, i: int) -> None:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: needs a non-empty 'messages' list", row=i)
    for j, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise DataError(f"{where}: message {j} is not an object", row=i)
        role = message.get("role")
        if role not in _ROLES:
            raise DataError(
                f"{where}: message {j} has role {role!r}; use one of {sorted(_ROLES)}", row=i
            )
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise DataError(
                f"{where}: message {j} ({role}) has empty content; every message needs text",
                row=i,
            )
    if messages[-1]["role"] != "assistant":
        raise DataError(
            f"{where}: the last message must come from the assistant (it is the answer the "
            f"model learns), not from {messages[-1]['role']!r}",
            row=i,
        )
    if not any(m["role"] == "user" for m in messages):
        raise DataError(f"{where}: needs at least one user message before the answer", row=i)


def _check_classifier(record: Mapping[str, Any], where: str, i: int) -> None:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: 'text' is empty; every classifier row needs text", row=i)
    labels = record.get("labels")
    label = labels.get(CLASSIFIER_TARGET) if isinstance(labels, Mapping) else None
    if label not in CLASSIFIER_LABELS:
        raise DataError(
            f"{where}: 'labels' must be {{{CLASSIFIER_TARGET!r}: one of "
            f"{list(CLASSIFIER_LABELS)}}}, got {labels!r}",
            row=i,
        )


def validate_records(
    records: Sequence[Mapping[str, Any]],
    *,
    job_type: JobType,
    limits: Limits | None = None,
    name: str = "train",
    require_both_labels: bool = True,
) -> dict[str, int]:
    """Check fine-tuning records before upload; every error names the row.

    Checks: record shape (roles, the last message from the assistant, no empty content; or
    text and a known label for classifiers), size of each line and of the file, duplicate and
    contradictory rows, the minimum number of rows, and that both labels occur. A strong label
    imbalance only warns (``UserWarning``).

    Args:
        records: The records, in file order.
        job_type: ``completion`` or ``classifier``.
        limits: The limits to enforce (defaults: :class:`Limits`).
        name: What to call the data in messages (``train``, ``val`` or a file name).
        require_both_labels: Refuse data with a single label (training data); with False
            (validation data) a single label only warns.

    Returns:
        Records per label.

    Raises:
        DataError: On the first problem found, naming the row.
    """
    limits = limits or Limits()
    check = _check_classifier if job_type == "classifier" else _check_completion
    total = 0
    seen: dict[str, int] = {}
    prompts: dict[str, tuple[int, str]] = {}
    for i, record in enumerate(records):
        where = f"{name} row {i}"
        if not isinstance(record, Mapping):
            raise DataError(f"{where}: not an object", row=i)
        check(record, where, i)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        size = len(line.encode()) + 1
        if size > limits.max_line_bytes:
            raise DataError(
                f"{where}: is {size} bytes, over the {limits.max_line_bytes}-byte line limit; "
                "shorten the document (or drop the row) before fine-tuning",
                row=i,
            )
        total += size
        if total > limits.max_file_bytes:
            raise DataError(
                f"{where}: the file passes {limits.max_file_bytes} bytes here; split the data "
                "into several files or sample it",
                row=i,
            )
        if line in seen:
            raise DataError(
                f"{where}: duplicates row {seen[line]}; remove duplicates (they overweight "
                "the pair and leak between splits)",
                row=i,
            )
        seen[line] = i
        label = _label_of(record, job_type)
        prompt = (
            str(record["text"])
            if job_type == "classifier"
            else json.dumps(record["messages"][:-1], sort_keys=True)
        )
        if prompt in prompts and prompts[prompt][1] != label:
            raise DataError(
                f"{where}: has the same input as row {prompts[prompt][0]} but the answer "
                f"{label!r} instead of {prompts[prompt][1]!r}; fix the contradictory label",
                row=i,
            )
        prompts.setdefault(prompt, (i, label))
    rows = len(records)
    if rows < limits.min_rows:
        raise DataError(
            f"{name} has {rows} rows; fine-tuning needs at least {limits.min_rows} "
            "(add data, or lower Limits.min_rows if you know the vendor accepts fewer)"
        )
    counts = Counter(_label_of(r, job_type) for r in records)
    if len(counts) < 2 and require_both_labels:
        (only,) = counts
        raise DataError(
            f"every one of the {rows} {name} rows has the answer {only!r}; a judge trained on "
            "one label learns nothing (check the labels: 1 = consistent, 0 = inconsistent)"
        )
    rarest = min(counts.values()) / rows if len(counts) > 1 else 0.0
    if rarest < limits.min_label_share:
        warnings.warn(
            f"{name} labels are imbalanced ({dict(counts)}: the rarer is {rarest:.0%}); "
            "the fine-tuned judge may favour the common label (balance the Dataset first)",
            UserWarning,
            stacklevel=2,
        )
    return dict(counts)


def prepare(
    examples: Sequence[Example],
    *,
    data_hash: str,
    job_type: JobType,
    strategy: PromptStrategy | None,
    limits: Limits | None = None,
    name: str = "train",
    require_both_labels: bool = True,
) -> PreparedData:
    """Render, validate and serialise one data file.

    Args:
        examples: Labelled examples.
        data_hash: The content hash of the data they came from (see :func:`content_hash`).
        job_type: ``completion`` or ``classifier``.
        strategy: The prompt strategy for completion records.
        limits: Validation limits.
        name: ``train`` or ``val``.
        require_both_labels: See :func:`validate_records`.

    Returns:
        The records, the JSONL bytes and their statistics.
    """
    records = build_records(examples, job_type=job_type, strategy=strategy, name=name)
    validate_records(
        records,
        job_type=job_type,
        limits=limits,
        name=name,
        require_both_labels=require_both_labels,
    )
    payload = to_jsonl_bytes(records)
    counts = Counter(CLASSIFIER_LABELS[1 - e.label] for e in examples if e.label is not None)
    stats = DataStats(
        content_hash=data_hash,
        file_sha256=hashlib.sha256(payload).hexdigest(),
        rows=len(records),
        bytes=len(payload),
        label_counts=dict(sorted(counts.items())),
    )
    return PreparedData(
        name=name, records=records, payload=payload, stats=stats, examples=list(examples)
    )
