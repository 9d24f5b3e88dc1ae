"""A local fake of the Mistral API, faithful to ``../shared/mistral/openapi.yaml``.

Stdlib only (``http.server.ThreadingHTTPServer`` on 127.0.0.1, a random port, a background
thread), so the real ``mistralai`` SDK and plain ``httpx`` can talk to it in tests::

    with MistralFakeServer() as server:                  # or the ``mistral_server`` fixture
        monkeypatch.setenv("MISTRAL_SERVER_URL", server.url)   # base URL WITHOUT /v1
        server.enqueue(rate_limited(retry_after=0.2), server_error(503))
        ...                                              # the 3rd call gets the default answer
        assert server.validation_errors == []            # every request matched the spec

Endpoints (request bodies are validated against the spec's ``requestBody`` schema; response
bodies follow the spec's response schemas, checked in ``tests/test_backend_mistral.py``):

* ``POST /v1/chat/completions``: the answer comes from the next scripted outcome for that path,
  else from ``responder(request_json)`` (a str, or an :class:`Answer` with logprobs). The default
  :func:`consistency_responder` answers "inconsistent" when the summary's section (between the
  boundary lines the prompt announces; in prompts without them, the text after the last
  ``Summary:``) contains :data:`INCONSISTENT_MARKER` and "consistent" otherwise, as a single digit
  when the prompt asks for ``1``/``0`` (the ``fine-tune`` prompt) and as
  ``{"consistency": n, "reason": ...}`` JSON otherwise. ``ft:`` models must exist (created by a
  fine-tuning job or :meth:`MistralFakeServer.register_model`); unknown ones get HTTP 400.
* ``POST /v1/classifications`` (and ``/v1/chat/classifications``): only for classifier
  fine-tunes; ``results`` hold, per input, ``{target: {"scores": {label: p}}}`` for each target
  of the model, from ``classifier_responder(text, targets)``; the default gives
  ``consistent``/``inconsistent`` 0.9/0.1 by the same marker rule.
* ``GET /v1/models``, ``GET /v1/models/{id}``: base cards plus fine-tuned cards.
* ``POST /v1/files`` (multipart: ``file``, ``purpose``), ``GET /v1/files``,
  ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``, ``DELETE /v1/files/{id}``.
* ``POST /v1/fine_tuning/jobs``: with ``?dry_run=true`` returns ``LegacyJobMetadataOut``
  estimates: ``data_tokens`` = characters of the training files / 4, ``train_tokens_per_step`` =
  131072, ``train_tokens`` = steps x that, ``epochs`` = train_tokens / data_tokens, ``cost`` =
  train_tokens / 1e6 x :data:`PRICE_PER_M_TOKENS` (EUR), ``expected_duration_seconds`` = 12 per
  step. Otherwise creates a job (status ``QUEUED``); each ``GET /v1/fine_tuning/jobs/{id}``
  advances it one step: ``VALIDATING``, ``VALIDATED``, ``RUNNING``, ``SUCCESS`` (with
  ``auto_start=false`` it waits at ``VALIDATED`` for ``POST .../start``, which sets
  ``STARTED``). At ``SUCCESS`` the job gets ``fine_tuned_model`` =
  ``ft:<base>:<suffix or 8 hex>:<YYYYMMDD>:<8 hex>``, a checkpoint with losses, and the model
  answers chat completions (``job_type=completion``) or classifications
  (``job_type=classifier``, with the job's ``classifier_targets``). ``POST .../cancel`` gives
  ``CANCELLATION_REQUESTED`` then ``CANCELLED`` on the next GET. :meth:`fail_next_job` scripts a
  failure (``FAILED_VALIDATION`` at the validation step or ``FAILED`` after ``RUNNING``) whose
  message is in the last event's ``data["error"]``. ``GET /v1/fine_tuning/jobs`` lists jobs.
* ``POST /v1/batch/jobs`` (``input_files`` of JSONL ``{"custom_id", "body"}`` lines or inline
  ``requests``; endpoints ``/v1/chat/completions`` and ``/v1/classifications``): ``QUEUED``, then
  per GET ``RUNNING`` and ``SUCCESS``, when ``output_file`` holds one JSONL line per request:
  ``{"id", "custom_id", "response": {"status_code": 200, "body": <completion>}, "error": null}``
  computed by the same responders (failed lines go to ``error_file``). ``?inline=true`` also
  returns them in ``outputs``. ``POST .../cancel``, ``GET /v1/batch/jobs``.

Scripted outcomes (a queue per path prefix, consumed before the default behaviour): a str or
:class:`Answer`; :func:`rate_limited` (429 + ``Retry-After``); :func:`server_error` (500/503);
:func:`slow` (sleep, then answer); :func:`not_json` and :func:`truncated_json` (HTTP 200 with a
broken body); :func:`drop` (close the connection without answering, or mid-body).

Every request is logged in ``.requests`` (:class:`RecordedRequest`: method, path, query,
headers, parsed body, spec errors). Set ``api_key=`` to require ``Authorization: Bearer <key>``.
Run standalone for benchmarks (so the server's CPU is not counted in the client's process)::

    python tests/fakes/mistral_server.py --latency 0.2      # prints the base URL, Ctrl-C stops
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import hashlib
import json
import math
import re
import secrets
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

try:  # works both as ``tests.fakes.mistral_server``/``fakes.mistral_server`` and as a script
    from .openapi import OpenAPISpec, mistral_spec
except ImportError:  # pragma: no cover - run as a script
    from openapi import OpenAPISpec, mistral_spec  # type: ignore[no-redef]

__all__ = [
    "BASE_MODELS",
    "GARBAGE_ANSWER",
    "INCONSISTENT_MARKER",
    "PRICE_PER_M_TOKENS",
    "TEST_API_KEY",
    "Answer",
    "Chaos",
    "Drop",
    "Fail",
    "MistralFakeServer",
    "Outcome",
    "RawBody",
    "RecordedRequest",
    "Slow",
    "classifier_responder",
    "consistency_responder",
    "drop",
    "not_json",
    "rate_limited",
    "server_error",
    "slow",
    "truncated_json",
]

TEST_API_KEY = "test-key-0123456789abcdef"
"""A dummy key for tests (the ``mistral_env`` fixture sets it as ``MISTRAL_API_KEY``)."""

INCONSISTENT_MARKER = "FABRICATED"
"""A summary containing this word is judged inconsistent by the default responders."""

BASE_MODELS: dict[str, int] = {
    "open-mistral-7b": 32_768,
    "open-mistral-nemo": 131_072,
    "open-mixtral-8x7b": 32_768,
    "mistral-small-latest": 131_072,
    "mistral-medium-latest": 131_072,
    "mistral-large-latest": 131_072,
    "ministral-3b-latest": 131_072,
    "ministral-8b-latest": 131_072,
}
"""Base models the fake lists, with their context sizes."""

PRICE_PER_M_TOKENS: dict[str, float] = {
    "open-mistral-7b": 1.0,
    "open-mistral-nemo": 1.0,
    "mistral-small-latest": 4.0,
    "ministral-3b-latest": 0.5,
    "ministral-8b-latest": 1.0,
}
"""Fake fine-tuning prices (EUR per million training tokens; 2.0 for others)."""

TOKENS_PER_STEP = 131_072
FT_STATUS_STEPS = ("QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "SUCCESS")
TERMINAL_FT = {"SUCCESS", "FAILED", "FAILED_VALIDATION", "CANCELLED"}
TERMINAL_BATCH = {"SUCCESS", "FAILED", "TIMEOUT_EXCEEDED", "CANCELLED"}


# -- scripted outcomes ----------------------------------------------------------------------


@dataclass
class Answer:
    """A successful chat answer.

    Attributes:
        text: The assistant's content.
        logprobs: Per-token ``(token, logprob, {alternative: logprob})`` to return, or None.
        finish_reason: ``stop``, ``length``, ...
        usage: Override of the token counts (``prompt_tokens``, ``completion_tokens``).
    """

    text: str
    logprobs: list[tuple[str, float, dict[str, float]]] | None = None
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None


@dataclass
class Fail:
    """An HTTP error answer (status, JSON body, extra headers)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Slow:
    """Sleep ``seconds`` before answering with ``then`` (None: the default behaviour)."""

    seconds: float
    then: Outcome | None = None


