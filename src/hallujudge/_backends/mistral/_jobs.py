"""Mistral fine-tuning jobs: the REST API the SDK dropped, on the shared connection.

The ``mistralai`` SDK dropped its jobs API in 2.5.2 while the REST endpoints stay documented, so
``/v1/fine_tuning/jobs`` (create, dry run, get, list, start, cancel) is called here on the
connection's pooled HTTP client, following ``openapi.yaml``; uploads go through
:func:`._files.upload` (purpose ``fine-tune``). Every call runs under the one retry policy and
the one error map of :class:`~._connection.MistralConnection`; creating a job is retried only
after a 429, which the server sends before doing anything. The models below describe the
server's answers (no SDK needed to import them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..._retry import RetryPolicy

if TYPE_CHECKING:
    from ._connection import MistralConnection

__all__ = [
    "FAILED_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "Checkpoint",
    "Estimate",
    "Event",
    "JobInfo",
    "MistralJobsClient",
]

FAILED_STATUSES = frozenset({"FAILED", "FAILED_VALIDATION", "CANCELLED"})
TERMINAL_STATUSES = FAILED_STATUSES | {"SUCCESS"}
RUNNING_STATUSES = frozenset(
    {"QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING", "CANCELLATION_REQUESTED"}
)


class Event(BaseModel):
    """One event of a job (created whenever its status changes)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    created_at: int
    data: dict[str, Any] | None = None


class Checkpoint(BaseModel):
    """Metrics at one training step (``train_loss``, ``valid_loss``, ...)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    step_number: int
    created_at: int
    metrics: dict[str, Any] = Field(default_factory=dict)


class JobInfo(BaseModel):
    """A fine-tuning job as the server describes it (``CompletionDetailedJobOut`` and kin)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    status: str
    model: str
    job_type: str = "completion"
    auto_start: bool = True
    created_at: int = 0
    modified_at: int = 0
    fine_tuned_model: str | None = None
    training_files: list[str] = Field(default_factory=list)
    validation_files: list[str] | None = None
    suffix: str | None = None
    trained_tokens: int | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    integrations: list[dict[str, Any]] | None = None
    events: list[Event] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list)
    classifier_targets: list[dict[str, Any]] | None = None


