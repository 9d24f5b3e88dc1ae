"""The one error tree of hallujudge.

Every exception the library raises on purpose is a :class:`HallujudgeError`::

    HallujudgeError
    ├── ConfigurationError      misuse: bad model string, missing key, bad option (also ValueError)
    │   ├── CacheError          the verdict cache file is unreadable, corrupted or read-only
    │   ├── MissingExtraError   an optional extra is not installed; names it (also ImportError)
    │   └── InvalidInputError   an argument has the wrong type, such as ``score(None, ...)``
    │                           (also TypeError)
    ├── DataError               a dataset row or file is invalid; names the row (also ValueError)
    ├── BackendError            a model call failed; ``retryable``: may trying again help?
    │   ├── RateLimitError      HTTP 429; ``retry_after`` in seconds when the server said so
    │   ├── BackendTimeoutError the call took longer than its timeout
    │   ├── BackendConnectionError  the server could not be reached
    │   ├── ServerError         HTTP 5xx
    │   ├── AuthenticationError HTTP 401/403: the key is missing, wrong or lacks rights
    │   └── BadRequestError     HTTP 4xx other than the above: the request itself is wrong
    ├── JudgeOutputError        the model answered, but not in a form the prompt strategy reads
    ├── FineTuneError           a fine-tuning job failed or was cancelled; carries the job's message
    └── HallucinationError      raised by ``Guard(on_fail="raise")``; carries the guard result

Backends map their vendor's exceptions into this tree in one place each and chain the original
with ``raise ... from exc``. Messages never contain API keys.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "BadRequestError",
    "CacheError",
    "ConfigurationError",
    "DataError",
    "FineTuneError",
    "HallucinationError",
    "HallujudgeError",
    "InvalidInputError",
    "JudgeOutputError",
    "MissingExtraError",
    "RateLimitError",
    "ServerError",
    "http_error",
    "parse_retry_after",
]


class HallujudgeError(Exception):
    """Root of every error hallujudge raises on purpose."""


class ConfigurationError(HallujudgeError, ValueError):
    """The library was asked to do something it cannot: fix the call or the environment."""


class CacheError(ConfigurationError):
    """The verdict cache cannot be used: corrupted, another program's schema, or not writable.

    Attributes:
        path: The cache file.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class MissingExtraError(ConfigurationError, ImportError):
    """An optional extra is not installed: the message says which one to ``pip install``.

    Attributes:
        extra: The smallest extra that provides what is missing (``"mistral"``, ``"weave"``).
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class InvalidInputError(ConfigurationError, TypeError):
    """An argument has the wrong type (a document that is not a string, for example)."""


class DataError(HallujudgeError, ValueError):
    """A dataset file or row is invalid.

    Attributes:
        row: Index (or id) of the offending row, when known.
    """

    def __init__(self, message: str, *, row: int | str | None = None) -> None:
        super().__init__(message)
        self.row = row


class BackendError(HallujudgeError):
    """A call to a model backend failed.

    Attributes:
        retryable: Whether the same call may succeed if tried again.
        status_code: HTTP status, when the failure was an HTTP answer.
        retry_after: Seconds the server asked us to wait, when it said so.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        retryable: bool | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.status_code = status_code
        self.retry_after = retry_after


class RateLimitError(BackendError):
    """The backend answered HTTP 429: slow down (``retry_after`` says how long, if known)."""

    default_retryable = True


class BackendTimeoutError(BackendError):
    """The backend did not answer within the timeout."""

    default_retryable = True


class BackendConnectionError(BackendError):
    """The backend could not be reached (DNS, refused connection, reset)."""

    default_retryable = True


class ServerError(BackendError):
    """The backend answered with HTTP 5xx."""

    default_retryable = True


class AuthenticationError(BackendError):
    """The backend refused the credentials (HTTP 401/403): check the API key."""


class BadRequestError(BackendError):
    """The backend rejected the request (HTTP 4xx): the model name or a parameter is wrong."""


class JudgeOutputError(HallujudgeError):
    """The model answered, but the prompt strategy could not read a label from it.

    Attributes:
        raw: The model's text, kept so nothing is lost.
    """

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class FineTuneError(HallujudgeError):
    """A fine-tuning job failed, was cancelled, or could not be created.

    Attributes:
        job_id: The job's id, when one exists.
        status: The job's last status, when known.
    """

    def __init__(
        self, message: str, *, job_id: str | None = None, status: str | None = None
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.status = status


class HallucinationError(HallujudgeError):
    """Raised by a ``Guard`` with ``on_fail="raise"`` when an answer is not supported.

    Attributes:
        result: The guard's result (a ``GuardResult``), with the unsupported sentences.
    """

    def __init__(self, message: str, *, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


def http_error(status: int, message: str, *, retry_after: float | None = None) -> BackendError:
    """Map an HTTP status to the matching :class:`BackendError` subclass.

    Args:
        status: The HTTP status code.
        message: What went wrong, without secrets.
        retry_after: Seconds from a ``Retry-After`` header, if any.

    Returns:
        The error to raise (the caller chains it with ``from``).
    """
    text = f"HTTP {status}: {message}"
    if status == 429:
        return RateLimitError(text, status_code=status, retry_after=retry_after)
    if status in (401, 403):
        return AuthenticationError(
            text + " (check the API key: set it in the environment or pass api_key=)",
            status_code=status,
        )
    if status == 408:
        return BackendTimeoutError(text, status_code=status)
    if status >= 500:
        return ServerError(text, status_code=status, retry_after=retry_after)
    return BadRequestError(text, status_code=status)


def parse_retry_after(value: str | None) -> float | None:
    """Read a ``Retry-After`` header given in seconds (HTTP dates are rare for APIs; ignored).

    Args:
        value: The header's value, or None.

    Returns:
        Seconds to wait, or None when absent or unreadable.
    """
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)
