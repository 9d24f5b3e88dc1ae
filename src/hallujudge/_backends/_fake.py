"""Backends for testing code that uses hallujudge, with no network and no key."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ._base import Backend, Request, Response

__all__ = ["FakeBackend", "FunctionBackend"]

_DEFAULT_ANSWER = '{"consistency": 1, "reason": "fake backend: always consistent"}'

Scripted = str | Response | BaseException


class FakeBackend(Backend):
    """A scripted chat backend: answers, errors and latency you choose, and a log of requests.

    Example:
        >>> fake = FakeBackend(["not json", RateLimitError("slow down"), '{"consistency": 0}'])

    Each call takes the next scripted item: a string or :class:`Response` is returned, an
    exception is raised. When the script is used up, ``default`` is returned.

    Attributes:
        requests: Every request received, in order (failed ones too).
    """

    def __init__(
        self,
        script: Iterable[Scripted] = (),
        *,
        default: str | Response = _DEFAULT_ANSWER,
        latency_s: float = 0.0,
        name: str = "fake",
        uses_prompt: bool = True,
        max_input_tokens: int | None = None,
    ) -> None:
        self._script: deque[Scripted] = deque(script)
        self._default = default
        self.latency_s = latency_s
        self.name = name
        self.uses_prompt = uses_prompt
        self.max_input_tokens = max_input_tokens
        self.requests: list[Request] = []

    @property
    def calls(self) -> int:
        """How many calls were made."""
        return len(self.requests)

    async def complete(self, request: Request) -> Response:
        """Return (or raise) the next scripted item after ``latency_s``."""
        self.requests.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        item = self._script.popleft() if self._script else self._default
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Response):
            return item
        return Response(text=item, model=self.name)


class FunctionBackend(Backend):
    """Wrap a plain function (sync or async) as a backend.

    The function receives the :class:`Request` and returns the model's text or a
    :class:`Response`. With ``uses_prompt=False`` it can read ``request.example`` directly
    and return ``Response(text=..., p_consistent=...)``.
    """

    def __init__(
        self,
        fn: Callable[[Request], str | Response | Awaitable[str | Response]],
        *,
        name: str | None = None,
        uses_prompt: bool = True,
    ) -> None:
        self._fn = fn
        self.name = name or str(getattr(fn, "__name__", "function"))
        self.uses_prompt = uses_prompt

    async def complete(self, request: Request) -> Response:
        """Call the function and normalise what it returns."""
        out: Any = self._fn(request)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, Response):
            return out
        if isinstance(out, str):
            return Response(text=out, model=self.name)
        raise TypeError(
            f"FunctionBackend {self.name!r}: the function must return str or Response, "
            f"not {type(out).__name__}"
        )