class Estimate(BaseModel):
    """What a dry run says a fine-tuning job would cost (``LegacyJobMetadataOut``).

    Attributes:
        expected_duration_seconds: Approximate training time.
        cost: Price of the job, in ``cost_currency``.
        cost_currency: Currency of ``cost``.
        train_tokens_per_step: Tokens consumed by one training step.
        train_tokens: Tokens trained in total (steps times tokens per step).
        data_tokens: Tokens in the training data.
        epochs: Passes over the training data.
        training_steps: Steps the job would run.
        estimated_start_time: UNIX time the job would start, when known.
        details: The server's remarks.
        model: The base model.
        job_type: ``completion`` or ``classifier``.
        train_rows: Records in the training file.
        val_rows: Records in the validation file (0 without one).
        train_bytes: Size of the training file.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    expected_duration_seconds: int | None = None
    cost: float | None = None
    cost_currency: str | None = None
    train_tokens_per_step: int | None = None
    train_tokens: int | None = None
    data_tokens: int | None = None
    epochs: float | None = None
    training_steps: int | None = None
    estimated_start_time: int | None = None
    details: str = ""
    model: str | None = None
    job_type: str = "completion"
    train_rows: int = 0
    val_rows: int = 0
    train_bytes: int = 0

    def summary(self) -> str:
        """One readable line: tokens, epochs, duration and cost."""
        parts = [f"{self.train_rows} train rows"]
        if self.data_tokens is not None:
            parts.append(f"{self.data_tokens:,} data tokens")
        if self.train_tokens is not None:
            parts.append(f"{self.train_tokens:,} trained tokens")
        if self.training_steps is not None:
            parts.append(f"{self.training_steps} steps")
        if self.epochs is not None:
            parts.append(f"{self.epochs:.2f} epochs")
        if self.expected_duration_seconds is not None:
            parts.append(f"~{self.expected_duration_seconds / 60:.0f} min")
        if self.cost is not None:
            parts.append(f"cost {self.cost:g} {self.cost_currency or ''}".rstrip())
        return ", ".join(parts)


class MistralJobsClient:
    """Fine-tuning jobs and their file uploads on one Mistral connection.

    Args:
        connection: The connection (credentials, clients, error map).
        timeout_s: Timeout of one HTTP call.
        max_attempts: Attempts per call for transient failures, first one included.
        max_wait_s: Longest pause between attempts (caps ``Retry-After``).
        deadline_s: Time budget of one call across its attempts (rate-limited attempts do not
            count against ``max_attempts``, only against this; see :mod:`hallujudge._retry`).
    """

    def __init__(
        self,
        connection: MistralConnection,
        *,
        timeout_s: float = 60.0,
        max_attempts: int = 6,
        max_wait_s: float = 30.0,
        deadline_s: float | None = 600.0,
    ) -> None:
        self.connection = connection
        self.server_url = connection.identity
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(
            max_attempts=max_attempts, deadline_s=deadline_s, max_wait_s=max_wait_s
        )

    def __repr__(self) -> str:
        return f"MistralJobsClient(server_url={self.server_url!r})"

    @property
    def api_key(self) -> str | None:
        """The key, for building other clients (kept out of ``repr``; None: keyless server)."""
        return self.connection.api_key

    async def _rest(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        only_rate_limits: bool = False,
    ) -> Any:
        connection = self.connection
        return await connection.call(
            lambda: connection.rest(
                method, path, timeout_s=self.timeout_s, body=json, params=params
            ),
            self.policy,
            what=f"{method} {path}",
            only_rate_limits=only_rate_limits,
        )

    async def upload(self, content: bytes, filename: str) -> str:
        """Upload a JSONL file for fine-tuning (``files.upload``, purpose ``fine-tune``).

        Args:
            content: The file's bytes.
            filename: The name shown in the console.

        Returns:
            The file id.

        Raises:
            BackendError: If the upload fails after retries.
        """
        from ._files import upload

        return await upload(
            self.connection,
            content,
            filename,
            purpose="fine-tune",
            policy=self.policy,
            timeout_s=self.timeout_s,
        )

    # -- jobs -----------------------------------------------------------------------------

    async def estimate(self, payload: Mapping[str, Any]) -> Estimate:
        """Dry-run a job: ``POST /v1/fine_tuning/jobs?dry_run=true``.

        Args:
            payload: The ``JobIn`` body.

        Returns:
            The server's estimate.
        """
        data = await self._rest(
            "POST", "/v1/fine_tuning/jobs", json=payload, params={"dry_run": "true"}
        )
        return Estimate.model_validate(data)

    async def create(self, payload: Mapping[str, Any]) -> JobInfo:
        """Create a job: ``POST /v1/fine_tuning/jobs``.

        Args:
            payload: The ``JobIn`` body.

        Returns:
            The new job.
        """
        data = await self._rest("POST", "/v1/fine_tuning/jobs", json=payload, only_rate_limits=True)
        return JobInfo.model_validate(data)

    async def get(self, job_id: str) -> JobInfo:
        """Fetch a job with its events and checkpoints: ``GET /v1/fine_tuning/jobs/{id}``."""
        return JobInfo.model_validate(await self._rest("GET", f"/v1/fine_tuning/jobs/{job_id}"))

    async def list(self, **filters: Any) -> list[JobInfo]:
        """List jobs: ``GET /v1/fine_tuning/jobs`` with the spec's filters (``model``, ...)."""
        params = {k: v for k, v in filters.items() if v is not None}
        data = await self._rest("GET", "/v1/fine_tuning/jobs", params=params)
        return [JobInfo.model_validate(item) for item in data.get("data", [])]

    async def start(self, job_id: str) -> JobInfo:
        """Start a validated job: ``POST /v1/fine_tuning/jobs/{id}/start``."""
        data = await self._rest("POST", f"/v1/fine_tuning/jobs/{job_id}/start")
        return JobInfo.model_validate(data)

    async def cancel(self, job_id: str) -> JobInfo:
        """Request cancellation: ``POST /v1/fine_tuning/jobs/{id}/cancel``."""
        data = await self._rest("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel")
        return JobInfo.model_validate(data)
