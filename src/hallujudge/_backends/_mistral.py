"""Mistral backends: chat models (prompted or fine-tuned) and classifier fine-tunes.

Both use the official ``mistralai`` SDK (``pip install 'hallujudge[mistral]'``) and read:

* ``MISTRAL_API_KEY``: the key, unless ``api_key=`` is given. A key is required for the real API;
  it is optional only when the server URL points somewhere custom (a local fake, a keyless
  gateway).
* ``MISTRAL_SERVER_URL``: the base URL without ``/v1`` (proxies, gateways, local fakes), unless
  ``server_url=`` is given. A trailing ``/v1`` is stripped with a log note, because the SDK adds
  it itself.

Decisions (documented here because callers depend on them):

* **Names.** ``name`` is ``mistral:<model>`` for every model, ``ft:`` ids included
  (``mistral:ft:open-mistral-7b:...``), so a Verdict's ``model`` resolves back to the same
  backend; the classifier backend is ``mistral-classifier:<model>``.
* **Prompts.** ``ft:`` ids default to the ``fine-tune`` prompt (the one the training data was
  built with); other models to ``zero-shot``.
* **Context budget.** ``max_input_tokens`` comes from a small table of known context sizes
  (:data:`CONTEXT_TOKENS`; an ``ft:`` id uses its base model's). Unknown models get 32,768, the
  smallest current Mistral chat context: a longer document is then judged in windows (a correct
  answer) rather than overflowing the context (an unscored HTTP 400). Pass
  ``Judge(max_input_tokens=...)`` to override.
* **No SDK retries.** The Judge owns retries, backoff and ``Retry-After``; the SDK gets
  ``retry_config=None``.
* **Errors** are mapped in one place, :func:`map_mistral_error`: HTTP 429 ->
  :class:`RateLimitError` (``retry_after`` from the header), 5xx -> :class:`ServerError`,
  401/403 -> :class:`AuthenticationError`, other 4xx -> :class:`BadRequestError`, timeouts ->
  :class:`BackendTimeoutError`, connection failures -> :class:`BackendConnectionError`. An HTTP
  200 whose body is not a valid answer (not JSON, cut short, wrong shape) is a retryable
  :class:`ServerError` with ``status_code=200``: it is the server's (or a proxy's) fault and a
  new attempt usually succeeds. Messages never contain the API key.
* **Event loops.** An async HTTP client is bound to the loop it was first used on, so each
  running loop gets its own SDK client, created lazily: the sync ``Judge.score`` (one long-lived
  loop per thread) and ``await judge.ascore`` from the caller's own loops can share a backend.
* **Throughput.** The SDK's default pool keeps only 20 idle connections, so with 32+ requests
  in flight connections are closed and reopened all the time; each client here keeps
  ``max_connections`` (default 64) open.
* **Transport.** ``transport="http"`` (default) sends the JSON body the SDK would send (and
  its user agent, with ``hallujudge`` appended) with one POST on the SDK's own pooled HTTP
  client, and parses the answer with the SDK's typed response model
  (``models.ChatCompletionResponse``); failures are raised as the SDK's own exception types, so
  both transports go through the one error map. ``transport="sdk"`` calls
  ``chat.complete_async`` / ``classifiers.classify_async``: the SDK builds several pydantic
  models per call (about 4-5 ms of client CPU on a busy 2-core machine against about 1 ms),
  which caps throughput near 0.6 of the ideal rate with 32 calls in flight; use it for what
  only the SDK's methods do, such as reading a service-account token file
  (``MISTRAL_SA_TOKEN_PATH``). Numbers: ``docs/benchmarks.md``.
* **Rate limits.** Every backend on one server and key shares one
  :class:`~hallujudge._ratelimit.AdaptiveLimit` (``call_limit``): it shrinks on HTTP 429 and
  grows back on success; the Judge waits for a slot before each attempt.
* **Log-probabilities.** Mistral's published API description lists no ``logprobs`` request
  field, so ``supports_logprobs`` is False and they are requested only when a Judge asks
  (``Judge(logprobs=True)``); returned ones are passed on for ``score``.

The classifier backend sends :func:`classifier_input` (the FineTuner uses the same function to
build classifier training data) to ``/v1/classifications`` and reads the scores of the target
:data:`CLASSIFIER_TARGET` (labels :data:`CLASSIFIER_LABELS`).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import logging
import os
import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx2
from mistralai.client import Mistral, models
from mistralai.client import errors as mistral_errors
from mistralai.client.types import UNSET
from pydantic import ValidationError

from .._errors import (
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ConfigurationError,
    ServerError,
    http_error,
    parse_retry_after,
)
from .._ratelimit import AdaptiveLimit
from .._types import Example, Usage
from ._base import Backend, Request, Response, TokenLogprob

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CLASSIFIER_INPUT_VERSION",
    "CLASSIFIER_LABELS",
    "CLASSIFIER_TARGET",
    "CONTEXT_TOKENS",
    "DEFAULT_CONTEXT_TOKENS",
    "MistralBackend",
    "MistralClassifierBackend",
    "Transport",
    "chat_body",
    "chat_response",
    "classifier_input",
    "map_mistral_error",
    "mistral_credentials",
    "without_userinfo",
]

logger = logging.getLogger("hallujudge")

Transport = Literal["sdk", "http"]
"""How calls are sent: ``sdk`` (the SDK's methods) or ``http`` (see the module docstring)."""

DEFAULT_SERVER = "https://api.mistral.ai"
SERVICE_ACCOUNT_ENV = "MISTRAL_SA_TOKEN_PATH"
_USER_AGENT = f"mistral-client-python/{importlib.metadata.version('mistralai')} hallujudge"

CONTEXT_TOKENS: dict[str, int] = {
    "open-mistral-7b": 32_768,
    "open-mixtral-8x7b": 32_768,
    "open-mixtral-8x22b": 65_536,
    "open-mistral-nemo": 131_072,
    "mistral-tiny": 32_768,
    "mistral-small-latest": 131_072,
    "mistral-medium-latest": 131_072,
    "mistral-large-latest": 131_072,
    "ministral-3b-latest": 131_072,
    "ministral-8b-latest": 131_072,
    "pixtral-large-latest": 131_072,
    "codestral-latest": 262_144,
    "magistral-small-latest": 40_960,
    "magistral-medium-latest": 40_960,
}
"""Context sizes (tokens) of known Mistral models, by name."""

DEFAULT_CONTEXT_TOKENS = 32_768
"""Context assumed for models not in :data:`CONTEXT_TOKENS` (see the module docstring)."""

CLASSIFIER_TARGET = "consistency"
"""The classifier target a hallucination classifier is trained with."""

CLASSIFIER_LABELS = ("consistent", "inconsistent")
"""The target's labels: ``consistent`` (label 1 in data) and ``inconsistent`` (label 0)."""

CLASSIFIER_INPUT_VERSION = "1"
"""Bumped whenever :func:`classifier_input` changes (part of the classifier's cache identity)."""


def classifier_input(example: Example) -> str:
    """The one text a classifier fine-tune sees for a pair (training and inference alike).

    The document follows a ``Document:`` line and the summary a ``Summary:`` line, separated
    by one blank line (the same layout as the chat prompts).

    Args:
        example: The pair.

    Returns:
        The classifier's input text.
    """
    return f"Document:\n{example.document}\n\nSummary:\n{example.summary}"


def _context_tokens(model: str) -> int:
    base = model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model
    return CONTEXT_TOKENS.get(base, DEFAULT_CONTEXT_TOKENS)


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= 500 else text[:500] + "..."


def _body_message(exc: mistral_errors.MistralError) -> str:
    # Mistral's error bodies are JSON with a "message" (or FastAPI's "detail"); keep just that.
    body = (exc.body or "").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return body or exc.message
    if isinstance(data, dict):
        for key in ("message", "detail"):
            if data.get(key):
                return str(data[key])
    return body


def map_mistral_error(exc: BaseException, *, secret: str | None = None) -> BackendError | None:
    """Map one exception of the ``mistralai`` SDK (or its ``httpx2`` transport) to our tree.

    This is the only place Mistral errors are translated; callers ``raise ... from exc``.

    Args:
        exc: What the SDK raised.
        secret: The API key, scrubbed from every message.

    Returns:
        The hallujudge error, or None when ``exc`` is not a vendor error (let it propagate).
    """
    if isinstance(exc, mistral_errors.ResponseValidationError):
        status = exc.status_code
        if status < 400:
            return ServerError(
                _scrub(
                    f"HTTP {status} with a body that is not a valid Mistral answer (not JSON, "
                    f"cut short, or the wrong shape): {exc.body[:200]!r}",
                    secret,
                ),
                status_code=status,
            )
    if isinstance(exc, mistral_errors.MistralError):
        retry_after = parse_retry_after(exc.headers.get("retry-after"))
        return http_error(
            exc.status_code, _scrub(_body_message(exc), secret), retry_after=retry_after
        )
    if isinstance(exc, mistral_errors.NoResponseError):
        return BackendConnectionError(_scrub(f"no response from Mistral: {exc}", secret))
    if isinstance(exc, httpx2.TimeoutException):
        return BackendTimeoutError(
            _scrub(f"Mistral did not answer in time ({type(exc).__name__}): {exc}", secret)
        )
    if isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL):
        return BackendConnectionError(
            _scrub(f"bad Mistral server URL ({exc}): check MISTRAL_SERVER_URL", secret),
            retryable=False,
        )
    if isinstance(exc, httpx2.DecodingError):
        return ServerError(_scrub(f"Mistral sent an undecodable body: {exc}", secret))
    if isinstance(exc, httpx2.TransportError):
        return BackendConnectionError(
            _scrub(f"could not reach Mistral ({type(exc).__name__}): {exc}", secret)
        )
    if isinstance(exc, ValidationError):  # the SDK rejected our arguments before sending
        return BadRequestError(_scrub(f"invalid request for the Mistral SDK: {exc}", secret))
    return None


