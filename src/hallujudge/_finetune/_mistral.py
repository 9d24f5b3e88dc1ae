"""The fine-tuning side of Mistral: the jobs client of a FineTuner, and job helpers.

Everything that talks to Mistral (credentials, clients, the error map, retries, the jobs REST
API, uploads) lives in :mod:`hallujudge._backends.mistral`; this module builds the FineTuner's
client from it, reads failure messages out of job events and builds the Weights & Biases
integration of a job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._backends.mistral._jobs import (
    FAILED_STATUSES,
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    Checkpoint,
    Estimate,
    Event,
    JobInfo,
)
from .._errors import ConfigurationError
from .._extras import import_extra

if TYPE_CHECKING:
    from .._backends.mistral._jobs import MistralJobsClient

__all__ = [
    "FAILED_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "Checkpoint",
    "Estimate",
    "Event",
    "JobInfo",
    "job_failure_message",
    "jobs_client",
    "wandb_integration",
]


def jobs_client(
    api_key: str | None = None, server_url: str | None = None, **options: Any
) -> MistralJobsClient:
    """The jobs client of one Mistral connection, by the Judge's credential rule.

    Args:
        api_key: Mistral key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``).
        **options: ``timeout_s``, ``max_attempts``, ``max_wait_s``, ``deadline_s``.

    Returns:
        The client.

    Raises:
        ConfigurationError: Without an API key for Mistral's own API (a custom ``server_url``
            may go without, as for the Judge), for a URL that is not http(s), or without the
            ``mistral`` extra.
    """
    package = import_extra(
        "hallujudge._backends.mistral", feature="Mistral fine-tuning", extra="mistral"
    )
    connection = package.MistralConnection(api_key=api_key, server_url=server_url)
    client: MistralJobsClient = package.MistralJobsClient(connection, **options)
    return client


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
