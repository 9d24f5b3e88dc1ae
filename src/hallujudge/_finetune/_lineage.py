"""Lineage: where a fine-tuned judge came from, kept with the judge and written to JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .._errors import DataError

__all__ = ["DataStats", "Lineage"]


class DataStats(BaseModel):
    """The identity and size of one data file used for training or validation.

    Attributes:
        content_hash: ``Dataset.content_hash()`` of exactly the rows in this file.
        file_sha256: SHA-256 of the exact JSONL bytes uploaded.
        rows: Number of records.
        bytes: Size of the JSONL file.
        label_counts: Records per label (``{"consistent": n, "inconsistent": m}``).
        file_id: The id the vendor gave the uploaded file, once uploaded.
        split_from: The content hash of the data this file was split from, when the
            train/validation split was made by the FineTuner.
    """

    model_config = ConfigDict(frozen=True)

    content_hash: str
    file_sha256: str
    rows: int
    bytes: int
    label_counts: dict[str, int] = Field(default_factory=dict)
    file_id: str | None = None
    split_from: str | None = None


class Lineage(BaseModel):
    """Everything needed to say which model a judge is and how it was made.

    Attributes:
        base_model: The model that was fine-tuned (``open-mistral-7b``).
        fine_tuned_model: The resulting model id (``ft:open-mistral-7b:...``), once known.
        job_id: The vendor's job id.
        job_type: ``completion``, ``classifier`` or ``local``.
        backend: ``mistral`` or ``local``.
        prompt: The prompt strategy the training data was rendered with, as ``name@version``
            (None for classifier and local jobs, which read the pair directly).
        train: Identity and size of the training data.
        val: Identity and size of the validation data, if any.
        hyperparameters: What the job trained with.
        metrics: Validation metrics reported by the job (last checkpoint), if any.
        created_at: UNIX time the job was created, when known.
    """

    model_config = ConfigDict(frozen=True)

    base_model: str
    fine_tuned_model: str | None = None
    job_id: str | None = None
    job_type: str = "completion"
    backend: str = "mistral"
    prompt: str | None = None
    train: DataStats | None = None
    val: DataStats | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    created_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The lineage as plain JSON-ready data."""
        return self.model_dump(mode="json")

    def to_json(self, path: str | Path) -> Path:
        """Write the lineage to a small JSON file.

        Args:
            path: Where to write (parent directories are created).

        Returns:
            The path written.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return target

    @classmethod
    def from_json(cls, path: str | Path) -> Lineage:
        """Read a lineage file written by :meth:`to_json`.

        Args:
            path: The JSON file.

        Returns:
            The lineage.

        Raises:
            DataError: If the file is not a lineage written by hallujudge.
        """
        source = Path(path)
        try:
            data = json.loads(source.read_text())
            return cls.model_validate(data)
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise DataError(f"{source} is not a readable lineage JSON file: {exc}") from exc
