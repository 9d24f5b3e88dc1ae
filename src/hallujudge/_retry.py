"""The one retry policy of every backend call (live judgments, batch jobs, uploads, fine-tuning).

Built on ``tenacity``. Two kinds of failure are told apart:

* **rate-limited attempts** (HTTP 429, :class:`RateLimitError`) mean "not now", not "broken":
  they do not use up ``max_attempts``; they are bounded by the judgment's deadline (and, with no
  deadline, by :data:`MAX_RATE_LIMITED`). Their wait honours ``Retry-After`` with a floor
  (``Retry-After: 0`` must not turn into a burst of immediate retries) and jitter (so the calls
  rejected together do not come back together);
* **other retryable failures** (5xx, timeouts, dropped connections) count against
  ``max_attempts`` and back off exponentially with jitter, or as long as ``Retry-After`` says.

No wait runs past the deadline: the last attempt starts while there is still time for it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from ._errors import RateLimitError

__all__ = ["MAX_RATE_LIMITED", "RetryPolicy"]

MAX_RATE_LIMITED = 200
"""Rate-limited attempts allowed per call when there is no deadline (a bound, not a goal)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one call is retried.

    Attributes:
        max_attempts: Attempts for real failures, the first one included.
        deadline_s: Time budget of the call across all attempts and waits (None: none).
        max_wait_s: Longest single wait (caps ``Retry-After`` too).
        initial_wait_s: First backoff step of the exponential backoff.
        retry_after_floor_s: Shortest wait after a 429, whatever ``Retry-After`` says.
        jitter: Extra random share of each wait (0.25: up to 25% longer).
    """

    max_attempts: int = 5
    deadline_s: float | None = 120.0
    max_wait_s: float = 30.0
    initial_wait_s: float = 0.5
    retry_after_floor_s: float = 0.25
    jitter: float = 0.25

    def retrying(
        self,
        is_retryable: Callable[[BaseException], bool],
        *,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> AsyncRetrying:
        """A fresh ``tenacity`` controller for one call.

        Args:
            is_retryable: Whether an error is worth another attempt (the backend's hook).
            before_sleep: Called before each pause (for logging).

        Returns:
            The ``AsyncRetrying`` to iterate over (``async for attempt in ...``); it re-raises
            the last error when it gives up.
        """
        state = _CallState(self, time.monotonic())
        return AsyncRetrying(
            stop=state.stop,
            wait=state.wait,
            retry=retry_if_exception(is_retryable),
            before_sleep=before_sleep,
            reraise=True,
        )

    def remaining_s(self, started: float) -> float | None:
        """Seconds left of the deadline of a call that started at ``started`` (monotonic)."""
        if self.deadline_s is None:
            return None
        return self.deadline_s - (time.monotonic() - started)


class _CallState:
    """Per-call counters: failures and rate-limited attempts are counted apart."""

    def __init__(self, policy: RetryPolicy, started: float) -> None:
        self.policy = policy
        self.started = started
        self.failures = 0
        self.rate_limited = 0

    # tenacity computes the wait before it asks whether to stop, so ``wait`` counts the
    # failure and ``stop`` reads the counts and the upcoming pause.

    def wait(self, state: RetryCallState) -> float:
        policy = self.policy
        exc = _error(state)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(exc, RateLimitError):
            self.rate_limited += 1
            base = max(policy.retry_after_floor_s, retry_after or 0.0)
            if retry_after is None:  # no hint: back off on repeated 429s
                base *= 2.0 ** min(self.rate_limited - 1, 6)
        else:
            self.failures += 1
            if isinstance(retry_after, int | float):
                base = float(retry_after)
            else:
                base = policy.initial_wait_s * 2.0 ** (self.failures - 1)
        return min(policy.max_wait_s, base * (1.0 + random.uniform(0.0, policy.jitter)))

    def stop(self, state: RetryCallState) -> bool:
        policy = self.policy
        if self.failures >= policy.max_attempts:
            return True
        if policy.deadline_s is None:
            return self.rate_limited >= MAX_RATE_LIMITED
        left = policy.remaining_s(self.started)
        # No attempt starts after the deadline: it could only time out.
        return left is None or left - (state.upcoming_sleep or 0.0) <= 0.0


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
