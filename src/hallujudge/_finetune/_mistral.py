"""Mistral's fine-tuning REST API: jobs through ``httpx``, files through the ``mistralai`` SDK.

The ``mistralai`` SDK dropped its jobs API in 2.5.2 while the REST endpoints stay documented, so
``/v1/fine_tuning/jobs`` (create, dry run, get, list, start, cancel) is called here with ``httpx``,
following ``openapi.yaml``. Uploads use the SDK's ``files.upload`` (purpose ``fine-tune``).

Every HTTP failure is mapped into the hallujudge error tree: jobs calls in :func:`_map_http`,
uploads by the Mistral backend's ``map_mistral_error``. Transient failures (429, 5xx, timeouts,
dropped connections) are retried with tenacity, honouring ``Retry-After``; creating a job is
retried only after a 429, which the server sends before doing anything. API keys are never
logged, put in messages, or shown in ``repr``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from .._errors import (
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    ConfigurationError,
    RateLimitError,
    http_error,
    parse_retry_after,
)
from .._retry import RetryPolicy

__all__ = [
    "DEFAULT_SERVER_URL",
    "FAILED_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "Checkpoint",
    "Estimate",
    "Event",
    "JobInfo",
    "MistralJobsClient",
    "job_failure_message",
    "wandb_integration",
]

logger = logging.getLogger("hallujudge")

DEFAULT_SERVER_URL = "https://api.mistral.ai"
FAILED_STATUSES = frozenset({"FAILED", "FAILED_VALIDATION", "CANCELLED"})
TERMINAL_STATUSES = FAILED_STATUSES | {"SUCCESS"}
RUNNING_STATUSES = frozenset(
    {"QUEUED", "STARTED", "VALIDATING", "VALIDATED", "RUNNING", "CANCELLATION_REQUESTED"}
)

T = TypeVar("T")


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


_MESSAGE_KEYS = ("error", "message", "error_message", "failure_reason", "reason", "detail")


def job_failure_message(job: JobInfo) -> str:
    """The job's own explanation of why it failed or stopped, read from its events.

    Args:
        job: A job in a failed or cancelled status.

    Returns:
        The newest message found in the events, prefixed with the status; or a sentence that
        says the server gave none.
    """
    # Newest first; reversed() first so events within the same second keep newest-first too.
    for event in sorted(reversed(job.events), key=lambda e: e.created_at, reverse=True):
        data = event.data or {}
        for key in _MESSAGE_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return f"fine-tuning job {job.id} {job.status}: {value.strip()}"
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return f"fine-tuning job {job.id} {job.status}: {value['message']}"
    return (
        f"fine-tuning job {job.id} {job.status} (the server gave no message; see "
        "`hallujudge finetune status` or the Mistral console)"
    )


def wandb_integration(
    project: str | None = None, *, api_key: str | None = None, run_name: str | None = None
) -> dict[str, Any]:
    """The Weights & Biases integration of a job, from arguments or the environment.

    Args:
        project: The W&B project (default: ``WANDB_PROJECT``).
        api_key: The W&B key (default: ``WANDB_API_KEY``); never logged.
        run_name: A display name for the run.

    Returns:
        The ``integrations`` item (``{"type": "wandb", "project": ..., "api_key": ...}``).

    Raises:
        ConfigurationError: If the project or the key is missing, or the key is not 40 chars.
    """
    project = project or os.environ.get("WANDB_PROJECT")
    key = api_key or os.environ.get("WANDB_API_KEY")
    if not project:
        raise ConfigurationError(
            "the Weights & Biases integration needs a project: pass wandb_project= or set "
            "WANDB_PROJECT"
        )
    if not key:
        raise ConfigurationError(
            "the Weights & Biases integration needs a key: set WANDB_API_KEY "
            "(https://wandb.ai/authorize)"
        )
    if len(key) != 40:
        raise ConfigurationError(
            f"WANDB_API_KEY must be 40 characters long (the one given has {len(key)}); copy it "
            "again from https://wandb.ai/authorize"
        )
    integration: dict[str, Any] = {"type": "wandb", "project": project, "api_key": key}
    if run_name:
        integration["run_name"] = run_name
    return integration


def _redact(payload: Any) -> Any:
    if isinstance(payload, Mapping):
        return {k: ("***" if k in ("api_key", "token") else _redact(v)) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_redact(v) for v in payload]
    return payload


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, Mapping):
        for key in ("message", "detail", "error"):
            if body.get(key):
                return str(body[key])[:500]
    return str(body)[:500]


def _map_http(exc: Exception, what: str) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeoutError(f"{what}: the Mistral API did not answer in time")
    return BackendConnectionError(f"{what}: could not reach the Mistral API ({type(exc).__name__})")


class MistralJobsClient:
    """A small client for Mistral's fine-tuning jobs and file uploads.

    Args:
        api_key: Mistral key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``, else
            ``https://api.mistral.ai``).
        timeout_s: Timeout of one HTTP call.
        max_attempts: Attempts per call for transient failures, first one included.
        max_wait_s: Longest pause between attempts (caps ``Retry-After``).
        deadline_s: Time budget of one call across its attempts (rate-limited attempts do not
            count against ``max_attempts``, only against this; see :mod:`hallujudge._retry`).

    Raises:
        ConfigurationError: Without an API key for Mistral's own API (a custom ``server_url``
            may go without, as for the Judge), or if the URL is not http(s).
    """

    def __init__(
        self,
        api_key: str | None = None,
        server_url: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_attempts: int = 6,
        max_wait_s: float = 30.0,
        deadline_s: float | None = 600.0,
    ) -> None:
        from .._backends._mistral import mistral_credentials, without_userinfo

        # The Judge's rule: a key is optional only with a custom server URL.
        url, self._api_key = mistral_credentials(api_key, server_url)
        url = url or DEFAULT_SERVER_URL
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"the Mistral server URL must start with http:// or https://, not "
                f"{without_userinfo(url)!r} (check server_url= or MISTRAL_SERVER_URL)"
            )
        self._url = url  # may hold user:password@ for a proxy: requests only
        self.server_url = without_userinfo(url)
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.deadline_s = deadline_s

    def __repr__(self) -> str:
        return f"MistralJobsClient(server_url={self.server_url!r})"

    @property
    def api_key(self) -> str | None:
        """The key, for building other clients (kept out of ``repr``; None: keyless server)."""
        return self._api_key

    # -- plumbing -------------------------------------------------------------------------

    async def _retrying(
        self, call: Callable[[], Awaitable[T]], *, only_rate_limits: bool = False
    ) -> T:
        def retryable(exc: BaseException) -> bool:
            if only_rate_limits:
                return isinstance(exc, RateLimitError)
            return isinstance(exc, BackendError) and exc.retryable

        def log_retry(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info("retrying Mistral call after %s (attempt %d)", exc, state.attempt_number)

        policy = RetryPolicy(
            max_attempts=self.max_attempts, deadline_s=self.deadline_s, max_wait_s=self.max_wait_s
        )
        async for attempt in policy.retrying(retryable, before_sleep=log_retry):
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        only_rate_limits: bool = False,
    ) -> Any:
        what = f"{method} {path}"

        async def once() -> Any:
            logger.debug("Mistral %s params=%s body=%s", what, params, _redact(json))
            # A client per call: polling is slow, and this never strands a pool on a closed loop.
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            async with httpx.AsyncClient(
                base_url=self._url, timeout=self.timeout_s, headers=headers
            ) as client:
                try:
                    response = await client.request(method, path, json=json, params=params)
                except httpx.HTTPError as exc:
                    raise _map_http(exc, what) from exc
            if response.status_code >= 400:
                raise http_error(
                    response.status_code,
                    f"{what}: {_server_message(response)}",
                    retry_after=parse_retry_after(response.headers.get("retry-after")),
                )
            try:
                return response.json()
            except ValueError as exc:
                raise BackendError(f"{what}: the answer is not JSON") from exc

        return await self._retrying(once, only_rate_limits=only_rate_limits)

    # -- files ----------------------------------------------------------------------------

    async def upload(self, content: bytes, filename: str) -> str:
        """Upload a JSONL file for fine-tuning with the SDK's ``files.upload``.

        Args:
            content: The file's bytes.
            filename: The name shown in the console.

        Returns:
            The file id.

        Raises:
            ConfigurationError: If ``mistralai`` is not installed.
            BackendError: If the upload fails after retries.
        """
        try:
            from mistralai.client import Mistral

            from .._backends._mistral import map_mistral_error
        except ImportError as exc:
            raise ConfigurationError(
                "uploading fine-tuning files needs the Mistral SDK: pip install "
                "'hallujudge[mistral]'"
            ) from exc

        async def once() -> str:
            sdk = Mistral(
                api_key=self._api_key,
                server_url=self._url,
                timeout_ms=int(self.timeout_s * 1000),
            )
            try:
                async with sdk:
                    uploaded = await sdk.files.upload_async(
                        file={"file_name": filename, "content": content},
                        purpose="fine-tune",
                    )
            except Exception as exc:  # the SDK's own httpx fork and error classes
                error = map_mistral_error(exc, secret=self._api_key)
                if error is None:
                    raise
                raise error from exc
            return str(uploaded.id)

        return await self._retrying(once)

    # -- jobs -----------------------------------------------------------------------------

    async def estimate(self, payload: Mapping[str, Any]) -> Estimate:
        """Dry-run a job: ``POST /v1/fine_tuning/jobs?dry_run=true``.

        Args:
            payload: The ``JobIn`` body.

        Returns:
            The server's estimate.
        """
        data = await self._request(
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
        data = await self._request(
            "POST", "/v1/fine_tuning/jobs", json=payload, only_rate_limits=True
        )
        return JobInfo.model_validate(data)

    async def get(self, job_id: str) -> JobInfo:
        """Fetch a job with its events and checkpoints: ``GET /v1/fine_tuning/jobs/{id}``."""
        return JobInfo.model_validate(await self._request("GET", f"/v1/fine_tuning/jobs/{job_id}"))

    async def list(self, **filters: Any) -> list[JobInfo]:
        """List jobs: ``GET /v1/fine_tuning/jobs`` with the spec's filters (``model``, ...)."""
        params = {k: v for k, v in filters.items() if v is not None}
        data = await self._request("GET", "/v1/fine_tuning/jobs", params=params)
        return [JobInfo.model_validate(item) for item in data.get("data", [])]

    async def start(self, job_id: str) -> JobInfo:
        """Start a validated job: ``POST /v1/fine_tuning/jobs/{id}/start``."""
        data = await self._request("POST", f"/v1/fine_tuning/jobs/{job_id}/start")
        return JobInfo.model_validate(data)

    async def cancel(self, job_id: str) -> JobInfo:
        """Request cancellation: ``POST /v1/fine_tuning/jobs/{id}/cancel``."""
        data = await self._request("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel")
        return JobInfo.model_validate(data)
