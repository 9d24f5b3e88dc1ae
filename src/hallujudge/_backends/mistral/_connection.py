"""One Mistral connection: credentials, server URL, clients per event loop, errors, retries.

Every Mistral feature (chat and classifier backends, batch jobs, file uploads, fine-tuning jobs)
talks to the server through a :class:`MistralConnection`:

* **credentials** by the one rule of :mod:`._credentials`;
* **clients per event loop**: an async HTTP client is bound to the loop it was first used on, so
  each running loop gets its own SDK client and its own pooled ``httpx2`` client (the SDK's HTTP
  library), created lazily; clients of closed loops are dropped. Each keeps ``max_connections``
  connections open (the SDK's default pool keeps only 20, so with 32+ calls in flight
  connections would be closed and reopened all the time);
* **the one error map** (:func:`._errormap.map_mistral_error`), with the key and any password in
  the URL scrubbed from messages and never shown in ``repr``;
* **the one retry policy** (:class:`hallujudge._retry.RetryPolicy`) for the calls it runs itself
  (batch submission and polling, uploads, fine-tuning jobs); live judgments are retried by the
  Judge with the same policy class;
* **rate state shared per server and key**: the adaptive in-flight limit (``call_limit``) and
  the optional tokens-per-minute budget, learnt from and spent by every Judge, Evaluator and
  Guard on that key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2
from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors
from pydantic import ValidationError

from ..._errors import BackendError, ConfigurationError, RateLimitError, ServerError
from ..._ratelimit import AdaptiveLimit, TokenBudget
from ..._retry import RetryPolicy
from ..._tracing import scrub
from ._credentials import DEFAULT_SERVER, mistral_credentials, url_password, without_userinfo
from ._errormap import map_mistral_error

__all__ = ["LoopClient", "MistralConnection"]

logger = logging.getLogger("hallujudge")

T = TypeVar("T")

_USER_AGENT = f"mistral-client-python/{importlib.metadata.version('mistralai')} hallujudge"


@dataclass(frozen=True, slots=True)
class LoopClient:
    """The SDK client and its HTTP client, both bound to one event loop."""

    sdk: Mistral
    http: httpx2.AsyncClient


class MistralConnection:
    """A server and a key, with the clients, error map and rate state that go with them.

    Args:
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``, else Mistral's).
        max_connections: Connections kept open per event loop.
        service_account: Whether ``MISTRAL_SA_TOKEN_PATH`` counts as a credential (only the
            SDK's own methods read it).
        tpm: Tokens per minute this key may spend (None: no budget; see
            :class:`hallujudge._ratelimit.TokenBudget`).

    Raises:
        ConfigurationError: Without a key for Mistral's own API, or with a bad option.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        max_connections: int = 64,
        service_account: bool = False,
        tpm: float | None = None,
    ) -> None:
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        self._url, self._api_key = mistral_credentials(
            api_key, server_url, service_account=service_account
        )
        self.server_url = without_userinfo(self._url) if self._url else None
        self.max_connections = max_connections
        self.call_limit = _shared_limit(self._url, self._api_key, max_connections, tpm)
        self._secrets = [s for s in (self._api_key, url_password(self._url)) if s]
        # A plain dict, pruned of closed loops: a weak-key dict would never drop an entry, since
        # each client's connection pool refers back to its loop.
        self._clients: dict[asyncio.AbstractEventLoop, LoopClient] = {}
        self._lock = threading.Lock()

    @property
    def api_key(self) -> str | None:
        """The key (kept out of ``repr``; None: a keyless server)."""
        return self._api_key

    @property
    def identity(self) -> str:
        """The server URL as cache keys and lineage record it (no credentials)."""
        return self.server_url or DEFAULT_SERVER

    # -- clients ----------------------------------------------------------------------------

    def client(self) -> LoopClient:
        """The clients of the running loop (created on first use in that loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            with self._lock:
                for old in [old for old in self._clients if old.is_closed()]:
                    del self._clients[old]  # its sockets went with the loop (asyncio.run)
                client = self._clients.get(loop)
                if client is None:
                    client = self._clients[loop] = self._new_client()
        return client

    def sdk(self) -> Mistral:
        """The SDK client of the running loop."""
        return self.client().sdk

    def _new_client(self) -> LoopClient:
        size = self.max_connections
        limits = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
        http = httpx2.AsyncClient(limits=limits, follow_redirects=True, timeout=None)
        sdk = Mistral(
            api_key=self._api_key, server_url=self._url, async_client=http, retry_config=None
        )
        return LoopClient(sdk=sdk, http=http)

    # -- errors -----------------------------------------------------------------------------

    def error(self, exc: BaseException, what: str = "") -> BackendError | None:
        """The hallujudge error for a vendor exception, secrets scrubbed (None: not a vendor's)."""
        return map_mistral_error(exc, secrets=self._secrets, what=what)

    @contextlib.contextmanager
    def mapping_errors(self, what: str = "") -> Iterator[None]:
        """Re-raise vendor exceptions of the block as hallujudge errors (chained with ``from``)."""
        try:
            yield
        except Exception as exc:
            error = self.error(exc, what)
            if error is None:
                raise
            raise error from exc

    # -- requests ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        timeout_s: float,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx2.Response:
        """One request on the loop's pooled client; HTTP errors raised as the SDK's type."""
        response = await self.client().http.request(
            method,
            (self._url or DEFAULT_SERVER) + path,
            content=None if body is None else json.dumps(body).encode(),
            params=dict(params) if params else None,
            headers=self._headers(),
            timeout=timeout_s,
        )
        if response.status_code >= 400:
            raise mistral_errors.SDKError("API error occurred", response, response.text)
        return response

    async def post(self, path: str, body: Mapping[str, Any], timeout_s: float, into: Any) -> Any:
        """POST the JSON body the SDK would send and parse the answer with the SDK's model.

        Raises:
            BackendError: Any failure, through the one error map.
        """
        with self.mapping_errors():
            response = await self._send("POST", path, timeout_s=timeout_s, body=body)
            try:
                return into.model_validate_json(response.content)
            except ValidationError as cause:
                raise mistral_errors.ResponseValidationError(
                    "Response validation failed", response, cause, response.text
                ) from cause

    async def rest(
        self,
        method: str,
        path: str,
        *,
        timeout_s: float,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """One JSON REST call the SDK has no method for (fine-tuning jobs), decoded.

        Raises:
            BackendError: Any failure, through the one error map (messages name the call).
        """
        what = f"{method} {path}"
        logger.debug("Mistral %s params=%s body=%s", what, params, scrub(body, self._secrets))
        with self.mapping_errors(what):
            response = await self._send(method, path, timeout_s=timeout_s, body=body, params=params)
        try:
            return response.json()
        except ValueError as exc:
            raise ServerError(f"{what}: the answer is not JSON", status_code=200) from exc

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        policy: RetryPolicy,
        *,
        what: str,
        only_rate_limits: bool = False,
    ) -> T:
        """Run ``fn`` under the retry policy, vendor errors mapped on every attempt.

        Args:
            fn: One attempt (SDK calls may raise the SDK's exceptions).
            policy: The retry policy.
            what: The call, named in retry logs.
            only_rate_limits: Retry only HTTP 429 (for calls that must not run twice, such as
                creating a job: the server refuses a 429 before doing anything).

        Returns:
            What ``fn`` returned.
        """

        def retryable(exc: BaseException) -> bool:
            if only_rate_limits:
                return isinstance(exc, RateLimitError)
            return isinstance(exc, BackendError) and exc.retryable

        def log_retry(state: Any) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info(
                "retrying Mistral %s after %s (attempt %d)", what, exc, state.attempt_number
            )

        async for attempt in policy.retrying(retryable, before_sleep=log_retry):
            with attempt, self.mapping_errors():
                return await fn()
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # -- lifecycle --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections of the running loop's client; forget the other loops'."""
        with self._lock:
            clients = dict(self._clients)
            self._clients.clear()
        loop = asyncio.get_running_loop()
        for owner, client in clients.items():
            if owner is loop:
                await client.http.aclose()

    def __repr__(self) -> str:
        return f"MistralConnection(server_url={self.identity!r})"


_LIMITS: OrderedDict[tuple[str, str], AdaptiveLimit] = OrderedDict()
_LIMITS_LOCK = threading.Lock()
_MAX_LIMITS = 256
"""Servers-and-keys whose learned limit is kept for later connections (least recently used
beyond this are forgotten; a live connection keeps its own): an app that serves many keys does
not grow without bound."""


def _shared_limit(
    url: str | None, key: str | None, max_connections: int, tpm: float | None
) -> AdaptiveLimit:
    """The rate state of one server and key, shared by all its connections.

    A server's rate limit applies per key, so every Judge, Evaluator and Guard on the same key
    learns from the same 429s and spends the same token budget. Keyed by a digest: the key
    itself is not kept here. A ``tpm`` given sets the shared budget (None leaves it as it is).
    """
    digest = hashlib.sha256((key or "").encode()).hexdigest()
    ident = (url or DEFAULT_SERVER, digest)
    with _LIMITS_LOCK:
        limit = _LIMITS.get(ident)
        if limit is None or limit.maximum < max_connections:
            budget = limit.tokens if limit is not None else None
            limit = _LIMITS[ident] = AdaptiveLimit(max_connections, tokens=budget)
        _LIMITS.move_to_end(ident)
        while len(_LIMITS) > _MAX_LIMITS:
            _LIMITS.popitem(last=False)
        if tpm is not None:
            if limit.tokens is None:
                limit.tokens = TokenBudget(tpm)
            else:
                limit.tokens.set_rate(tpm)
        return limit
