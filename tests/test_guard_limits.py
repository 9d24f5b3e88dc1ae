"""The Guard under hostile input and outages: bounded work, empty contexts, a circuit breaker."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from hallujudge import (
    ConfigurationError,
    FunctionBackend,
    Guard,
    Judge,
    Request,
    Response,
    ServerError,
)

CONTEXT = "The museum opened in 1998. It holds 4,000 paintings. Entry is free on Sundays."
ANSWER = "The museum opened in 1998. Entry is free on Sundays."


class _Counting:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        if self.fail:
            raise ServerError("HTTP 503: the judge is down", retryable=True)
        ex = request.example
        ok = ex.summary.strip() in ex.document
        return Response(text="", p_consistent=0.9 if ok else 0.1)


def _judge(backend: _Counting) -> Judge:
    return Judge(FunctionBackend(backend, uses_prompt=False), max_attempts=1)


@pytest.mark.parametrize("on_error", ["open", "closed"])
def test_an_empty_context_supports_nothing_even_failing_open(on_error: str) -> None:
    backend = _Counting()
    guard = Guard(_judge(backend), on_error=on_error)  # type: ignore[arg-type]
    for context in ("", "  \n "):
        result = guard.check(context, ANSWER)
        assert not result.passed
        assert len(result.unsupported) == 2 and not result.unjudged
    assert backend.calls == 0
    assert guard.check("", "").passed  # an empty answer claims nothing


def test_oversized_inputs_are_not_judged() -> None:
    backend = _Counting()
    guard = Guard(_judge(backend), max_context_chars=1000, max_sentences=3)
    big = guard.check(CONTEXT + " x" * 1000, ANSWER)
    assert not big.passed and len(big.unjudged) == 2
    assert big.error is not None and "max_context_chars=1,000" in big.error
    many = guard.check(CONTEXT, " ".join(["The museum opened in 1998."] * 4))
    assert many.error is not None and "max_sentences=3" in many.error
    assert backend.calls == 0
    assert guard.check(CONTEXT, ANSWER).passed and backend.calls == 2
    assert Guard(_judge(backend)).max_context_chars == 200_000


def test_the_breaker_opens_after_failures_and_a_probe_closes_it() -> None:
    backend = _Counting(fail=True)
    guard = Guard(_judge(backend), on_error="open", breaker_failures=3, breaker_reset_s=0.3)
    for _ in range(3):
        result = guard.check(CONTEXT, ANSWER)
        assert result.passed and result.unjudged  # fail-open, as configured
    assert guard.breaker_open and backend.calls == 6
    started = time.monotonic()
    shut = guard.check(CONTEXT, ANSWER)
    assert time.monotonic() - started < 0.1  # answered at once, no call
    assert backend.calls == 6
    assert shut.error is not None and "circuit breaker is open after 3 failed checks" in shut.error
    assert shut.passed  # open-failing, as configured
    closed_guard = Guard(_judge(backend), on_error="closed", breaker_failures=1)
    closed_guard.check(CONTEXT, ANSWER)
    assert not closed_guard.check(CONTEXT, ANSWER).passed  # fail-closed while open
    time.sleep(0.35)
    backend.fail = False  # the outage is over: the probe succeeds and closes the breaker
    probe = guard.check(CONTEXT, ANSWER)
    assert probe.passed and not probe.unjudged and not guard.breaker_open
    assert backend.calls == 6 + 2 + 2  # closed_guard's failed check (2 sentences), the probe


def test_a_failed_probe_reopens_the_breaker() -> None:
    backend = _Counting(fail=True)
    guard = Guard(_judge(backend), breaker_failures=1, breaker_reset_s=0.2)
    guard.check(CONTEXT, ANSWER)
    time.sleep(0.25)
    guard.check(CONTEXT, ANSWER)  # the probe, failing
    assert guard.breaker_open and backend.calls == 4
    guard.check(CONTEXT, ANSWER)
    assert backend.calls == 4


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("timeout_s", math.nan),
        ("timeout_s", math.inf),
        ("timeout_s", 0),
        ("max_context_chars", 0),
        ("max_sentences", -1),
        ("breaker_failures", 0),
        ("breaker_reset_s", math.nan),
    ],
)
def test_numeric_options_are_validated(keyword: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=keyword):
        Guard(_judge(_Counting()), **{keyword: value})  # type: ignore[arg-type]


def test_soak_oversized_contexts_do_not_starve_ordinary_checks() -> None:
    # The embedded judge does its work in worker threads that a timeout cannot stop: oversized
    # contexts must never reach them (before the limit, three 10 MB contexts held every worker
    # and the next checks timed out for a minute).
    guard = Guard(Judge("local"), timeout_s=2.0)
    huge = CONTEXT + " The museum has a garden." * 400_000  # 10 MB

    async def timed(context: str) -> tuple[float, bool]:
        started = time.perf_counter()
        result = await guard.acheck(context, ANSWER)
        return time.perf_counter() - started, bool(result.unjudged)

    async def soak() -> list[tuple[str, float, bool]]:
        kinds = ["huge", "ordinary", "ordinary", "huge", "ordinary", "ordinary"] * 5
        contexts = {"huge": huge, "ordinary": CONTEXT}
        out = []
        pending = []
        for kind in kinds:
            pending.append((kind, asyncio.ensure_future(timed(contexts[kind]))))
            await asyncio.sleep(0.02)
        for kind, task in pending:
            latency, unjudged = await task
            out.append((kind, latency, unjudged))
        return out

    results = asyncio.run(soak())
    ordinary = sorted(lat for kind, lat, _ in results if kind == "ordinary")
    assert len(ordinary) == 20
    p95 = ordinary[int(0.95 * (len(ordinary) - 1))]
    assert p95 < guard.timeout_s  # type: ignore[operator]
    assert not any(unjudged for kind, _, unjudged in results if kind == "ordinary")  # none starved
    assert all(unjudged for kind, _, unjudged in results if kind == "huge")
