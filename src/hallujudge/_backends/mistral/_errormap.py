"""The one map from ``mistralai`` SDK (and its ``httpx2`` transport) exceptions to our tree.

Every Mistral call (chat, classifier, batch, files, fine-tuning jobs) goes through
:func:`map_mistral_error`; callers ``raise ... from exc``. HTTP 429 -> :class:`RateLimitError`
(``retry_after`` from the header), 5xx -> :class:`ServerError`, 401/403 ->
:class:`AuthenticationError`, other 4xx -> :class:`BadRequestError`, timeouts ->
:class:`BackendTimeoutError`, connection failures -> :class:`BackendConnectionError`. An HTTP 200
whose body is not a valid answer (not JSON, cut short, wrong shape) is a retryable
:class:`ServerError` with ``status_code=200``: the server's (or a proxy's) fault, and a new
attempt usually succeeds. Secrets are scrubbed from every message through
:func:`hallujudge._tracing.redact`, and from the SDK exception each is raised from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx2
from mistralai.client import errors as mistral_errors
from pydantic import ValidationError

from ..._errors import (
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ServerError,
    http_error,
    parse_retry_after,
)
from ..._tracing import redact, scrub_exception

__all__ = ["map_mistral_error"]

_MAX_MESSAGE = 500


def _clean(text: str, secrets: Sequence[str]) -> str:
    text = redact(text, secrets)
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "..."


def _body_message(exc: mistral_errors.MistralError) -> str:
    # Mistral's error bodies are JSON with a "message" (or FastAPI's "detail"); keep just that.
    body = (exc.body or "").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return body or exc.message
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            if data.get(key):
                return str(data[key])
    return body


def _transport_error(exc: BaseException) -> BackendError | None:
    if isinstance(exc, mistral_errors.NoResponseError):
        return BackendConnectionError(f"no response from Mistral: {exc}")
    if isinstance(exc, httpx2.TimeoutException):
        return BackendTimeoutError(f"Mistral did not answer in time ({type(exc).__name__}): {exc}")
    if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
        return BackendConnectionError(
            f"bad Mistral server URL ({exc}): check MISTRAL_SERVER_URL", retryable=False
        )
    if isinstance(exc, httpx2.DecodingError):
        return ServerError(f"Mistral sent an undecodable body: {exc}")
    if isinstance(exc, httpx2.TransportError):
        return BackendConnectionError(f"could not reach Mistral ({type(exc).__name__}): {exc}")
    if isinstance(exc, ValidationError):  # the SDK rejected our arguments before sending
        return BadRequestError(f"invalid request for the Mistral SDK: {exc}")
    return None


def _mapped(exc: BaseException) -> BackendError | None:
    if isinstance(exc, mistral_errors.ResponseValidationError) and exc.status_code < 400:
        return ServerError(
            f"HTTP {exc.status_code} with a body that is not a valid Mistral answer (not "
            f"JSON, cut short, or the wrong shape): {exc.body[:200]!r}",
            status_code=exc.status_code,
        )
    if isinstance(exc, mistral_errors.MistralError):
        retry_after = parse_retry_after(exc.headers.get("retry-after"))
        return http_error(exc.status_code, _body_message(exc), retry_after=retry_after)
    return _transport_error(exc)


def map_mistral_error(
    exc: BaseException, *, secret: str | None = None, secrets: Sequence[str] = (), what: str = ""
) -> BackendError | None:
    """Map one exception of the ``mistralai`` SDK (or its ``httpx2`` transport) to our tree.

    Args:
        exc: What the SDK (or a request on its HTTP client) raised.
        secret: The API key, scrubbed from the message.
        secrets: Other values to scrub (a password in the server URL).
        what: A prefix naming the call (``"POST /v1/fine_tuning/jobs"``), or empty.

    Returns:
        The hallujudge error, or None when ``exc`` is not a vendor error (let it propagate).
    """
    error = _mapped(exc)
    if error is not None:
        scrub_exception(exc, [secret, *secrets])  # callers raise from exc: its body may echo keys
        message = f"{what}: {error}" if what else str(error)
        error.args = (_clean(message, [secret or "", *secrets]), *error.args[1:])
    return error