@dataclass(frozen=True, slots=True)
class _LoopClient:
    """The SDK client and its HTTP client, both bound to one event loop."""

    sdk: Mistral
    http: httpx2.AsyncClient


class _MistralBase(Backend):
    """Configuration, per-loop SDK clients and error mapping shared by both backends."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        base_url: str | None = None,
        max_connections: int = 64,
        transport: Transport = "http",
        timeout_s: float | None = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(
                "a Mistral model name is required, for example 'mistral:open-mistral-7b'"
            )
        if server_url is not None and base_url is not None and server_url != base_url:
            raise ConfigurationError("pass server_url= or base_url= (an alias), not both")
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        if timeout_s is not None and not timeout_s > 0:
            raise ConfigurationError("timeout_s must be positive (or None: the Judge's timeout_s)")
        self.timeout_s = timeout_s
        if transport not in ("sdk", "http"):
            raise ConfigurationError(f"transport must be 'sdk' or 'http', not {transport!r}")
        self.transport: Transport = transport
        self.model = model.strip()
        self._url, self._api_key = mistral_credentials(
            api_key, server_url or base_url, service_account=transport == "sdk"
        )
        self.server_url = without_userinfo(self._url) if self._url else None
        self.max_connections = max_connections
        self.call_limit = _shared_limit(self._url, self._api_key, max_connections)
        self.max_input_tokens = _context_tokens(self.model)
        # A plain dict, pruned of closed loops: a weak-key dict would never drop an entry, since
        # each client's connection pool refers back to its loop.
        self._clients: dict[asyncio.AbstractEventLoop, _LoopClient] = {}
        self._lock = threading.Lock()

    def _loop_client(self) -> _LoopClient:
        """The clients of the running loop (created on first use in that loop)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            with self._lock:
                for old in [old for old in self._clients if old.is_closed()]:
                    del self._clients[old]  # its sockets went with the loop (asyncio.run)
                client = self._clients.get(loop)
                if client is None:
                    client = self._new_client()
                    self._clients[loop] = client
        return client

    def _client(self) -> Mistral:
        """The SDK client of the running loop."""
        return self._loop_client().sdk

    def _new_client(self) -> _LoopClient:
        limits = httpx2.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_connections,
        )
        http = httpx2.AsyncClient(limits=limits, follow_redirects=True, timeout=None)
        sdk = Mistral(
            api_key=self._api_key,
            server_url=self._url,
            async_client=http,
            retry_config=None,
        )
        return _LoopClient(sdk=sdk, http=http)

    def _timeout(self, request: Request) -> float:
        """Seconds for one call: the Judge's ``timeout_s``, capped by the backend's own."""
        if self.timeout_s is None:
            return request.timeout_s
        return min(request.timeout_s, self.timeout_s)

    def _error(self, exc: BaseException) -> BackendError | None:
        error = map_mistral_error(exc, secret=self._api_key)
        password = urllib.parse.urlsplit(self._url or "").password
        if error is not None and password:  # a proxy's credentials in the URL stay private too
            error.args = tuple(_scrub(str(a), password) for a in error.args)
        return error

    async def _post(self, path: str, payload: dict[str, Any], timeout_s: float, into: Any) -> Any:
        """The ``http`` transport: one POST on the SDK's own client, parsed by the SDK's model.

        Failures are raised as the SDK's own exception types, so the one error map serves both
        transports.
        """
        client = self._loop_client()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        response = await client.http.post(
            (self._url or DEFAULT_SERVER) + path,
            content=json.dumps(payload).encode(),
            headers=headers,
            timeout=timeout_s,
        )
        if response.status_code >= 400:
            raise mistral_errors.SDKError("API error occurred", response, response.text)
        try:
            return into.model_validate_json(response.content)
        except ValidationError as cause:
            raise mistral_errors.ResponseValidationError(
                "Response validation failed", response, cause, response.text
            ) from cause

    def cache_identity(self) -> dict[str, Any]:
        """See :meth:`Backend.cache_identity` (the server URL matters; the key does not)."""
        return {**super().cache_identity(), "server_url": self.server_url or DEFAULT_SERVER}

    async def aclose(self) -> None:
        """Close the connections of the running loop's client; forget the other loops'."""
        with self._lock:
            clients = dict(self._clients)
            self._clients.clear()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - aclose is a coroutine: a loop runs
            loop = None
        for owner, client in clients.items():
            if owner is loop:
                await client.http.aclose()

    def __repr__(self) -> str:
        where = f", server_url={self.server_url!r}" if self.server_url else ""
        return f"{type(self).__name__}({self.model!r}{where})"


