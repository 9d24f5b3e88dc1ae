"""FineTuneJob: track a fine-tuning job to its end and turn the result into a drop-in Judge."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from .._errors import BackendError, BackendTimeoutError, ConfigurationError, FineTuneError
from .._sync import run_sync
from ._lineage import Lineage
from ._mistral import FAILED_STATUSES, Checkpoint, Event, JobInfo, job_failure_message

if TYPE_CHECKING:
    from pathlib import Path

    from .._backends.mistral._jobs import MistralJobsClient
    from .._judge import Judge
    from .._prompts import PromptStrategy

__all__ = ["FineTuneJob"]

logger = logging.getLogger("hallujudge")


class _Progress:
    """Status lines while waiting: rich when installed, else plain lines on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._last: tuple[str, int] | None = None
        self._console: Any = None
        if enabled:
            try:
                from rich.console import Console
            except ImportError:  # rich is optional (the ``report`` extra)
                self._console = None
            else:
                self._console = Console(stderr=True, highlight=False)
        self._started = time.monotonic()

    def update(self, job: JobInfo) -> None:
        if not self.enabled:
            return
        step = job.checkpoints[-1].step_number if job.checkpoints else 0
        key = (job.status, step)
        if key == self._last:
            return
        self._last = key
        elapsed = time.monotonic() - self._started
        parts = [f"job {job.id}", job.status, f"{elapsed:.0f}s"]
        if job.checkpoints:
            last = job.checkpoints[-1]
            total = job.hyperparameters.get("training_steps")
            parts.append(f"step {last.step_number}" + (f"/{total}" if total else ""))
            parts.extend(
                f"{name} {value:.4g}"
                for name, value in sorted(last.metrics.items())
                if isinstance(value, int | float)
            )
        if job.fine_tuned_model:
            parts.append(job.fine_tuned_model)
        line = " · ".join(parts)
        if self._console is not None:
            self._console.print(f"[bold]fine-tune[/bold] {line}", soft_wrap=True)
        else:
            print(f"fine-tune {line}", file=sys.stderr, flush=True)


