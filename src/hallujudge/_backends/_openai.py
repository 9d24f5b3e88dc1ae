"""A backend for any OpenAI-compatible chat-completions server: OpenAI, vLLM, Ollama, llama.cpp.

One plain ``httpx.AsyncClient`` per event loop (no vendor SDK: it costs CPU per call and a
dependency), a connection pool sized for many requests in flight, and one place that maps HTTP
and transport failures into the hallujudge error tree.

Servers that ignore ``logprobs`` simply return none; the verdict then has a label but no score.
Servers that refuse them with a 400 are asked again without them, once; later calls skip them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import urllib.parse
from typing import Any

import httpx

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
from .._tracing import redact, remember_secret, scrub_exception
from .._types import Usage
from ._base import Backend, Request, Response, TokenLogprob

__all__ = ["DEFAULT_BASE_URL", "OpenAIBackend"]

logger = logging.getLogger("hallujudge")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_TOP_LOGPROBS = 5
_MAX_MESSAGE_CHARS = 500


class _LogprobsRejectedError(BadRequestError):
    """The server refused the request because of ``logprobs``: ask again without them."""


class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Example:
        >>> backend = OpenAIBackend("org/model-ft", base_url="http://127.0.0.1:8000/v1")

    Args:
        model: The model name as the server knows it (vLLM: the served model name, which may
            contain slashes).
        api_key: Bearer token. Defaults to ``OPENAI_API_KEY``; local servers need none, and
            without a key no ``Authorization`` header is sent (``api_key=""`` ignores the
            environment). Never shown in reprs, errors or logs.
        base_url: The API root including ``/v1``. Defaults to ``OPENAI_BASE_URL``, else
            ``https://api.openai.com/v1``.
        timeout_s: Seconds per HTTP call; None uses the Judge's ``timeout_s``.
        max_connections: Connection pool size: keep it above the Judge's concurrency.
        headers: Extra HTTP headers sent with every call (gateways, tenants, ...).
        max_input_tokens: The model's input budget in tokens, used to chunk long documents;
            None when unknown.
        logprobs: Whether to ask for token log-probabilities by default. Servers without them
            just return none, so the verdict has no score.

    Raises:
        ConfigurationError: If no key is available for the official OpenAI API, or an option
            is invalid.
    """

    uses_prompt = True
    default_prompt = "zero-shot"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_s: float | None = None,
        max_connections: int = 128,
        headers: dict[str, str] | None = None,
        max_input_tokens: int | None = None,
        logprobs: bool = True,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError(
                "name the model after the prefix, e.g. 'openai:gpt-4o-mini' or, for vLLM, "
                "'openai:<served model name>'"
            )
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        if timeout_s is not None and timeout_s <= 0:
            raise ConfigurationError("timeout_s must be positive (or None for the Judge's)")
        self.model = model.strip()
        self.name = f"openai:{self.model}"
        url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self._url = url  # may hold user:password@: only requests see it
        self.base_url = _without_userinfo(url)
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url must start with http:// or https://, got {self.base_url!r} "
                "(for vLLM: base_url='http://HOST:8000/v1')"
            )
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._api_key = key or None
        self._password = urllib.parse.urlsplit(url).password
        remember_secret(self._api_key)  # scrubbed from traces and errors, like OPENAI_API_KEY
        remember_secret(self._password)
        if self._api_key is None and self.base_url == DEFAULT_BASE_URL:
            raise ConfigurationError(
                "the OpenAI API needs a key: set OPENAI_API_KEY or pass api_key=; for a local "
                "server (vLLM, Ollama, llama.cpp) pass base_url='http://HOST:PORT/v1'"
            )
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.max_input_tokens = max_input_tokens
        self.supports_logprobs = logprobs
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if self._api_key is not None:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._logprobs_rejected = False

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.model!r}, base_url={self.base_url!r})"

    def cache_identity(self) -> dict[str, Any]:
        """See :meth:`Backend.cache_identity`: the server matters, the key does not."""
        return {**super().cache_identity(), "base_url": self.base_url}

    # -- connections --------------------------------------------------------------------------

    def _get_client(self) -> httpx.AsyncClient:
        # An AsyncClient's connections belong to the loop that opened them. The sync API runs on
        # one long-lived loop per thread and users may call from their own loops, so keep one
        # client per loop: going back and forth reuses each loop's pool instead of leaking it.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            for old in [old for old in list(self._clients) if old.is_closed()]:
                self._clients.pop(old, None)  # its loop is gone: nothing can use or close it
            client = httpx.AsyncClient(
                headers=self._headers,
                limits=httpx.Limits(
                    max_connections=self.max_connections,
                    max_keepalive_connections=self.max_connections,
                ),
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the HTTP connections opened on the current event loop. Safe to call twice.

        Each loop has its own connections; close them from the loop that used them (the sync
        ``Judge.close()`` closes the ones of the sync API).
        """
        client = self._clients.pop(asyncio.get_running_loop(), None)
        for old in [old for old in list(self._clients) if old.is_closed()]:
            self._clients.pop(old, None)
        if client is not None and not client.is_closed:
            await client.aclose()

    # -- the call -------------------------------------------------------------------------------

    def _payload(self, request: Request, logprobs: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in request.messages],
            "temperature": request.temperature,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.response_format is not None:
            body["response_format"] = request.response_format
        if logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = _TOP_LOGPROBS
        return body

    async def complete(self, request: Request) -> Response:
        """POST one chat completion and read the answer, usage and log-probabilities.

        One HTTP call, except once per backend: when the server rejects ``logprobs`` with a
        400 that names them, the call is repeated without them, and later calls skip them.

        Args:
            request: What to send.

        Returns:
            The model's answer.

        Raises:
            BackendError: Every failure, mapped here in one place: 429 -> RateLimitError (with
                ``retry_after``), 5xx and unreadable bodies -> ServerError, 401/403 ->
                AuthenticationError, other 4xx -> BadRequestError, timeouts ->
                BackendTimeoutError, transport failures -> BackendConnectionError.
        """
        logprobs = request.logprobs and not self._logprobs_rejected
        try:
            return await self._post(request, logprobs)
        except _LogprobsRejectedError as exc:
            # Some servers and models (reasoning models, some gateways) refuse logprobs with a
            # 400. Such a server gives labels without scores, as one that ignores the field.
            self._logprobs_rejected = True
            logger.warning(
                "hallujudge: %s rejects logprobs (%s); asking without them: verdicts will "
                "have no score",
                self.name,
                exc,
            )
            return await self._post(request, False)

    async def _post(self, request: Request, logprobs: bool) -> Response:
        url = f"{self._url}/chat/completions"
        timeout = self.timeout_s if self.timeout_s is not None else request.timeout_s
        try:
            http = await self._get_client().post(
                url, json=self._payload(request, logprobs), timeout=timeout
            )
            if http.status_code >= 400:
                said = self._server_message(http)
                if logprobs and http.status_code in (400, 422) and "logprob" in said.lower():
                    raise _LogprobsRejectedError(said, status_code=http.status_code)
                raise http_error(
                    http.status_code,
                    self._error_text(http.status_code, said),
                    retry_after=parse_retry_after(http.headers.get("retry-after")),
                )
            try:
                data = http.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ServerError(
                    f"{self.name}: the server answered HTTP {http.status_code} with a body that "
                    f"is not JSON: {self._redact(http.text[:200])!r}",
                    status_code=http.status_code,
                ) from exc
            return self._read(data)
        except BackendError:
            raise
        except httpx.HTTPError as exc:
            scrub_exception(exc, [self._api_key, self._password])  # the cause we raise from
            raise self._transport_error(exc, timeout) from exc

    def _transport_error(self, exc: httpx.HTTPError, timeout: float) -> BackendError:
        if isinstance(exc, httpx.TimeoutException):
            return BackendTimeoutError(
                f"{self.name}: no answer from {self.base_url} within {timeout:g} s "
                f"({type(exc).__name__}); raise timeout_s= if the model is slow"
            )
        if isinstance(exc, httpx.TransportError):
            return BackendConnectionError(
                f"{self.name}: could not reach {self.base_url} ({type(exc).__name__}: "
                f"{self._redact(str(exc))}); is the server running?"
            )
        # decoding errors, redirect loops: transient or server-side
        return ServerError(f"{self.name}: {type(exc).__name__}: {self._redact(str(exc))}")

    def _read(self, data: Any) -> Response:
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ServerError(
                f"{self.name}: the response has no choices[0].message; got "
                f"{self._redact(json.dumps(data)[:200])!r}"
            ) from exc
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(
                p.get("text", "")
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
        if content is None and isinstance(message, dict):
            content = message.get("refusal")  # OpenAI puts refusals here; the parser sees them
        usage = data.get("usage") if isinstance(data, dict) else None
        return Response(
            text=content if isinstance(content, str) else "",
            model=data.get("model") if isinstance(data.get("model"), str) else self.model,
            usage=_usage(usage),
            logprobs=_logprobs(choice.get("logprobs") if isinstance(choice, dict) else None),
        )

    def _server_message(self, http: httpx.Response) -> str:
        """The server's own explanation (OpenAI, vLLM, Ollama shapes), without secrets."""
        try:
            body = http.json()
        except ValueError:
            body = None
        message: Any = None
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):
                message = err.get("message")
            elif isinstance(err, str):  # Ollama, llama.cpp
                message = err
            if message is None:
                message = body.get("message") or body.get("detail")  # older vLLM, FastAPI
        if not message:
            message = http.text or http.reason_phrase
        return self._redact(str(message))[:_MAX_MESSAGE_CHARS]

    def _error_text(self, status: int, said: str) -> str:
        if status == 404:
            said += (
                f" (check the model name {self.model!r} against GET {self.base_url}/models, "
                "and that base_url ends in /v1)"
            )
        return f"{self.name}: {said}"

    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key, self._password])


def _without_userinfo(url: str) -> str:
    """``url`` without any ``user:password@``, for reprs, errors and cache keys."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else 0,
        completion_tokens=completion if isinstance(completion, int) else 0,
    )


def _logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    """``choices[0].logprobs.content[*]`` as TokenLogprobs (empty when the server gave none)."""
    content = raw.get("content") if isinstance(raw, dict) else None
    if not isinstance(content, list):
        return ()
    tokens: list[TokenLogprob] = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return ()  # a malformed list cannot be aligned with the text: use none of it
        top: dict[str, float] = {}
        for alt in item.get("top_logprobs") or ():
            if isinstance(alt, dict) and isinstance(alt.get("token"), str):
                lp = _float(alt.get("logprob"))
                if lp is None:
                    continue
                # Two token ids may decode to the same text: that text's probability is the sum.
                seen = top.get(alt["token"])
                top[alt["token"]] = lp if seen is None else math.log(math.exp(seen) + math.exp(lp))
        logprob = _float(item.get("logprob"))
        tokens.append(
            TokenLogprob(
                token=item["token"],
                logprob=logprob if logprob is not None else float("-inf"),
                top=top,
            )
        )
    return tuple(tokens)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