_LIMITS: dict[tuple[str, str], AdaptiveLimit] = {}
_LIMITS_LOCK = threading.Lock()


def _shared_limit(url: str | None, key: str | None, max_connections: int) -> AdaptiveLimit:
    """The adaptive in-flight limit of one server and key, shared by all its backends.

    A server's rate limit applies per key, so every Judge, Evaluator and Guard on the same key
    learns from the same 429s. Keyed by a digest: the key itself is not kept here.
    """
    digest = hashlib.sha256((key or "").encode()).hexdigest()
    ident = (url or DEFAULT_SERVER, digest)
    with _LIMITS_LOCK:
        limit = _LIMITS.get(ident)
        if limit is None or limit.maximum < max_connections:
            limit = _LIMITS[ident] = AdaptiveLimit(max_connections)
        return limit


def mistral_credentials(
    api_key: str | None, server_url: str | None, *, service_account: bool = False
) -> tuple[str | None, str | None]:
    """The one credential rule of every Mistral client (chat, classifier, batch, fine-tuning).

    Args:
        api_key: The key given (default: ``MISTRAL_API_KEY``).
        server_url: The base URL given (default: ``MISTRAL_SERVER_URL``); a trailing ``/v1``
            is dropped.
        service_account: Whether a service-account token file (``MISTRAL_SA_TOKEN_PATH``)
            counts as a credential (only the SDK's own methods read it).

    Returns:
        ``(url, key)``: the URL (None: Mistral's own; it may hold ``user:password@``, so use
        it for requests only) and the key (None when there is none).

    Raises:
        ConfigurationError: Without a key for Mistral's own API.
    """
    url = server_url or os.environ.get("MISTRAL_SERVER_URL") or None
    url = _normalise_url(url) if url else None
    key = api_key if api_key is not None else os.environ.get("MISTRAL_API_KEY")
    key = key.strip() if key and key.strip() else None
    has_token = service_account and bool(os.environ.get(SERVICE_ACCOUNT_ENV))
    official = url is None or without_userinfo(url) == DEFAULT_SERVER
    if key is None and not has_token and official:
        raise ConfigurationError(
            "no Mistral API key: set the MISTRAL_API_KEY environment variable or pass "
            "api_key= (a key may be omitted only with a custom MISTRAL_SERVER_URL or "
            "server_url=, such as a local fake or a keyless gateway, or with "
            f"{SERVICE_ACCOUNT_ENV} and transport='sdk')"
        )
    return url, key


