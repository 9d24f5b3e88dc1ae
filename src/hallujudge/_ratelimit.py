"""Rate limits: request and token spacing, and an adaptive in-flight limit.

:class:`RateLimiter` spaces the calls of one Judge (``Judge(rpm=...)``); any
:class:`CallLimiter` can take its place (``judge.with_rate_limiter(...)``), e.g. one shared by
several judges or a cluster-wide budget (:mod:`hallujudge.ray`).

:class:`TokenBudget` spends a tokens-per-minute budget evenly (``Judge("mistral:...",
tpm=...)``): at most one second's worth of tokens at once, so no minute ever sees more than
about ``tpm``. A call is charged its estimate before it starts (prompt characters / 4 plus
``max_tokens``) and corrected by the tokens the server reports when it ends.

:class:`AdaptiveLimit` bounds the calls in flight on one connection (a server and a key), shared
by every Judge, Evaluator and Guard that uses it. It learns the server's limit from its 429s:

* **decrease** on a 429: to at most the number of our calls that were in flight when the
  rejected call started, minus one (the server took no more than that), and by a multiplicative
  step at most once per round trip (calls that started before the last cut cannot reflect it);
* **increase** on success: additively, by ``increase / max(limit, 4)`` per success (about
  ``increase`` per round trip, slower at small limits), so the limit probes upwards slowly and a
  429 is rare once it has settled.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ._validate import check_positive

__all__ = ["AdaptiveLimit", "CallLimiter", "RateLimiter", "Ticket", "TokenBudget"]


@runtime_checkable
class CallLimiter(Protocol):
    """What a Judge waits on before each model call: ``await limiter.acquire()``."""

    async def acquire(self) -> None:
        """Return when this call may start."""


class RateLimiter:
    """Spaces calls evenly so that at most ``rpm`` start in any minute.

    Args:
        rpm: Requests per minute (positive).
    """

    def __init__(self, rpm: float) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.interval = 60.0 / rpm
        self._next = 0.0

    async def acquire(self) -> None:
        """Wait for this call's slot. Slots are handed out in arrival order."""
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class TokenBudget:
    """A tokens-per-minute budget spent evenly: a token bucket holding one second's worth.

    Shared by every call on one connection (all event loops: it keeps no asyncio state).

    Args:
        tpm: Tokens per minute (positive).

    Raises:
        ConfigurationError: If ``tpm`` is not a positive finite number.
    """

    def __init__(self, tpm: float) -> None:
        self.set_rate(tpm)
        self._level = self.capacity
        self._stamp = time.monotonic()

    def set_rate(self, tpm: float) -> None:
        """Change the budget (every connection sharing it follows)."""
        check_positive("tpm", tpm)
        self.tpm = float(tpm)
        self.rate = self.tpm / 60.0
        self.capacity = self.rate  # one second's worth: an even spend, no minute over budget

    def _refill(self) -> None:
        now = time.monotonic()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    async def spend(self, tokens: int) -> None:
        """Wait until ``tokens`` fit in the budget, then take them (first come, first served).

        A call larger than one second's worth waits for a full bucket and leaves it in debt.
        """
        self._refill()
        need = min(float(tokens), self.capacity)
        self._level -= float(tokens)  # reserve now: later callers queue behind this one
        shortfall = need - (self._level + float(tokens))
        if shortfall > 0:
            await asyncio.sleep(shortfall / self.rate)

    def adjust(self, tokens: int) -> None:
        """Charge (positive) or refund (negative) the difference between estimate and use."""
        self._refill()
        self._level = min(self.capacity, self._level - float(tokens))


@dataclass(frozen=True, slots=True)
class Ticket:
    """One admitted call: when it started, how many calls were in flight, tokens charged."""

    started: float
    in_flight: int
    tokens: int = 0


@dataclass(slots=True)
class _LoopState:
    in_flight: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)


class AdaptiveLimit:
    """An in-flight limit that shrinks on HTTP 429 and grows back on success (AIMD).

    Args:
        maximum: The most calls in flight (also the starting limit).
        minimum: The fewest (at least 1).
        decrease: Multiplicative step on a 429 (at most once per round trip).
        increase: Additive growth per round trip of successes.
        tokens: The connection's tokens-per-minute budget, spent before each call (None: none).

    Attributes:
        limit: The current limit (a float; ``int(limit)`` calls may be in flight).
        rate_limited: 429s seen.
    """

    def __init__(
        self,
        maximum: int = 64,
        *,
        minimum: int = 1,
        decrease: float = 0.9,
        increase: float = 0.5,
        tokens: TokenBudget | None = None,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError("need 1 <= minimum <= maximum")
        self.maximum = maximum
        self.minimum = minimum
        self.decrease = decrease
        self.increase = increase
        self.limit = float(maximum)
        self.rate_limited = 0
        self.tokens = tokens
        self._last_cut = float("-inf")
        # asyncio futures belong to one loop: each loop keeps its own queue (the limit is shared)
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            for closed in [other for other in self._loops if other.is_closed()]:
                del self._loops[closed]
            state = self._loops[loop] = _LoopState()
        return state

    @property
    def in_flight(self) -> int:
        """Calls in flight now, over all event loops."""
        return sum(state.in_flight for state in self._loops.values())

    async def acquire(self, tokens: int = 0) -> Ticket:
        """Wait until a call may start (first come, first served).

        Args:
            tokens: The call's estimated tokens, spent from :attr:`tokens` first (if set).

        Returns:
            The ticket to hand back to :meth:`release`.
        """
        budget = self.tokens
        if budget is not None and tokens > 0:
            await budget.spend(tokens)
        else:
            tokens = 0
        state = self._state()
        if state.waiters or self.in_flight >= int(self.limit):
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            state.waiters.append(future)
            try:
                await future
            except BaseException:
                if future in state.waiters:
                    state.waiters.remove(future)
                elif not future.cancelled():  # admitted and then cancelled: pass the slot on
                    state.in_flight -= 1
                    self._wake(state)
                raise
        else:
            state.in_flight += 1
        return Ticket(started=time.monotonic(), in_flight=self.in_flight, tokens=tokens)

    def release(
        self,
        ticket: Ticket,
        *,
        rate_limited: bool = False,
        ok: bool = False,
        used_tokens: int | None = None,
    ) -> None:
        """End one call.

        Args:
            ticket: What :meth:`acquire` returned.
            rate_limited: The call was answered HTTP 429: shrink the limit (and refund its
                tokens: the server did not spend them).
            ok: The call succeeded: grow the limit a little.
            used_tokens: The tokens the server reported, to correct the estimate charged.
        """
        if self.tokens is not None and ticket.tokens:
            if rate_limited:
                self.tokens.adjust(-ticket.tokens)
            elif used_tokens is not None:
                self.tokens.adjust(used_tokens - ticket.tokens)
        if rate_limited:
            self.rate_limited += 1
            cut = min(self.limit, max(float(self.minimum), ticket.in_flight - 1.0))
            if ticket.started >= self._last_cut:
                cut = min(cut, self.limit * self.decrease)
                self._last_cut = time.monotonic()
            self.limit = max(float(self.minimum), cut)
        elif ok:
            # At least four successes per step: at a limit of 1 or 2, probing every round
            # trip would make every other call a 429.
            step = self.increase / max(self.limit, 4.0)
            self.limit = min(float(self.maximum), self.limit + step)
        state = self._state()
        state.in_flight -= 1
        self._wake(state)

    def _wake(self, state: _LoopState) -> None:
        while state.waiters and self.in_flight < int(self.limit):
            future = state.waiters.popleft()
            if not future.done():
                state.in_flight += 1
                future.set_result(None)
