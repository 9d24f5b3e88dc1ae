"""The one hook integrations use to watch judgments and guard checks (OpenTelemetry, ...).

``Judge.ajudge`` and ``Guard.acheck`` are decorated with :func:`observed`. While no observer is
installed (the default) the decorator calls the method directly: one list check per call, and
no integration package is imported. An installed :class:`Observer` wraps each call (to open a
span around it, for example) and must return what the call returned.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypeVar

__all__ = ["Observer", "add_observer", "observed", "remove_observer"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
Kind = Literal["judgment", "guard_check"]


class Observer(Protocol):
    """Wraps judgments and guard checks; see :mod:`hallujudge.otel` for the real one."""

    async def judgment(self, call: Callable[[], Awaitable[T]], judge: Any, example: Any) -> T:
        """Run ``call()`` (one ``Judge.ajudge``) and return its verdict."""
        ...

    async def guard_check(
        self, call: Callable[[], Awaitable[T]], guard: Any, context: str, answer: str
    ) -> T:
        """Run ``call()`` (one ``Guard.acheck``) and return its result (or let it raise)."""
        ...


_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Install ``observer``; the most recently added one wraps the calls."""
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    """Uninstall ``observer`` (no error if it is not installed)."""
    if observer in _observers:
        _observers.remove(observer)


def observed(kind: Kind) -> Callable[[F], F]:
    """Decorate an async method so the current observer, if any, wraps its calls.

    Args:
        kind: ``"judgment"`` (``Judge.ajudge(example)``) or ``"guard_check"``
            (``Guard.acheck(context, answer)``).

    Returns:
        The decorator.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not _observers:
                return await fn(self, *args, **kwargs)
            hook = getattr(_observers[-1], kind)
            return await hook(functools.partial(fn, self, *args, **kwargs), self, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