def _normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        stripped = url[: -len("/v1")]
        logger.info(
            "hallujudge: the Mistral server URL %r ends in /v1, which the SDK adds itself; "
            "using %r",
            without_userinfo(url),
            without_userinfo(stripped),
        )
        url = stripped
    return url


def without_userinfo(url: str) -> str:
    """``url`` without any ``user:password@`` part (for reprs, logs and cache keys)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class MistralBackend(_MistralBase):
    """A Mistral chat model (``open-mistral-7b``, ``mistral-large-latest``, ``ft:...``).

    Args:
        model: The model id, as Mistral names it (``ft:`` ids included).
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``, else Mistral's).
        base_url: An alias of ``server_url``, for symmetry with the OpenAI backend.
        max_connections: Connections kept per event loop (raise for more than 64 in flight).
        transport: ``"http"`` (default): the request as one POST on the SDK's HTTP client,
            parsed by the SDK's response model; ``"sdk"``: ``chat.complete_async``, several
            times the client CPU per call (see the module docstring).
        timeout_s: Cap on one call's seconds (None: the Judge's ``timeout_s`` alone).

    Raises:
        ConfigurationError: Without a key for the real API, or with a bad option.
    """

    uses_prompt = True
    supports_logprobs = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        base_url: str | None = None,
        max_connections: int = 64,
        transport: Transport = "http",
        timeout_s: float | None = None,
    ) -> None:
        super().__init__(
            model,
            api_key=api_key,
            server_url=server_url,
            base_url=base_url,
            max_connections=max_connections,
            transport=transport,
            timeout_s=timeout_s,
        )
        self.name = f"mistral:{self.model}"
        self.default_prompt = "fine-tune" if self.model.startswith("ft:") else "zero-shot"

    async def complete(self, request: Request) -> Response:
        """Send one chat completion (see :meth:`Backend.complete`)."""
        options = {"model": self.model, **chat_body(request)}
        try:
            if self.transport == "http":
                result = await self._post(
                    "/v1/chat/completions",
                    {**options, "stream": False},  # as the SDK sends it
                    self._timeout(request),
                    models.ChatCompletionResponse,
                )
            else:
                result = await self._client().chat.complete_async(
                    **_sdk_arguments(options), timeout_ms=max(1, int(self._timeout(request) * 1000))
                )
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
            raise error from exc
        return chat_response(result)


def chat_response(result: models.ChatCompletionResponse) -> Response:
    """The one reader of a chat completion, live or from a batch job's output line.

    Raises:
        ServerError: For an answer with no choices.
    """
    if not result.choices:
        raise ServerError("Mistral answered HTTP 200 with no choices", status_code=200)
    choice = result.choices[0]
    message = choice.message
    return Response(
        text=_text(message.content if message is not None else None),
        model=result.model,
        usage=Usage(
            prompt_tokens=result.usage.prompt_tokens or 0,
            completion_tokens=result.usage.completion_tokens or 0,
        ),
        logprobs=_logprobs(choice.logprobs),
    )


_MESSAGE_MODELS: dict[str, Any] = {
    "system": models.SystemMessage,
    "user": models.UserMessage,
    "assistant": models.AssistantMessage,
}


def _sdk_arguments(options: dict[str, Any]) -> dict[str, Any]:
    # Typed SDK objects instead of dicts: the SDK then skips building a throwaway pydantic
    # model per argument (about 1.5 ms of CPU per call, measured in benchmarks/overhead.py).
    out = dict(options)
    out["messages"] = [_MESSAGE_MODELS[m["role"]].model_validate(m) for m in options["messages"]]
    if "response_format" in options:
        out["response_format"] = models.ResponseFormat.model_validate(options["response_format"])
    return out


def chat_body(request: Request) -> dict[str, Any]:
    """The chat-completion body of a request, without the model.

    The same body serves live calls and the lines of a batch job, so both send exactly what the
    prompt strategy rendered with the judge's settings.
    """
    body: dict[str, Any] = {
        "messages": [dict(m) for m in request.messages],
        "temperature": request.temperature,
    }
    if request.seed is not None:
        body["random_seed"] = request.seed
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.response_format is not None:
        body["response_format"] = request.response_format
    if request.logprobs:
        body["logprobs"] = True
        body["top_logprobs"] = 5
    return body


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content chunks: keep the text ones
        return "".join(str(getattr(chunk, "text", "")) for chunk in content)
    return ""


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    if raw is None or raw is UNSET:
        return ()
    content = getattr(raw, "content", None)
    if not content:
        return ()
    out = []
    for tok in content:
        top = getattr(tok, "top_logprobs", None)
        alternatives = {t.token: t.logprob for t in top} if isinstance(top, list) else {}
        out.append(TokenLogprob(token=tok.token, logprob=tok.logprob, top=alternatives))
    return tuple(out)


class MistralClassifierBackend(_MistralBase):
    """A Mistral classifier fine-tune that answers with probabilities (no prompt).

    It sends :func:`classifier_input` of the pair to ``/v1/classifications`` and returns
    ``p_consistent`` = score(consistent) / (score(consistent) + score(inconsistent)) of the
    target :data:`CLASSIFIER_TARGET`.

    Args:
        model: The classifier's ``ft:`` id.
        api_key: The key (default: ``MISTRAL_API_KEY``).
        server_url: Base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``).
        base_url: An alias of ``server_url``.
        max_connections: Connections kept per event loop.
        transport: ``"http"`` (default: one POST) or ``"sdk"`` (``classifiers.classify_async``).
        timeout_s: Cap on one call's seconds (None: the Judge's ``timeout_s`` alone).
        target: The classifier target to read.

    Raises:
        ConfigurationError: Without a key for the real API, or with a bad option.
    """

    uses_prompt = False
    supports_logprobs = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        server_url: str | None = None,
        base_url: str | None = None,
        max_connections: int = 64,
        transport: Transport = "http",
        timeout_s: float | None = None,
        target: str = CLASSIFIER_TARGET,
    ) -> None:
        super().__init__(
            model,
            api_key=api_key,
            server_url=server_url,
            base_url=base_url,
            max_connections=max_connections,
            transport=transport,
            timeout_s=timeout_s,
        )
        self.name = f"mistral-classifier:{self.model}"
        self.target = target
        self.max_input_tokens = None  # the Judge does not window classifier inputs

    def cache_identity(self) -> dict[str, Any]:
        """See :meth:`Backend.cache_identity`: the input template's version matters too."""
        return {
            **super().cache_identity(),
            "target": self.target,
            "input": CLASSIFIER_INPUT_VERSION,
        }

    async def complete(self, request: Request) -> Response:
        """Classify one pair (see :meth:`Backend.complete`)."""
        text = classifier_input(request.example)
        try:
            if self.transport == "http":
                result = await self._post(
                    "/v1/classifications",
                    {"model": self.model, "input": [text]},
                    self._timeout(request),
                    models.ClassificationResponse,
                )
            else:
                result = await self._client().classifiers.classify_async(
                    model=self.model,
                    inputs=[text],
                    timeout_ms=max(1, int(self._timeout(request) * 1000)),
                )
        except Exception as exc:
            error = self._error(exc)
            if error is None:
                raise
            raise error from exc
        if not result.results:
            raise ServerError("Mistral answered HTTP 200 with no classification", status_code=200)
        targets: Mapping[str, Any] = result.results[0]
        found = targets.get(self.target)
        if found is None:
            raise BadRequestError(
                f"classifier {self.model!r} has no {self.target!r} target (it has "
                f"{sorted(targets)}); fine-tune it with classifier_targets=[{{'name': "
                f"'{CLASSIFIER_TARGET}', 'labels': {list(CLASSIFIER_LABELS)}}}] or pass target="
            )
        scores: Mapping[str, float] = found.scores
        good, bad = scores.get(CLASSIFIER_LABELS[0]), scores.get(CLASSIFIER_LABELS[1])
        if good is None or bad is None or good + bad <= 0:
            raise BadRequestError(
                f"classifier {self.model!r} target {self.target!r} has labels {sorted(scores)}; "
                f"expected {list(CLASSIFIER_LABELS)}"
            )
        p_consistent = good / (good + bad)
        label = CLASSIFIER_LABELS[0] if p_consistent >= 0.5 else CLASSIFIER_LABELS[1]
        return Response(text=label, model=result.model, p_consistent=p_consistent)