class FineTuneJob:
    """One fine-tuning job: its status, events, and the judge it produces.

    Get one from :meth:`FineTuner.create` or resume one with :meth:`FineTuner.get_job`.

    Args:
        info: The job as the server last described it.
        client: The jobs client (None for local jobs, which finish when created).
        lineage: Where the model comes from; completed from the job as it progresses.
        prompt: The prompt strategy the training data was rendered with (completion jobs).
        judge_options: Backend options passed to the judge (``api_key``, ``server_url``).
    """

    def __init__(
        self,
        info: JobInfo,
        *,
        client: MistralJobsClient | None,
        lineage: Lineage,
        prompt: str | PromptStrategy | None = None,
        judge_options: dict[str, Any] | None = None,
    ) -> None:
        self._info = info
        self._client = client
        self._prompt = prompt
        self._judge_options = dict(judge_options or {})
        self._lineage = lineage
        self._absorb(info)

    def __repr__(self) -> str:
        return f"FineTuneJob(id={self.id!r}, status={self.status!r}, model={self._info.model!r})"

    # -- what the server said -------------------------------------------------------------

    @property
    def id(self) -> str:
        """The job id."""
        return self._info.id

    @property
    def status(self) -> str:
        """The last known status (``QUEUED``, ``RUNNING``, ``SUCCESS``, ``FAILED``, ...)."""
        return self._info.status

    @property
    def info(self) -> JobInfo:
        """The whole job description from the last refresh."""
        return self._info

    @property
    def events(self) -> list[Event]:
        """The job's events (one per status change), oldest first."""
        return sorted(self._info.events, key=lambda e: e.created_at)

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Training checkpoints with their metrics, oldest first."""
        return sorted(self._info.checkpoints, key=lambda c: c.step_number)

    @property
    def fine_tuned_model(self) -> str | None:
        """The fine-tuned model id, once the job succeeded."""
        return self._info.fine_tuned_model

    @property
    def job_type(self) -> str:
        """``completion``, ``classifier`` or ``local``."""
        return self._info.job_type

    @property
    def done(self) -> bool:
        """Whether the job reached a final status."""
        return self.status == "SUCCESS" or self.status in FAILED_STATUSES

    @property
    def lineage(self) -> dict[str, Any]:
        """Base model, fine-tuned id, job id, data hashes and sizes, prompt, hyperparameters."""
        return self._lineage.to_dict()

    @property
    def lineage_record(self) -> Lineage:
        """The lineage as a typed model."""
        return self._lineage

    def save_lineage(self, path: str | Path) -> Path:
        """Write the lineage to a small JSON file (read it back with ``Lineage.from_json``)."""
        return self._lineage.to_json(path)

    def _absorb(self, info: JobInfo) -> None:
        self._info = info
        update: dict[str, Any] = {"job_id": info.id, "created_at": info.created_at or None}
        if info.fine_tuned_model:
            update["fine_tuned_model"] = info.fine_tuned_model
        if info.hyperparameters:
            update["hyperparameters"] = {
                k: v for k, v in info.hyperparameters.items() if v is not None
            }
        if info.checkpoints:
            last = max(info.checkpoints, key=lambda c: c.step_number)
            update["metrics"] = {
                "step": last.step_number,
                **{k: v for k, v in last.metrics.items() if v is not None},
            }
        self._lineage = self._lineage.model_copy(update=update)

    def _require_client(self, action: str) -> MistralJobsClient:
        if self._client is None:
            raise ConfigurationError(f"a {self.job_type} job cannot {action}: it runs in-process")
        return self._client

    # -- actions --------------------------------------------------------------------------

    async def arefresh(self) -> FineTuneJob:
        """Fetch the job's current status, events and checkpoints (transient errors retried).

        Returns:
            This job, updated.
        """
        if self._client is not None:
            self._absorb(await self._client.get(self.id))
        return self

    def refresh(self) -> FineTuneJob:
        """Sync twin of :meth:`arefresh`."""
        return run_sync(self.arefresh(), async_name="job.arefresh")

    async def astart(self) -> FineTuneJob:
        """Start a job created with ``auto_start=False`` once it is ``VALIDATED``.

        Returns:
            This job, updated.
        """
        self._absorb(await self._require_client("be started").start(self.id))
        return self

    def start(self) -> FineTuneJob:
        """Sync twin of :meth:`astart`."""
        return run_sync(self.astart(), async_name="job.astart")

    async def acancel(self) -> FineTuneJob:
        """Ask the server to cancel the job (status becomes ``CANCELLATION_REQUESTED``).

        Returns:
            This job, updated.
        """
        self._absorb(await self._require_client("be cancelled").cancel(self.id))
        return self

    def cancel(self) -> FineTuneJob:
        """Sync twin of :meth:`acancel`."""
        return run_sync(self.acancel(), async_name="job.acancel")

    async def await_done(
        self,
        timeout: float | None = 3600.0,  # noqa: ASYNC109 - a deadline across polls, by design
        poll: float = 10.0,
        *,
        max_poll: float | None = None,
        progress: bool = True,
    ) -> FineTuneJob:
        """Poll until the job succeeds; raise if it fails, is cancelled, or time runs out.

        The pause between polls starts at ``poll``, grows by half each time nothing changed, up
        to ``max_poll``, and drops back to ``poll`` when the status or step moves. Transient
        errors (429, 5xx, timeouts) are retried inside each poll and, if they persist, polling
        goes on until the deadline.

        Args:
            timeout: Seconds to wait in total (None: no limit).
            poll: First pause between polls, in seconds.
            max_poll: Longest pause (default: four times ``poll``, at least 60 s).
            progress: Show status lines (rich if installed, else plain lines on stderr).

        Returns:
            This job, with ``status == "SUCCESS"`` and ``fine_tuned_model`` set.

        Raises:
            FineTuneError: The job failed or was cancelled; carries the job's own message.
            BackendTimeoutError: The job was still running at the deadline (it keeps running;
                call ``wait`` again or ``cancel``).
            ConfigurationError: The job waits for ``start()`` (created with auto_start=False).
        """
        if poll <= 0:
            raise ConfigurationError("poll must be a positive number of seconds")
        ceiling = max_poll if max_poll is not None else max(poll * 4, 60.0)
        deadline = None if timeout is None else time.monotonic() + timeout
        display = _Progress(progress)
        interval = poll
        last_seen: tuple[str, int] | None = None
        while True:
            try:
                await self.arefresh()
            except BackendError as exc:
                if not exc.retryable:
                    raise
                logger.warning("polling job %s failed (%s); polling again", self.id, exc)
            else:
                display.update(self._info)
                self._raise_if_over()
                if self.status == "SUCCESS":
                    return self
            seen = (self.status, len(self._info.checkpoints))
            interval = poll if seen != last_seen else min(interval * 1.5, ceiling)
            last_seen = seen
            pause = interval
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BackendTimeoutError(
                        f"fine-tuning job {self.id} is still {self.status} after {timeout:g} s; "
                        "it keeps running: call wait() again (or FineTuner.get_job(id) later), "
                        "or cancel() it"
                    )
                pause = min(pause, remaining)
            await asyncio.sleep(pause)

    def wait(
        self,
        timeout: float | None = 3600.0,
        poll: float = 10.0,
        *,
        max_poll: float | None = None,
        progress: bool = True,
    ) -> FineTuneJob:
        """Sync twin of :meth:`await_done`."""
        return run_sync(
            self.await_done(timeout, poll, max_poll=max_poll, progress=progress),
            async_name="job.await_done",
        )

    def _raise_if_over(self) -> None:
        info = self._info
        if info.status in FAILED_STATUSES:
            raise FineTuneError(job_failure_message(info), job_id=info.id, status=info.status)
        if info.status == "SUCCESS" and not info.fine_tuned_model:
            raise FineTuneError(
                f"fine-tuning job {info.id} succeeded but the server named no fine-tuned model",
                job_id=info.id,
                status=info.status,
            )
        if info.status == "VALIDATED" and not info.auto_start:
            raise ConfigurationError(
                f"fine-tuning job {info.id} is validated and waits to be started: call "
                "job.start() (or create with auto_start=True), then wait again"
            )

    # -- the result -----------------------------------------------------------------------

    def judge(self, **judge_options: Any) -> Judge:
        """The drop-in Judge for the fine-tuned model, with the prompt it was trained with.

        Completion fine-tunes answer through chat completions with the same prompt strategy
        that rendered the training data; classifier fine-tunes answer through
        ``/v1/classifications`` with label probabilities (so ``Verdict.score`` is set); local
        jobs load the trained directory. The judge's ``lineage`` is this job's lineage.

        Args:
            **judge_options: Any :class:`~hallujudge.Judge` option (``concurrency``, ...).

        Returns:
            The judge.

        Raises:
            FineTuneError: If the job has not succeeded (yet).
        """
        from .._judge import Judge

        info = self._info
        if info.status in FAILED_STATUSES:
            raise FineTuneError(job_failure_message(info), job_id=info.id, status=info.status)
        if info.status != "SUCCESS" or not info.fine_tuned_model:
            raise FineTuneError(
                f"fine-tuning job {info.id} is {info.status}, not finished: call job.wait() first",
                job_id=info.id,
                status=info.status,
            )
        options = {**self._judge_options, **judge_options}
        if info.job_type == "local":
            judge = Judge(f"local:{info.fine_tuned_model}", **judge_options)
        elif info.job_type == "classifier":
            judge = Judge(f"mistral-classifier:{info.fine_tuned_model}", **options)
        else:
            options.setdefault("prompt", self._prompt or "fine-tune")
            model = info.fine_tuned_model
            judge = Judge(model if model.startswith("ft:") else f"mistral:{model}", **options)
        judge.lineage = self.lineage
        return judge
