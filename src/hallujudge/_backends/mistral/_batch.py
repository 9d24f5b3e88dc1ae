"""Large offline evaluations through Mistral's Batch API: a capability of the chat backend.

``judge.batch_score(items)`` hands the pairs to :meth:`MistralBackend.abatch_score`, which lands
here: every line is the body the live path would send (``Judge.build_request`` rendered by
:func:`~._chat.chat_body`), one JSONL of ``{"custom_id", "body"}`` lines is uploaded, a batch job
on ``/v1/chat/completions`` is created and polled, and the results are read back by
``custom_id`` through the live path's reader into one Verdict per input, in order. It costs
about half of live calls on Mistral and has no rate limits to manage, at the price of latency
(minutes to hours). Every call runs through the connection under the judge's retry policy;
creating the job is retried only after a 429 (the server refuses it before doing anything), so
a job is never submitted twice.

Resumable: the job id is logged and reported through ``on_submit``; pass it back as
``job_id=`` (from any process) to pick up the same job instead of submitting a new one. The job
carries a hash of its inputs in its metadata, and resuming with different inputs is refused.
Rows without a result (a failed line, an expired or cancelled job) are unscored with the
reason, never dropped. Settings a batch cannot honour are refused (:func:`refuse_unbatchable`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mistralai.client import models
from pydantic import ValidationError

from ..._errors import BackendError, ConfigurationError
from ..._types import Example, Verdict
from ._chat import chat_body, chat_response
from ._files import download_lines, upload

if TYPE_CHECKING:
    from ..._judge import Judge
    from ._chat import MistralBackend

__all__ = ["abatch_score", "batch_requests", "refuse_unbatchable"]

logger = logging.getLogger("hallujudge")

_TERMINAL = {"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"}
_METADATA_KEY = "hallujudge_inputs"


def refuse_unbatchable(judge: Judge) -> None:
    """Refuse the settings a batch job cannot honour (one request per row, one answer).

    Raises:
        ConfigurationError: For ``samples``, ``claims="sentence"`` or ``repair=True``.
    """
    for option, active in (
        ("samples=", bool(judge.samples)),
        ("claims='sentence'", judge.claims == "sentence"),
        ("repair=True", judge.repair),
    ):
        if active:
            raise ConfigurationError(
                f"batch scoring cannot honour {option} (it sends one request per row and reads "
                "one answer); use score_many, or a judge without it"
            )


def batch_requests(judge: Judge, examples: Sequence[Example]) -> list[dict[str, Any]]:
    """The batch input lines for ``examples``: exactly the bodies the judge sends live.

    Args:
        judge: The judge whose prompt strategy and settings render the requests.
        examples: The pairs in order; ``custom_id`` is the row's position.

    Returns:
        One ``{"custom_id": str, "body": dict}`` per example.

    Raises:
        ConfigurationError: For settings a batch cannot honour, or a document over the input
            budget (a batch cannot judge it in windows).
    """
    refuse_unbatchable(judge)
    lines = []
    for index, example in enumerate(examples):
        if not judge.fits_input_budget(example):
            raise ConfigurationError(
                f"row {index}: the document is over the model's input budget of "
                f"{judge.max_input_tokens} tokens; a batch sends one request per row and cannot "
                "judge it in windows: use score_many, or Judge(max_input_tokens=...) if the "
                "model's context is larger"
            )
        lines.append({"custom_id": str(index), "body": chat_body(judge.build_request(example))})
    return lines


async def abatch_score(
    backend: MistralBackend,
    judge: Judge,
    examples: Sequence[Example],
    *,
    job_id: str | None = None,
    poll_s: float = 10.0,
    timeout_s: float | None = None,
    on_submit: Callable[[str], None] | None = None,
) -> list[Verdict]:
    """Judge many pairs through one Mistral batch job.

    Args:
        backend: The judge's Mistral chat backend.
        judge: The judge (its settings render the lines and read the answers).
        examples: The pairs, in order.
        job_id: Resume this job instead of submitting a new one.
        poll_s: Seconds between status checks.
        timeout_s: Give up waiting after this long (the job keeps running on Mistral's side:
            resume it later with ``job_id=``). None waits for the job's own timeout.
        on_submit: Called with the new job's id as soon as it exists (save it to resume).

    Returns:
        Exactly one Verdict per input, in order.

    Raises:
        ConfigurationError: For settings a batch cannot honour, or resuming a job with other
            inputs.
        BackendError: If the job cannot be created or its results cannot be downloaded.
    """
    refuse_unbatchable(judge)
    verdicts: list[Verdict | None] = [None] * len(examples)
    sendable: list[int] = []
    for index, example in enumerate(examples):
        if not example.document.strip() or not example.summary.strip():
            verdicts[index] = await judge.ajudge(example)  # unscored with its reason, no call
        else:
            sendable.append(index)
    lines = [
        {**line, "custom_id": str(index)}
        for index, line in zip(
            sendable, batch_requests(judge, [examples[i] for i in sendable]), strict=True
        )
    ]
    job = await _submit_or_resume(backend, judge, lines, job_id=job_id, on_submit=on_submit)
    results: dict[str, dict[str, Any]] = {}
    status = "SUCCESS"
    if job is not None:
        job_id = str(job.id)
        job = await _wait(backend, judge, job, poll_s=poll_s, timeout_s=timeout_s)
        status = str(job.status)
        for file_id in (job.output_file, job.error_file):
            if file_id:
                found = await download_lines(
                    backend.connection, str(file_id), policy=judge.retry_policy
                )
                results.update((str(line.get("custom_id")), line) for line in found)
    for index in sendable:
        verdicts[index] = _verdict(judge, results.get(str(index)), job_id=job_id, status=status)
    return [v for v in verdicts if v is not None]


async def _submit_or_resume(
    backend: MistralBackend,
    judge: Judge,
    lines: list[dict[str, Any]],
    *,
    job_id: str | None,
    on_submit: Callable[[str], None] | None,
) -> Any:
    """The batch job: a new one for ``lines``, or ``job_id`` checked against them (None: none)."""
    payload = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines).encode()
    digest = hashlib.sha256(payload + backend.model.encode()).hexdigest()
    connection, policy = backend.connection, judge.retry_policy
    if job_id is not None:
        job = await connection.call(
            lambda: connection.sdk().batch.jobs.get_async(job_id=job_id),
            policy,
            what=f"batch job {job_id}",
        )
        recorded = (job.metadata or {}).get(_METADATA_KEY)
        if recorded is not None and recorded != digest:
            raise ConfigurationError(
                f"batch job {job_id} was made from other inputs (or another judge "
                "configuration); resume it with the same data and judge, or drop job_id="
            )
        return job
    if not lines:
        return None
    name = f"hallujudge-batch-{digest[:12]}.jsonl"
    file_id = await upload(connection, payload, name, purpose="batch", policy=policy)
    job = await connection.call(
        lambda: connection.sdk().batch.jobs.create_async(
            endpoint="/v1/chat/completions",
            input_files=[file_id],
            model=backend.model,
            metadata={_METADATA_KEY: digest, "judge_prompt": judge.prompt},
        ),
        policy,
        what="batch job creation",
        only_rate_limits=True,
    )
    logger.info("hallujudge: batch job %s submitted (%d requests)", job.id, len(lines))
    if on_submit is not None:
        on_submit(str(job.id))
    return job


async def _wait(
    backend: MistralBackend, judge: Judge, job: Any, *, poll_s: float, timeout_s: float | None
) -> Any:
    connection, job_id = backend.connection, str(job.id)
    started = time.monotonic()
    while str(job.status) not in _TERMINAL:
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise ConfigurationError(
                f"batch job {job_id} is still {job.status} after {timeout_s:g} s; it keeps "
                f"running: resume later with job_id={job_id!r}"
            )
        await asyncio.sleep(poll_s)
        # transient polling failures are retried: they must not lose the job
        job = await connection.call(
            lambda: connection.sdk().batch.jobs.get_async(job_id=job_id),
            judge.retry_policy,
            what=f"poll of batch job {job_id}",
        )
    return job


def _unscored(judge: Judge, reason: str, meta: dict[str, Any]) -> Verdict:
    return Verdict.unscored(
        reason, model=judge.model, prompt=judge.prompt, meta={**meta, "retryable": True}
    )


def _verdict(
    judge: Judge, result: dict[str, Any] | None, *, job_id: str | None, status: str
) -> Verdict:
    meta = {"batch_job": job_id}
    if result is None:
        return _unscored(
            judge, f"the batch job {job_id} ended {status} with no result for this row", meta
        )
    response = result.get("response") or {}
    body = response.get("body") if isinstance(response, dict) else None
    if result.get("error") or not isinstance(body, dict):
        error = result.get("error") or {"message": "no response body"}
        message = error.get("message") if isinstance(error, dict) else str(error)
        return _unscored(judge, f"the batch request failed: {message}", meta)
    try:  # the live path's reader: same text, usage and log-probabilities
        answer = chat_response(models.ChatCompletionResponse.model_validate(body))
    except (ValidationError, BackendError) as exc:
        return _unscored(judge, f"the batch answer is not a valid chat completion: {exc}", meta)
    verdict = judge._read(answer)
    update: dict[str, Any] = {"model": judge.model, "prompt": judge.prompt}
    update["meta"] = {**verdict.meta, **meta}
    return verdict.model_copy(update=update)