@dataclass
class RawBody:
    """Exact bytes as the body (for broken JSON), with a status and content type."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


@dataclass
class Drop:
    """Close the connection without a full answer.

    Attributes:
        after_bytes: None: send nothing. N: send headers promising more and only N body bytes.
    """

    after_bytes: int | None = None


Outcome = str | Answer | Fail | Slow | RawBody | Drop


GARBAGE_ANSWER = "As an AI model I would rather not say."
"""What :class:`Chaos` answers to its garbage share of rows (no verdict can be read from it)."""


@dataclass(frozen=True)
class Chaos:
    """A rate-limited, flaky server for load tests (applies to unscripted inference calls).

    Which rows fail is decided by a digest of the request body, so it is the same in every
    run, and "first attempt" means the first time the fake admits that exact body.

    Attributes:
        max_in_flight: Answer HTTP 429 (with ``Retry-After``) to a call arriving while this
            many are being served (None: no limit).
        retry_after: The ``Retry-After`` of those 429s, in seconds.
        error_rate: Share of rows whose first admitted attempt gets HTTP 503.
        timeout_rate: Share of rows whose first admitted attempt hangs ``timeout_s`` seconds.
        timeout_s: How long those hang.
        garbage_rate: Share of rows that always get :data:`GARBAGE_ANSWER` (HTTP 200).
        tpm: Answer HTTP 429 to a call whose prompt tokens (characters / 4, as the fake's
            ``usage`` counts them) do not fit a token bucket of ``tpm`` per minute that holds
            ``tpm_burst_s`` seconds' worth (None: no token limit). A real per-minute limit
            allows bursts of up to a minute's worth; a short burst keeps tests fast.
        tpm_burst_s: Seconds of tokens that bucket holds.
    """

    max_in_flight: int | None = None
    retry_after: float = 0.05
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 5.0
    garbage_rate: float = 0.0
    tpm: float | None = None
    tpm_burst_s: float = 2.0


def rate_limited(retry_after: float | None = 1.0) -> Fail:
    """HTTP 429 as Mistral sends it, with ``Retry-After`` in seconds when given."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    body = {"object": "error", "message": "Requests rate limit exceeded", "type": "rate_limited"}
    return Fail(429, body, headers)


def server_error(status: int = 500) -> Fail:
    """An HTTP 5xx answer."""
    return Fail(status, {"object": "error", "message": "Internal server error", "type": "internal"})


def slow(seconds: float, then: Outcome | None = None) -> Slow:
    """Answer after ``seconds`` (with ``then``, or the default answer)."""
    return Slow(seconds, then)


def not_json() -> RawBody:
    """HTTP 200 whose body is HTML, as a misconfigured proxy would send."""
    return RawBody(b"<html><body>502 Bad Gateway</body></html>", 200, "application/json")


def truncated_json() -> RawBody:
    """HTTP 200 whose JSON body is cut in the middle (complete at the HTTP level)."""
    return RawBody(b'{"id": "cmpl-1", "object": "chat.completion", "choices": [{"ind')


def drop(after_bytes: int | None = None) -> Drop:
    """Close the connection without answering (or after ``after_bytes`` body bytes)."""
    return Drop(after_bytes)


