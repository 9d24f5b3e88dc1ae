"""Large offline evaluations through Mistral's Batch API.

``judge.batch_score(items)`` renders every pair with the judge's own prompt strategy and
settings, uploads one JSONL of requests (``{"custom_id", "body"}`` per line), creates a batch
job on ``/v1/chat/completions``, waits for it, downloads the results and maps them back by
``custom_id`` into one Verdict per input, in order. It costs about half of live calls on Mistral
and has no rate limits to manage, at the price of latency (minutes to hours).

Resumable: the job id is logged and reported through ``on_submit``; pass it back as
``job_id=`` (from any process) to pick up the same job instead of submitting a new one. The job
carries a hash of its inputs in its metadata, and resuming with different inputs is refused.
Rows without a result (a failed line, an expired or cancelled job) are unscored with the
reason, never dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._errors import BackendError, ConfigurationError, ServerError
from ._judge import PairLike, to_example
from ._types import Verdict

if TYPE_CHECKING:
    from ._backends._mistral import MistralBackend
    from ._judge import Judge

__all__ = ["abatch_score", "batch_requests", "refuse_unbatchable"]

logger = logging.getLogger("hallujudge")

_TERMINAL = {"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"}
_METADATA_KEY = "hallujudge_inputs"


def batch_requests(judge: Judge, examples: Iterable[Any]) -> list[dict[str, Any]]:
    """The batch input lines for ``examples``: exactly the bodies the judge sends live.

    Args:
        judge: The judge whose prompt strategy and settings render the requests.
        examples: Examples (or pairs) in order; ``custom_id`` is the row's position.

    Returns:
        One ``{"custom_id": str, "body": dict}`` per example.
    """
    from ._backends._mistral import chat_body

    refuse_unbatchable(judge)
    lines = []
    for index, item in enumerate(examples):
        example = to_example(item)
        if not judge.fits_input_budget(example):
            raise ConfigurationError(
                f"row {index}: the document is over the model's input budget of "
                f"{judge.max_input_tokens} tokens; a batch sends one request per row and cannot "
                "judge it in windows: use score_many, or Judge(max_input_tokens=...) if the "
                "model's context is larger"
            )
        lines.append({"custom_id": str(index), "body": chat_body(judge.build_request(example))})
    return lines


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


def _mistral_backend(judge: Judge) -> MistralBackend:
    from ._backends._mistral import MistralBackend

    backend = judge.backend
    if not isinstance(backend, MistralBackend):
        raise ConfigurationError(
            f"batch scoring runs on Mistral's Batch API; {judge.model!r} is not a Mistral chat "
            "model (use score_many for other backends)"
        )
    refuse_unbatchable(judge)
    return backend


async def abatch_score(
    judge: Judge,
    items: Iterable[PairLike],
    *,
    job_id: str | None = None,
    poll_s: float = 10.0,
    timeout_s: float | None = None,
    on_submit: Callable[[str], None] | None = None,
) -> list[Verdict]:
    """Judge many pairs through one Mistral batch job.

    Args:
        judge: A judge on a Mistral chat model (``mistral:...``, ``ft:...``).
        items: Pairs, Examples or a Dataset.
        job_id: Resume this job instead of submitting a new one.
        poll_s: Seconds between status checks.
        timeout_s: Give up waiting after this long (the job keeps running on Mistral's side:
            resume it later with ``job_id=``). None waits for the job's own timeout.
        on_submit: Called with the new job's id as soon as it exists (save it to resume).

    Returns:
        Exactly one Verdict per input, in order.

    Raises:
        ConfigurationError: For a non-Mistral judge, or resuming a job with other inputs.
        BackendError: If the job cannot be created or its results cannot be downloaded.
    """
    backend = _mistral_backend(judge)
    examples = [to_example(item) for item in items]
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
    payload = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines).encode()
    digest = hashlib.sha256(payload + backend.model.encode()).hexdigest()
    client = backend._client()

    try:
        if job_id is None and lines:
            upload = await client.files.upload_async(
                file={"file_name": f"hallujudge-batch-{digest[:12]}.jsonl", "content": payload},
                purpose="batch",
            )
            job = await client.batch.jobs.create_async(
                endpoint="/v1/chat/completions",
                input_files=[str(upload.id)],
                model=backend.model,
                metadata={_METADATA_KEY: digest, "judge_prompt": judge.prompt},
            )
            job_id = str(job.id)
            logger.info("hallujudge: batch job %s submitted (%d requests)", job_id, len(lines))
            if on_submit is not None:
                on_submit(job_id)
        elif job_id is not None:
            job = await client.batch.jobs.get_async(job_id=job_id)
            recorded = (job.metadata or {}).get(_METADATA_KEY)
            if recorded is not None and recorded != digest:
                raise ConfigurationError(
                    f"batch job {job_id} was made from other inputs (or another judge "
                    "configuration); resume it with the same data and judge, or drop job_id="
                )
        else:
            job = None
    except (ConfigurationError, BackendError):
        raise
    except Exception as exc:
        error = backend._error(exc)
        if error is None:
            raise
        raise error from exc

    results: dict[str, dict[str, Any]] = {}
    status = "SUCCESS"
    if job is not None:
        job = await _wait(backend, job, poll_s=poll_s, timeout_s=timeout_s)
        status = str(job.status)
        for file_id in (job.output_file, job.error_file):
            if file_id:
                for line in await _download_lines(backend, str(file_id)):
                    results[str(line.get("custom_id"))] = line

    for index in sendable:
        verdicts[index] = _verdict(judge, results.get(str(index)), job_id=job_id, status=status)
    return [v for v in verdicts if v is not None]


async def _wait(
    backend: MistralBackend, job: Any, *, poll_s: float, timeout_s: float | None
) -> Any:
    started = time.monotonic()
    while str(job.status) not in _TERMINAL:
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise ConfigurationError(
                f"batch job {job.id} is still {job.status} after {timeout_s:g} s; it keeps "
                f"running: resume later with job_id={str(job.id)!r}"
            )
        await asyncio.sleep(poll_s)
        try:
            job = await backend._client().batch.jobs.get_async(job_id=str(job.id))
        except Exception as exc:  # transient polling failures must not lose the job
            error = backend._error(exc)
            if error is None or not error.retryable:
                raise (error or exc) from exc
            logger.warning("hallujudge: polling batch job %s failed (%s); retrying", job.id, error)
    return job


async def _download_lines(backend: MistralBackend, file_id: str) -> list[dict[str, Any]]:
    try:
        response = await backend._client().files.download_async(file_id=file_id)
        raw = await response.aread()
    except Exception as exc:
        error = backend._error(exc)
        if error is None:
            raise
        raise error from exc
    lines = []
    for number, text in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            lines.append(json.loads(text))
        except ValueError as exc:
            raise ServerError(f"batch result file {file_id} line {number} is not JSON") from exc
    return lines


def _verdict(
    judge: Judge, result: dict[str, Any] | None, *, job_id: str | None, status: str
) -> Verdict:
    meta = {"batch_job": job_id}
    if result is None:
        return Verdict.unscored(
            f"the batch job {job_id} ended {status} with no result for this row",
            model=judge.model,
            prompt=judge.prompt,
            meta={**meta, "retryable": True},
        )
    response = result.get("response") or {}
    body = response.get("body") if isinstance(response, dict) else None
    if result.get("error") or not isinstance(body, dict):
        error = result.get("error") or {"message": "no response body"}
        message = error.get("message") if isinstance(error, dict) else str(error)
        return Verdict.unscored(
            f"the batch request failed: {message}",
            model=judge.model,
            prompt=judge.prompt,
            meta={**meta, "retryable": True},
        )
    from mistralai.client import models
    from pydantic import ValidationError

    from ._backends._mistral import chat_response

    try:  # the live path's reader: same text, usage and log-probabilities
        response = chat_response(models.ChatCompletionResponse.model_validate(body))
    except (ValidationError, BackendError) as exc:
        return Verdict.unscored(
            f"the batch answer is not a valid chat completion: {exc}",
            model=judge.model,
            prompt=judge.prompt,
            meta={**meta, "retryable": True},
        )
    verdict = judge._read(response)
    update: dict[str, Any] = {"model": judge.model, "prompt": judge.prompt}
    update["meta"] = {**verdict.meta, **meta}
    return verdict.model_copy(update=update)
