"""The one bridge from sync to async: every sync method is ``run_sync(self.a<method>(...))``."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._errors import ConfigurationError

__all__ = ["run_sync"]

T = TypeVar("T")
_state = threading.local()


def _runner() -> asyncio.Runner:
    # One long-lived loop per thread, so connection pools opened by one sync call are reused
    # by the next (a fresh asyncio.run() per call would strand them on a closed loop).
    runner: asyncio.Runner | None = getattr(_state, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        _state.runner = runner
        atexit.register(runner.close)
    return runner


def run_sync(coro: Coroutine[Any, Any, T], *, async_name: str) -> T:
    """Run a coroutine to completion from sync code.

    Args:
        coro: The coroutine (the async twin's call).
        async_name: The async method to suggest when called inside an event loop.

    Returns:
        The coroutine's result.

    Raises:
        ConfigurationError: When called inside a running event loop (Jupyter, FastAPI, ...),
            where blocking would deadlock: ``await`` the async method instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # The caller's context, not the one the runner captured on its first call: context
        # variables set since (the current OpenTelemetry span, say) must reach the coroutine.
        return _runner().run(coro, context=contextvars.copy_context())
    coro.close()
    raise ConfigurationError(
        f"called from inside a running event loop; use `await {async_name}(...)` instead"
    )