def _prompt_tokens(raw: bytes) -> int:
    """Prompt tokens of a chat body as :meth:`MistralFakeServer.completion_json` counts them."""
    try:
        body = json.loads(raw)
    except ValueError:
        return 1
    messages = body.get("messages", []) if isinstance(body, dict) else []
    return max(1, sum(len(_content_text(m.get("content"))) for m in messages) // 4)


# -- default responders ---------------------------------------------------------------------


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


_BOUNDARY = re.compile(r"<<<END NAME ([0-9a-f]{16})>>>")


def _summary_part(text: str) -> str:
    # Read the summary the way the prompt asks: the section between the boundary lines whose
    # tag the instruction (which comes before any data) announces. Prompts without boundary
    # lines: the text after the last "Summary:", as a naive reader would.
    announced = _BOUNDARY.search(text)
    if announced is None:
        return text.rsplit("Summary:", 1)[-1]
    tag = announced.group(1)
    start = text.find(f"<<<SUMMARY {tag}>>>")
    end = text.find(f"<<<END SUMMARY {tag}>>>", start)
    return text[start:end] if start != -1 and end != -1 else ""


def consistency_responder(body: dict[str, Any]) -> str:
    """Answer a judge prompt by the marker rule (see the module docstring).

    Args:
        body: The chat completion request.

    Returns:
        ``"1"``/``"0"`` for the fine-tune prompt, else ``{"consistency": n, "reason": ...}``.
    """
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    text = _content_text(users[-1].get("content")) if users else ""
    label = 0 if INCONSISTENT_MARKER in _summary_part(text) else 1
    if "Answer 1 for consistent or 0" in text:
        return str(label)
    reason = "supported by the document" if label else "the summary states a fabricated fact"
    return json.dumps({"consistency": label, "reason": reason})


def classifier_responder(text: str, targets: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Scores per target and label for one classifier input, by the marker rule.

    Args:
        text: The classifier input.
        targets: The model's ``classifier_targets`` (``name``, ``labels``).

    Returns:
        ``{target: {label: score}}``; scores of a target sum to 1.
    """
    bad = INCONSISTENT_MARKER in _summary_part(text)
    out: dict[str, dict[str, float]] = {}
    for target in targets:
        labels = list(target["labels"])
        if "consistent" in labels and "inconsistent" in labels:
            p = 0.1 if bad else 0.9
            scores = {label: 0.0 for label in labels}
            scores["consistent"], scores["inconsistent"] = p, 1.0 - p
        else:
            scores = {label: 1.0 / len(labels) for label in labels}
        out[target["name"]] = scores
    return out


# -- request log ----------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the fake received.

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        query: Parsed query parameters.
        headers: Headers, names lower-cased.
        body: The parsed JSON body, the form fields of a multipart body (file content as
            bytes), or None.
        errors: Where the request breaks the spec (empty when valid).
        outcome: What the fake did (``default``, ``Fail(429)``, ...).
        started: ``time.monotonic()`` at arrival.
        client_port: The client's TCP port (one per connection: counts connections opened).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    errors: list[str] = field(default_factory=list)
    outcome: str = "default"
    started: float = 0.0
    client_port: int = 0


class _StopError(Exception):
    """The handler already answered (or dropped the connection)."""


# -- the server -----------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _hex(n: int) -> str:
    return secrets.token_hex(n // 2)


class MistralFakeServer:
    """The fake Mistral API (see the module docstring for endpoints and behaviour).

    Args:
        responder: ``(chat request json) -> str | Answer`` for chat completions.
        classifier_responder: ``(input text, targets) -> {target: {label: score}}``.
        latency_s: Delay before every chat/classification answer.
        validate: Validate requests (and responses) against the spec, when it is available.
        api_key: When set, require ``Authorization: Bearer <api_key>`` (else HTTP 401).
        spec: The spec to validate against (default: Mistral's from ``../shared``).

    Attributes:
        requests: Every request received, in order.
        response_errors: Where the fake's own JSON answers broke the spec (should stay empty).
        files: Uploaded and generated files by id (metadata plus ``content`` bytes).
        jobs: Fine-tuning jobs by id (the JSON the API returns, plus private ``_`` keys).
        batch_jobs: Batch jobs by id.
        models: Fine-tuned models by id: ``{"job_type", "root", "job", "classifier_targets"}``.
        check_spec: Whether the ``mistral_server`` fixture fails the test on spec violations
            (set False in a test that sends invalid requests on purpose).
        echo_key: Whether a 401 repeats the refused key in its message (as some gateways do).
    """

    def __init__(
        self,
        *,
        responder: Callable[[dict[str, Any]], str | Answer] = consistency_responder,
        classifier_responder: Callable[
            [str, list[dict[str, Any]]], dict[str, dict[str, float]]
        ] = classifier_responder,
        latency_s: float = 0.0,
        validate: bool = True,
        api_key: str | None = None,
        spec: OpenAPISpec | None = None,
        chaos: Chaos | None = None,
    ) -> None:
        self.chaos = chaos
        self.echo_key = False
        self.chaos_counts: dict[str, int] = {"429": 0, "503": 0, "timeout": 0, "garbage": 0}
        self._in_flight = 0
        self._seen: set[str] = set()
        self._bucket: tuple[float, float] | None = None  # (tokens left, when) for Chaos.tpm
        self.tokens_admitted = 0
        self.responder = responder
        self.classifier_responder = classifier_responder
        self.latency_s = latency_s
        self.api_key = api_key
        self.spec = (spec or mistral_spec()) if validate else None
        self.check_spec = True  # read by the pytest fixture: fail the test on spec violations
        self.requests: list[RecordedRequest] = []
        self.response_errors: list[str] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.batch_jobs: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self._queues: list[tuple[str, deque[Outcome]]] = []
        self._next_job_failure: tuple[str, str] | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _chaos_outcome(self, raw: bytes) -> tuple[Outcome | None, bool]:
        """What :attr:`chaos` does to one inference call: (outcome, admitted)."""
        chaos = self.chaos
        assert chaos is not None
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            if chaos.max_in_flight is not None and self._in_flight >= chaos.max_in_flight:
                self.chaos_counts["429"] += 1
                return rate_limited(chaos.retry_after), False
            tokens = _prompt_tokens(raw) if chaos.tpm is not None else 0
            if chaos.tpm is not None and not self._take_tokens(chaos, tokens):
                self.chaos_counts["429"] += 1
                self.chaos_counts["429_tokens"] = self.chaos_counts.get("429_tokens", 0) + 1
                return rate_limited(chaos.retry_after), False
            self._in_flight += 1
            first = digest not in self._seen
            self._seen.add(digest)
        # the row's place in [0, 1): garbage first, then errors, then timeouts
        where = int(digest[:12], 16) / 16**12
        bands = (
            ("garbage", chaos.garbage_rate, True),
            ("503", chaos.error_rate, first),
            ("timeout", chaos.timeout_rate, first),
        )
        low = 0.0
        for kind, rate, applies in bands:
            if low <= where < low + rate and applies:
                with self._lock:
                    self.chaos_counts[kind] += 1
                if kind == "garbage":
                    return GARBAGE_ANSWER, True
                if kind == "503":
                    return server_error(503), True
                return slow(chaos.timeout_s), True
            low += rate
        return None, True

    def _take_tokens(self, chaos: Chaos, tokens: int) -> bool:
        """Spend ``tokens`` from the token bucket if they fit (call with the lock held)."""
        rate = (chaos.tpm or 0.0) / 60.0
        capacity = rate * chaos.tpm_burst_s
        now = time.monotonic()
        level, stamp = self._bucket if self._bucket is not None else (capacity, now)
        level = min(capacity, level + (now - stamp) * rate)
        if tokens > level:
            self._bucket = (level, now)
            return False
        self._bucket = (level - tokens, now)
        self.tokens_admitted += tokens
        return True

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> MistralFakeServer:
        """Start serving on 127.0.0.1 (a random free port by default)."""
        handler = type("Handler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler, bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.request_queue_size = 256  # many clients connect at once; the default backlog is 5
        httpd.allow_reuse_address = True
        httpd.server_bind()
        httpd.server_activate()
        httpd.handle_error = _quiet_handle_error  # type: ignore[method-assign]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; sleeping (slow) handlers wake up and finish at once."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> MistralFakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served on."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running: call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without ``/v1`` (what ``MISTRAL_SERVER_URL`` expects)."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting ---------------------------------------------------------------------------

    def enqueue(self, *outcomes: Outcome, path: str = "/v1/chat/completions") -> None:
        """Script the next answers to requests whose path starts with ``path``, in order.

        Args:
            *outcomes: One per request; afterwards the default behaviour resumes.
            path: A path prefix (``/v1/chat/completions``, ``/v1/files``, ...).
        """
        with self._lock:
            for prefix, queue in self._queues:
                if prefix == path:
                    queue.extend(outcomes)
                    return
            self._queues.append((path, deque(outcomes)))

    def fail_next_job(self, status: str = "FAILED", message: str = "training diverged") -> None:
        """Make the next created fine-tuning job end in ``FAILED`` or ``FAILED_VALIDATION``."""
        if status not in ("FAILED", "FAILED_VALIDATION"):
            raise ValueError("status must be 'FAILED' or 'FAILED_VALIDATION'")
        self._next_job_failure = (status, message)

    def register_model(
        self,
        model_id: str,
        *,
        job_type: str = "completion",
        root: str = "open-mistral-7b",
        classifier_targets: list[dict[str, Any]] | None = None,
    ) -> str:
        """Make a fine-tuned model exist without running a job (returns its id)."""
        if job_type == "classifier" and not classifier_targets:
            classifier_targets = [{"name": "consistency", "labels": ["consistent", "inconsistent"]}]
        with self._lock:
            self.models[model_id] = {
                "job_type": job_type,
                "root": root,
                "job": str(uuid.uuid4()),
                "classifier_targets": classifier_targets or [],
                "created": _now(),
            }
        return model_id

    # -- introspection -----------------------------------------------------------------------

    @property
    def validation_errors(self) -> list[str]:
        """Spec violations of every request received so far."""
        return [err for r in self.requests for err in r.errors]

    def requests_to(self, path: str, method: str = "POST") -> list[RecordedRequest]:
        """Requests whose path starts with ``path`` and whose method is ``method``."""
        return [r for r in self.requests if r.path.startswith(path) and r.method == method]

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat completion requests received."""
        return self.requests_to("/v1/chat/completions")

    def _next_outcome(self, path: str) -> Outcome | None:
        with self._lock:
            for prefix, queue in self._queues:
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # -- endpoint logic (called by the handler; return (status, json) or raise _StopError) ------

    def chat_completion(self, body: dict[str, Any]) -> tuple[int, Any]:
        """Answer ``POST /v1/chat/completions`` by the default behaviour."""
        model = str(body.get("model", ""))
        error = self._check_model(model, "completion")
        if error is not None:
            return error
        answer = self.responder(body)
        return 200, self.completion_json(body, answer)

    def completion_json(self, body: dict[str, Any], answer: str | Answer) -> dict[str, Any]:
        """Build a ``ChatCompletionResponse`` for ``answer`` to the request ``body``."""
        if isinstance(answer, str):
            answer = Answer(answer)
        prompt_chars = sum(len(_content_text(m.get("content"))) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": max(1, prompt_chars // 4),
            "completion_tokens": max(1, len(answer.text) // 4),
        }
        usage.update(answer.usage or {})
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.text, "tool_calls": None},
            "finish_reason": answer.finish_reason,
        }
        if answer.logprobs is not None:
            choice["logprobs"] = {
                "content": [
                    {
                        **_token(tok, lp, i),
                        "top_logprobs": [
                            _token(alt, alp, 1000 + j) for j, (alt, alp) in enumerate(top.items())
                        ],
                    }
                    for i, (tok, lp, top) in enumerate(answer.logprobs)
                ]
            }
        return {
            "id": "cmpl-" + uuid.uuid4().hex,
            "object": "chat.completion",
            "model": body.get("model", ""),
            "created": _now(),
            "usage": usage,
            "choices": [choice],
        }

    def classification(self, body: dict[str, Any], *, chat: bool = False) -> tuple[int, Any]:
        """Answer ``POST /v1/classifications`` (or the chat variant)."""
        model = str(body.get("model", ""))
        error = self._check_model(model, "classifier")
        if error is not None:
            return error
        targets = self.models[model]["classifier_targets"]
        raw = body.get("input", body.get("inputs"))
        if chat:
            chats = raw if isinstance(raw, list) else [raw]
            texts = [
                "\n".join(_content_text(m.get("content")) for m in c.get("messages", []))
                for c in chats
            ]
        else:
            texts = raw if isinstance(raw, list) else [raw]
        results = [
            {
                name: {"scores": scores}
                for name, scores in self.classifier_responder(t, targets).items()
            }
            for t in texts
        ]
        return 200, {"id": "cls-" + uuid.uuid4().hex, "model": model, "results": results}

    def _check_model(self, model: str, kind: str) -> tuple[int, Any] | None:
        with self._lock:
            known = self.models.get(model)
        if kind == "completion" and not model.startswith("ft:") and known is None:
            return None  # base models: accept any name, as gateways do
        if known is None or known["job_type"] != kind:
            what = "a classifier" if kind == "classifier" else "a chat"
            return 400, {
                "object": "error",
                "message": f"Invalid model: {model} is not {what} model available to you",
                "type": "invalid_model",
                "param": None,
                "code": "1500",
            }
        return None

    # models ----------------------------------------------------------------------------------

    def _base_card(self, model: str) -> dict[str, Any]:
        return {
            "id": model,
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "mistralai",
            "capabilities": {"completion_chat": True, "fine_tuning": True},
            "name": model,
            "description": f"fake {model}",
            "max_context_length": BASE_MODELS[model],
            "aliases": [],
            "deprecation": None,
            "type": "base",
        }

    def _ft_card(self, model: str) -> dict[str, Any]:
        info = self.models[model]
        classifier = info["job_type"] == "classifier"
        return {
            "id": model,
            "object": "model",
            "created": info["created"],
            "owned_by": "fake-org",
            "capabilities": {"completion_chat": not classifier, "classification": classifier},
            "name": None,
            "description": None,
            "max_context_length": BASE_MODELS.get(info["root"], 32_768),
            "aliases": [],
            "deprecation": None,
            "type": "fine-tuned",
            "job": info["job"],
            "root": info["root"],
            "archived": False,
        }

    def list_models(self) -> tuple[int, Any]:
        """``GET /v1/models``."""
        with self._lock:
            cards = [self._base_card(m) for m in BASE_MODELS]
            cards += [self._ft_card(m) for m in self.models]
        return 200, {"object": "list", "data": cards}

    def get_model(self, model: str) -> tuple[int, Any]:
        """``GET /v1/models/{id}``."""
        with self._lock:
            if model in self.models:
                return 200, self._ft_card(model)
        if model in BASE_MODELS:
            return 200, self._base_card(model)
        return 404, {"object": "error", "message": f"Model {model} not found", "type": "not_found"}

    # files -----------------------------------------------------------------------------------

    def _file_json(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "content"}

    def add_file(
        self,
        content: bytes,
        *,
        filename: str,
        purpose: str,
        sample_type: str = "instruct",
        source: str = "upload",
    ) -> dict[str, Any]:
        """Store a file as if uploaded (or generated) and return its ``UploadFileOut`` JSON."""
        record = {
            "id": str(uuid.uuid4()),
            "object": "file",
            "bytes": len(content),
            "created_at": _now(),
            "filename": filename,
            "purpose": purpose,
            "sample_type": sample_type,
            "source": source,
            "num_lines": content.count(b"\n")
            + (0 if content.endswith(b"\n") or not content else 1),
            "mimetype": "application/jsonl",
            "signature": _hex(16),
            "content": content,
        }
        with self._lock:
            self.files[str(record["id"])] = record
        return self._file_json(record)

    def upload_file(self, form: dict[str, Any]) -> tuple[int, Any]:
        """``POST /v1/files``."""
        upload = form.get("file")
        if not isinstance(upload, _Upload):
            return 422, _detail("body", "file", "Field required")
        purpose = str(form.get("purpose", "fine-tune"))
        sample_type = "batch_request" if purpose == "batch" else "instruct"
        return 200, self.add_file(
            upload.content, filename=upload.filename, purpose=purpose, sample_type=sample_type
        )

    def get_file(self, file_id: str, *, content: bool = False) -> tuple[int, Any]:
        """``GET /v1/files/{id}`` (or its ``/content``)."""
        with self._lock:
            record = self.files.get(file_id)
        if record is None:
            return 404, {"object": "error", "message": f"File {file_id} not found"}
        if content:
            return 200, _Bytes(record["content"])
        return 200, {**self._file_json(record), "deleted": False}

    def list_files(self) -> tuple[int, Any]:
        """``GET /v1/files``."""
        with self._lock:
            data = [self._file_json(r) for r in self.files.values()]
        return 200, {"data": data, "object": "list", "total": len(data)}

    def delete_file(self, file_id: str) -> tuple[int, Any]:
        """``DELETE /v1/files/{id}``."""
        with self._lock:
            if self.files.pop(file_id, None) is None:
                return 404, {"object": "error", "message": f"File {file_id} not found"}
        return 200, {"id": file_id, "object": "file", "deleted": True}

    # fine-tuning -----------------------------------------------------------------------------

    def _training_text(self, body: dict[str, Any]) -> tuple[bytes, str | None]:
        blobs: list[bytes] = []
        for item in body.get("training_files", []):
            file_id = item.get("file_id") if isinstance(item, dict) else item
            with self._lock:
                record = self.files.get(str(file_id))
            if record is None:
                return b"", str(file_id)
            blobs.append(record["content"])
        for file_id in body.get("validation_files") or []:
            if str(file_id) not in self.files:
                return b"", str(file_id)
        return b"".join(blobs), None

    def _estimate(self, body: dict[str, Any], data: bytes) -> dict[str, Any]:
        params = body.get("hyperparameters") or {}
        data_tokens = max(1, math.ceil(len(data) / 4))
        steps = params.get("training_steps")
        if steps is None and params.get("epochs"):
            steps = math.ceil(float(params["epochs"]) * data_tokens / TOKENS_PER_STEP)
        steps = int(steps or 10)
        train_tokens = steps * TOKENS_PER_STEP
        price = PRICE_PER_M_TOKENS.get(str(body.get("model")), 2.0)
        return {
            "expected_duration_seconds": 12 * steps,
            "cost": round(train_tokens / 1e6 * price, 4),
            "cost_currency": "EUR",
            "train_tokens_per_step": TOKENS_PER_STEP,
            "train_tokens": train_tokens,
            "data_tokens": data_tokens,
            "estimated_start_time": None,
            "epochs": round(train_tokens / data_tokens, 4),
            "training_steps": steps,
        }

    def create_job(self, body: dict[str, Any], *, dry_run: bool) -> tuple[int, Any]:
        """``POST /v1/fine_tuning/jobs`` (``dry_run`` returns the estimate only)."""
        data, missing = self._training_text(body)
        if missing is not None:
            return 404, {"object": "error", "message": f"File {missing} not found"}
        if not body.get("training_files"):
            return 422, _detail("body", "training_files", "at least one training file is needed")
        job_type = body.get("job_type") or "completion"
        if job_type == "classifier" and not body.get("classifier_targets"):
            return 422, _detail("body", "classifier_targets", "classifier jobs need targets")
        estimate = self._estimate(body, data)
        if dry_run:
            return 200, {**estimate, "details": "", "object": "job.metadata"}
        params = dict(body.get("hyperparameters") or {})
        params.setdefault("learning_rate", 0.0001)
        params["training_steps"] = estimate["training_steps"]
        if job_type == "completion":
            params.setdefault("fim_ratio", 0.9)
        now = _now()
        job: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "auto_start": bool(body.get("auto_start", True)),
            "model": body["model"],
            "status": "QUEUED",
            "created_at": now,
            "modified_at": now,
            "training_files": [
                t["file_id"] if isinstance(t, dict) else t for t in body["training_files"]
            ],
            "validation_files": list(body.get("validation_files") or []),
            "object": "job",
            "fine_tuned_model": None,
            "suffix": body.get("suffix"),
            "integrations": [
                {
                    "type": "wandb",
                    "project": i.get("project"),
                    "name": i.get("name"),
                    "run_name": i.get("run_name"),
                    "url": None,
                }
                for i in (body.get("integrations") or [])
            ]
            or None,
            "trained_tokens": None,
            "metadata": {k: estimate[k] for k in _JOB_METADATA_KEYS},
            "job_type": job_type,
            "hyperparameters": params,
            "events": [{"name": "status-updated", "data": {"status": "QUEUED"}, "created_at": now}],
            "checkpoints": [],
            "_failure": self._next_job_failure,
        }
        self._next_job_failure = None
        if job_type == "classifier":
            job["classifier_targets"] = [
                {
                    "name": t["name"],
                    "labels": list(t["labels"]),
                    "weight": float(t.get("weight", 1.0)),
                    "loss_function": t.get("loss_function") or "single_class",
                }
                for t in body["classifier_targets"]
            ]
        else:
            job["repositories"] = []
        with self._lock:
            self.jobs[job["id"]] = job
        return 200, _public_job(job, detailed=False)

    def _set_status(self, job: dict[str, Any], status: str, **data: Any) -> None:
        job["status"] = status
        job["modified_at"] = _now()
        job["events"].append(
            {"name": "status-updated", "data": {"status": status, **data}, "created_at": _now()}
        )

    def _advance_job(self, job: dict[str, Any]) -> None:
        status = job["status"]
        if status in TERMINAL_FT:
            return
        if status == "CANCELLATION_REQUESTED":
            self._set_status(job, "CANCELLED")
            return
        failure = job.get("_failure")
        if status == "STARTED":
            nxt = "RUNNING"
        elif status == "VALIDATED" and not job["auto_start"]:
            return  # waits for POST .../start
        else:
            nxt = FT_STATUS_STEPS[FT_STATUS_STEPS.index(status) + 1]
        if failure and failure[0] == "FAILED_VALIDATION" and nxt == "VALIDATED":
            self._set_status(job, "FAILED_VALIDATION", error=failure[1])
            return
        if failure and failure[0] == "FAILED" and nxt == "SUCCESS":
            self._set_status(job, "FAILED", error=failure[1])
            return
        if nxt == "SUCCESS":
            self._finish_job(job)
        self._set_status(job, nxt)

    def _finish_job(self, job: dict[str, Any]) -> None:
        name = job.get("suffix") or _hex(8)
        day = datetime.now(UTC).strftime("%Y%m%d")
        model_id = f"ft:{job['model']}:{name}:{day}:{_hex(8)}"
        job["fine_tuned_model"] = model_id
        job["trained_tokens"] = job["metadata"]["train_tokens"]
        job["checkpoints"] = [
            {
                "metrics": {
                    "train_loss": 0.21,
                    "valid_loss": 0.25,
                    "valid_mean_token_accuracy": 0.9,
                },
                "step_number": job["hyperparameters"]["training_steps"],
                "created_at": _now(),
            }
        ]
        self.models[model_id] = {
            "job_type": job["job_type"],
            "root": job["model"],
            "job": job["id"],
            "classifier_targets": job.get("classifier_targets", []),
            "created": _now(),
        }

    def get_job(self, job_id: str, action: str | None = None) -> tuple[int, Any]:
        """``GET /v1/fine_tuning/jobs/{id}`` (advances it), or ``POST .../start|cancel``."""
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                return 404, {"object": "error", "message": f"Job {job_id} not found"}
            if action is None:
                self._advance_job(job)
            elif action == "start":
                if job["status"] != "VALIDATED":
                    return 400, {
                        "object": "error",
                        "message": f"Job {job_id} is {job['status']}; only VALIDATED jobs start",
                    }
                self._set_status(job, "STARTED")
            elif action == "cancel" and job["status"] not in TERMINAL_FT:
                self._set_status(job, "CANCELLATION_REQUESTED")
            return 200, _public_job(job, detailed=True)

    def list_jobs(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET /v1/fine_tuning/jobs`` (filters: ``model``, ``status``)."""
        with self._lock:
            jobs = list(self.jobs.values())
        if "model" in query:
            jobs = [j for j in jobs if j["model"] == query["model"][0]]
        if "status" in query:
            jobs = [j for j in jobs if j["status"] == query["status"][0]]
        data = [_public_job(j, detailed=False) for j in jobs]
        return 200, {"data": data, "object": "list", "total": len(data)}

    # batch -----------------------------------------------------------------------------------

    def create_batch(self, body: dict[str, Any]) -> tuple[int, Any]:
        """``POST /v1/batch/jobs``."""
        lines: list[dict[str, Any]] = []
        for file_id in body.get("input_files") or []:
            with self._lock:
                record = self.files.get(str(file_id))
            if record is None:
                return 404, {"object": "error", "message": f"File {file_id} not found"}
            for raw in record["content"].decode("utf-8").splitlines():
                if raw.strip():
                    lines.append(json.loads(raw))
        lines += list(body.get("requests") or [])
        if not lines:
            return 422, _detail("body", "input_files", "give input_files or requests")
        job: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "object": "batch",
            "input_files": list(body.get("input_files") or []),
            "metadata": body.get("metadata"),
            "endpoint": body["endpoint"],
            "model": body.get("model"),
            "agent_id": None,
            "output_file": None,
            "error_file": None,
            "errors": [],
            "outputs": None,
            "status": "QUEUED",
            "created_at": _now(),
            "total_requests": len(lines),
            "completed_requests": 0,
            "succeeded_requests": 0,
            "failed_requests": 0,
            "started_at": None,
            "completed_at": None,
            "_lines": lines,
            "_results": [],
        }
        with self._lock:
            self.batch_jobs[job["id"]] = job
        return 200, _public(job)

    def _run_batch_line(self, job: dict[str, Any], index: int, line: dict[str, Any]) -> Any:
        body = dict(line.get("body") or {})
        body.setdefault("model", job.get("model"))
        custom_id = line.get("custom_id") or str(index)
        if job["endpoint"] == "/v1/classifications":
            status, answer = self.classification(body)
        elif job["endpoint"] == "/v1/chat/completions":
            status, answer = self.chat_completion(body)
        else:
            status, answer = 400, {"message": f"the fake does not serve {job['endpoint']}"}
        out: dict[str, Any] = {"id": f"batch-{job['id'][:8]}-{index}", "custom_id": custom_id}
        if status == 200:
            out.update(response={"status_code": 200, "body": answer}, error=None)
        else:
            out.update(response=None, error={"message": answer.get("message"), "code": status})
        return out

    def get_batch(
        self, job_id: str, *, inline: bool = False, cancel: bool = False
    ) -> tuple[int, Any]:
        """``GET /v1/batch/jobs/{id}`` (advances it) or ``POST .../cancel``."""
        with self._lock:
            job = self.batch_jobs.get(job_id)
            if job is None:
                return 404, {"object": "error", "message": f"Batch job {job_id} not found"}
            status = job["status"]
            if cancel:
                if status not in TERMINAL_BATCH:
                    job["status"] = "CANCELLATION_REQUESTED"
            elif status == "CANCELLATION_REQUESTED":
                job["status"] = "CANCELLED"
                job["completed_at"] = _now()
            elif status == "QUEUED":
                job["status"] = "RUNNING"
                job["started_at"] = _now()
            elif status == "RUNNING":
                self._finish_batch(job)
            public = _public(job)
            if inline and job["status"] == "SUCCESS":
                public["outputs"] = job["_results"]
            return 200, public

    def _finish_batch(self, job: dict[str, Any]) -> None:
        results = [self._run_batch_line(job, i, line) for i, line in enumerate(job["_lines"])]
        good = [r for r in results if r["error"] is None]
        bad = [r for r in results if r["error"] is not None]
        job["_results"] = results
        job["output_file"] = self.add_file(
            "".join(json.dumps(r) + "\n" for r in good).encode(),
            filename=f"{job['id']}.jsonl",
            purpose="batch",
            sample_type="batch_result",
            source="mistral",
        )["id"]
        if bad:
            job["error_file"] = self.add_file(
                "".join(json.dumps(r) + "\n" for r in bad).encode(),
                filename=f"{job['id']}_error.jsonl",
                purpose="batch",
                sample_type="batch_error",
                source="mistral",
            )["id"]
        job.update(
            status="SUCCESS",
            completed_requests=len(results),
            succeeded_requests=len(good),
            failed_requests=len(bad),
            completed_at=_now(),
        )

    def list_batches(self) -> tuple[int, Any]:
        """``GET /v1/batch/jobs``."""
        with self._lock:
            data = [_public(j) for j in self.batch_jobs.values()]
        return 200, {"data": data, "object": "list", "total": len(data)}


_JOB_METADATA_KEYS = (
    "expected_duration_seconds",
    "cost",
    "cost_currency",
    "train_tokens_per_step",
    "train_tokens",
    "data_tokens",
    "estimated_start_time",
)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _public_job(job: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
    out = _public(job)
    if not detailed:
        for key in ("events", "checkpoints", "classifier_targets"):
            out.pop(key, None)
    return out


def _detail(where: str, name: str, message: str) -> dict[str, Any]:
    return {"detail": [{"loc": [where, name], "msg": message, "type": "value_error"}]}


def _token(text: str, logprob: float, token_id: int) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "token_id": token_id}


@dataclass
class _Upload:
    filename: str
    content: bytes


@dataclass
class _Bytes:
    data: bytes


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            form[str(name)] = _Upload(filename, bytes(payload))
        else:
            form[str(name)] = bytes(payload).decode("utf-8")
    return form


def _quiet_handle_error(request: Any, client_address: Any) -> None:
    # Clients that time out close their socket while a slow handler sleeps: not an error here.
    exc = sys.exc_info()[1]
    if isinstance(exc, ConnectionError | TimeoutError | OSError):
        return
    import traceback

    traceback.print_exc()


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name)
    for m, p, name in [
        ("POST", r"^/v1/chat/completions$", "chat"),
        ("POST", r"^/v1/classifications$", "classify"),
        ("POST", r"^/v1/chat/classifications$", "chat_classify"),
        ("GET", r"^/v1/models$", "list_models"),
        ("GET", r"^/v1/models/(?P<id>[^/]+)$", "get_model"),
        ("POST", r"^/v1/files$", "upload_file"),
        ("GET", r"^/v1/files$", "list_files"),
        ("GET", r"^/v1/files/(?P<id>[^/]+)$", "get_file"),
        ("DELETE", r"^/v1/files/(?P<id>[^/]+)$", "delete_file"),
        ("GET", r"^/v1/files/(?P<id>[^/]+)/content$", "file_content"),
        ("POST", r"^/v1/fine_tuning/jobs$", "create_job"),
        ("GET", r"^/v1/fine_tuning/jobs$", "list_jobs"),
        ("GET", r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)$", "get_job"),
        ("POST", r"^/v1/fine_tuning/jobs/(?P<id>[^/]+)/(?P<action>start|cancel)$", "job_action"),
        ("POST", r"^/v1/batch/jobs$", "create_batch"),
        ("GET", r"^/v1/batch/jobs$", "list_batches"),
        ("GET", r"^/v1/batch/jobs/(?P<id>[^/]+)$", "get_batch"),
        ("POST", r"^/v1/batch/jobs/(?P<id>[^/]+)/cancel$", "cancel_batch"),
    ]
]
_INFERENCE = {"chat", "classify", "chat_classify"}


class _Handler(BaseHTTPRequestHandler):
    fake: MistralFakeServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API and the SDK's pool expect
    # Headers and body go out in two send() calls: with Nagle on, each keep-alive answer would
    # wait ~40 ms for the client's delayed ACK, and benchmarks would measure the fake.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        started = time.monotonic()
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = headers.get("content-type", "")
        body: Any = None
        record = RecordedRequest(
            method, path, query, headers, None, started=started, client_port=self.client_address[1]
        )
        try:
            if raw and content_type.startswith("multipart/form-data"):
                body = _parse_multipart(content_type, raw)
            elif raw:
                body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            record.errors.append(f"{method} {path}: body is not valid JSON: {exc}")
        record.body = body
        if path == "/_fake/stats":  # for benchmarks that run the fake in another process
            with fake._lock:
                stats = {"requests": len(fake.requests), **fake.chaos_counts}
            self._send_json(200, stats)
            return
        with fake._lock:
            fake.requests.append(record)
        if fake.spec is not None:
            checked = (
                {k: "<binary>" if isinstance(v, _Upload) else v for k, v in body.items()}
                if isinstance(body, dict) and content_type.startswith("multipart/")
                else body
            )
            record.errors += fake.spec.validate_request(
                method, path, checked, content_type=content_type or "application/json", query=query
            )
        if fake.api_key is not None and headers.get("authorization") != f"Bearer {fake.api_key}":
            record.outcome = "Fail(401)"
            message = "Unauthorized"
            if fake.echo_key:  # as some gateways do: the refused key, back in the body
                message += f": key {headers.get('authorization', '').removeprefix('Bearer ')}"
            self._send_json(401, {"message": message, "request_id": _hex(16)})
            return
        route = next(
            ((name, m) for meth, rx, name in _ROUTES if meth == method and (m := rx.match(path))),
            None,
        )
        if route is None:
            record.outcome = "Fail(404)"
            self._send_json(404, {"detail": "Not Found"})
            return
        name, match = route
        admitted = False
        try:
            outcome = fake._next_outcome(path)
            if outcome is None and name in _INFERENCE and fake.chaos is not None:
                outcome, admitted = fake._chaos_outcome(raw)
            if outcome is None and name in _INFERENCE and fake.latency_s:
                fake._sleep(fake.latency_s)
            while isinstance(outcome, Slow):
                record.outcome = f"Slow({outcome.seconds:g})"
                fake._sleep(outcome.seconds)
                outcome = outcome.then
            if outcome is not None:
                record.outcome = type(outcome).__name__
                self._play(outcome, method, path, body)
                return
            status, answer = self._dispatch(name, match.groupdict(), body, query)
            self._send_json(status, answer, method=method, path=path)
        except _StopError:
            return
        finally:
            if admitted:
                with fake._lock:
                    fake._in_flight -= 1

    def _dispatch(
        self, name: str, params: dict[str, str], body: Any, query: dict[str, list[str]]
    ) -> tuple[int, Any]:
        fake = self.fake
        data = body if isinstance(body, dict) else {}
        flag = query.get("dry_run", ["false"])[0] == "true"
        if name == "chat":
            return fake.chat_completion(data)
        if name == "classify":
            return fake.classification(data)
        if name == "chat_classify":
            return fake.classification(data, chat=True)
        if name == "list_models":
            return fake.list_models()
        if name == "get_model":
            return fake.get_model(params["id"])
        if name == "upload_file":
            return fake.upload_file(data)
        if name == "list_files":
            return fake.list_files()
        if name == "get_file":
            return fake.get_file(params["id"])
        if name == "file_content":
            return fake.get_file(params["id"], content=True)
        if name == "delete_file":
            return fake.delete_file(params["id"])
        if name == "create_job":
            return fake.create_job(data, dry_run=flag)
        if name == "list_jobs":
            return fake.list_jobs(query)
        if name == "get_job":
            return fake.get_job(params["id"])
        if name == "job_action":
            return fake.get_job(params["id"], params["action"])
        if name == "create_batch":
            return fake.create_batch(data)
        if name == "list_batches":
            return fake.list_batches()
        if name == "get_batch":
            inline = query.get("inline", ["false"])[0] == "true"
            return fake.get_batch(params["id"], inline=inline)
        if name == "cancel_batch":
            return fake.get_batch(params["id"], cancel=True)
        raise AssertionError(name)  # pragma: no cover

    def _play(self, outcome: Outcome, method: str, path: str, body: Any) -> None:
        if isinstance(outcome, str | Answer):
            data = body if isinstance(body, dict) else {}
            self._send_json(200, self.fake.completion_json(data, outcome), method=method, path=path)
        elif isinstance(outcome, Fail):
            self._send_json(outcome.status, outcome.body or {}, outcome.headers)
        elif isinstance(outcome, RawBody):
            self._send(outcome.status, outcome.body, outcome.content_type, {})
        elif isinstance(outcome, Drop):
            self.close_connection = True
            if outcome.after_bytes is not None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(outcome.after_bytes + 1000))
                self.end_headers()
                self.wfile.write(b'{"id": "cmpl-1", "choices": '[: outcome.after_bytes])
                self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(
        self,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        if isinstance(answer, _Bytes):
            self._send(status, answer.data, "application/octet-stream", headers or {})
            return
        fake = self.fake
        if fake.spec is not None and method is not None and path is not None:
            errors = fake.spec.validate_response(method, path, status, answer)
            if errors:
                with fake._lock:
                    fake.response_errors.extend(errors)
        self._send(status, json.dumps(answer).encode(), "application/json", headers or {})

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError as exc:  # the client gave up (timeout) before the answer
            self.close_connection = True
            raise _StopError from exc


def serve(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted (prints the base URL on the first line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per chat answer")
    parser.add_argument("--validate", action="store_true", help="validate requests (slower)")
    parser.add_argument("--max-in-flight", type=int, default=None, help="429 past this many")
    parser.add_argument("--retry-after", type=float, default=0.05, help="Retry-After of 429s")
    parser.add_argument("--error-rate", type=float, default=0.0, help="503 share of 1st tries")
    args = parser.parse_args(argv)
    chaos = (
        Chaos(args.max_in_flight, retry_after=args.retry_after, error_rate=args.error_rate)
        if args.max_in_flight is not None or args.error_rate
        else None
    )
    server = MistralFakeServer(latency_s=args.latency, validate=args.validate, chaos=chaos)
    server.start(args.port)
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    serve()
