"""Rate limits and flaky servers: the retry policy, the adaptive limit, and 1,000-row storms
against the fake Mistral server (real HTTP, the default transport)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from fakes.mistral_server import GARBAGE_ANSWER, INCONSISTENT_MARKER, Chaos, MistralFakeServer
from hallujudge import ConfigurationError, FakeBackend, Judge, RateLimitError, ServerError
from hallujudge._ratelimit import AdaptiveLimit, TokenBudget
from hallujudge._retry import RetryPolicy

pytest.importorskip("mistralai")

DOC = "The council voted on Tuesday to close the Mill Street library in March."


def rows(n: int) -> list[tuple[str, str]]:
    """n distinct pairs; every third one is inconsistent."""
    return [
        (DOC, f"Row {i}: the library closes{f' {INCONSISTENT_MARKER}' if i % 3 == 0 else ''}.")
        for i in range(n)
    ]


def quick(judge: Judge) -> Judge:
    """Short floors and waits, so a storm of 429s takes seconds in a test."""
    judge.retry_policy = dataclasses.replace(
        judge.retry_policy, retry_after_floor_s=0.02, initial_wait_s=0.02
    )
    return judge


# -- the retry policy ----------------------------------------------------------------------


def test_rate_limited_attempts_do_not_use_up_the_attempts() -> None:
    backend = FakeBackend([RateLimitError("slow down", retry_after=0)] * 8)
    verdict = quick(Judge(backend, max_attempts=2)).score("a b c", "a b")
    assert verdict.scored
    assert backend.calls == 9


def test_real_failures_still_stop_at_max_attempts() -> None:
    backend = FakeBackend([ServerError("boom", status_code=503)] * 5)
    verdict = quick(Judge(backend, max_attempts=3)).score("a b c", "a b")
    assert verdict.label == "unscored"
    assert backend.calls == 3


def test_retry_after_zero_is_floored_and_jittered() -> None:
    backend = FakeBackend([RateLimitError("slow down", retry_after=0)] * 3)
    judge = Judge(backend)
    judge.retry_policy = dataclasses.replace(judge.retry_policy, retry_after_floor_s=0.1)
    started = time.monotonic()
    assert judge.score("a b c", "a b").scored
    assert time.monotonic() - started >= 0.3  # three waits of at least the floor


def test_rate_limits_are_bounded_by_the_deadline() -> None:
    backend = FakeBackend([RateLimitError("slow down", retry_after=0.1)] * 1000)
    started = time.monotonic()
    verdict = Judge(backend, deadline_s=1.0).score("a b c", "a b")
    assert verdict.label == "unscored"
    assert verdict.error is not None and verdict.error.startswith("RateLimitError")
    assert time.monotonic() - started < 2.0
    assert 2 <= backend.calls < 20


def test_policy_waits_never_pass_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=100, deadline_s=0.3, initial_wait_s=0.2)
    backend = FakeBackend([ServerError("boom", status_code=503)] * 100)
    judge = Judge(backend, deadline_s=0.3, max_attempts=100)
    judge.retry_policy = policy
    started = time.monotonic()
    assert judge.score("a b c", "a b").label == "unscored"
    assert time.monotonic() - started < 0.6


# -- the adaptive limit --------------------------------------------------------------------


def test_adaptive_limit_shrinks_to_what_the_server_took_and_grows_back() -> None:
    async def scenario() -> None:
        limit = AdaptiveLimit(32)
        tickets = [await limit.acquire() for _ in range(12)]
        assert limit.in_flight == 12
        limit.release(tickets[-1], rate_limited=True)  # the 12th was refused: 11 were taken
        assert limit.limit <= 11
        for t in tickets[:-1]:
            limit.release(t, ok=True)
        before = limit.limit
        for _ in range(50):
            limit.release(await limit.acquire(), ok=True)
        assert before < limit.limit <= 32

    asyncio.run(scenario())


def test_adaptive_limit_queues_calls_past_the_limit() -> None:
    async def scenario() -> list[int]:
        limit = AdaptiveLimit(2)
        seen: list[int] = []

        async def call() -> None:
            ticket = await limit.acquire()
            seen.append(limit.in_flight)
            await asyncio.sleep(0.01)
            limit.release(ticket, ok=True)

        await asyncio.gather(*(call() for _ in range(10)))
        return seen

    assert max(asyncio.run(scenario())) == 2


# -- storms against the fake Mistral server ------------------------------------------------


def storm(
    chaos: Chaos, n: int, latency_s: float, **options: object
) -> tuple[MistralFakeServer, list[tuple[str, str]], list]:  # type: ignore[type-arg]
    pairs = rows(n)
    with MistralFakeServer(latency_s=latency_s, validate=False, chaos=chaos) as server:
        judge = quick(Judge("mistral:open-mistral-7b", server_url=server.url, **options))  # type: ignore[arg-type]
        verdicts = judge.score_many(pairs, concurrency=32)
        judge.close()
    return server, pairs, verdicts


def check_storm(server: MistralFakeServer, verdicts: list, n: int) -> None:  # type: ignore[type-arg]
    assert len(verdicts) == n
    assert [v.error for v in verdicts if not v.scored] == []
    for i, verdict in enumerate(verdicts):
        assert verdict.label == ("inconsistent" if i % 3 == 0 else "consistent"), i
    answered = [r for r in server.chat_requests if r.outcome == "default"]
    assert len(answered) == n  # every row answered exactly once: no duplicate work
    minimum = n + server.chaos_counts["503"]  # a 503'd first attempt must be sent again
    assert len(server.chat_requests) <= 1.5 * minimum, server.chaos_counts


@pytest.mark.parametrize("max_in_flight", [8, 1])
def test_a_429_storm_loses_no_row(max_in_flight: int) -> None:
    chaos = Chaos(max_in_flight=max_in_flight, retry_after=0.02, error_rate=0.1)
    latency = 0.01 if max_in_flight > 1 else 0.001
    server, _, verdicts = storm(chaos, 1000, latency)
    assert server.chaos_counts["429"] > 0 and server.chaos_counts["503"] > 50
    check_storm(server, verdicts, 1000)


def test_errors_timeouts_and_garbage_each_row_once() -> None:
    chaos = Chaos(error_rate=0.1, timeout_rate=0.03, timeout_s=2.0, garbage_rate=0.05)
    server, pairs, verdicts = storm(chaos, 1000, 0.005, timeout_s=0.5)
    assert len(verdicts) == len(pairs)
    garbage = [v for v in verdicts if v.raw == GARBAGE_ANSWER]
    # about 5% of rows; a garbage answer that came too late for the client is asked again
    assert 20 < len(garbage) <= server.chaos_counts["garbage"]
    assert all(v.label == "unscored" and v.error for v in garbage)
    others = [(i, v) for i, v in enumerate(verdicts) if v.raw != GARBAGE_ANSWER]
    assert [v.error for _, v in others if not v.scored] == []  # nothing else lost
    assert server.chaos_counts["timeout"] > 10
    for i, verdict in others:
        assert verdict.label == ("inconsistent" if i % 3 == 0 else "consistent"), i


# -- the tokens-per-minute budget ------------------------------------------------------------


def test_token_budget_spends_evenly_and_corrects_its_estimate() -> None:
    async def scenario() -> tuple[float, float, float]:
        budget = TokenBudget(60_000)  # 1,000 tokens/s, one second's worth at once
        started = time.monotonic()
        await budget.spend(1_000)  # a full bucket: no wait
        burst = time.monotonic() - started
        await budget.spend(500)  # half a second of refill
        paced = time.monotonic() - started
        budget.adjust(-500)  # the last call used 500 fewer than estimated: refunded
        before = time.monotonic()
        await budget.spend(400)
        return burst, paced, time.monotonic() - before

    burst, paced, refunded = asyncio.run(scenario())
    assert burst < 0.05
    assert 0.45 <= paced < 0.7
    assert refunded < 0.05


@pytest.mark.parametrize("tpm", [0, -5, float("inf"), float("nan"), "100", True])
def test_a_bad_tpm_names_the_keyword(tpm: object) -> None:
    with pytest.raises(ConfigurationError, match="tpm"):
        Judge("mistral:open-mistral-7b", server_url="http://127.0.0.1:9", tpm=tpm)


def test_judges_on_one_key_share_the_token_budget() -> None:
    url, key = "http://127.0.0.1:9", "tpm-share-key"
    limited = Judge("mistral:open-mistral-7b", server_url=url, api_key=key, tpm=6_000)
    plain = Judge("mistral-large-latest", server_url=url, api_key=key)
    other_key = Judge("mistral:open-mistral-7b", server_url=url, api_key="another-key")
    budget = limited.backend.call_limit.tokens  # type: ignore[union-attr]
    assert budget is not None and budget.tpm == 6_000
    assert plain.backend.call_limit.tokens is budget  # type: ignore[union-attr]
    assert other_key.backend.call_limit.tokens is None  # type: ignore[union-attr]
    Judge("mistral:open-mistral-7b", server_url=url, api_key=key, tpm=9_000)
    assert budget.tpm == 9_000  # a later budget for the same key updates the shared one


def test_the_registry_of_learned_limits_is_bounded_and_keeps_the_recent_ones() -> None:
    from hallujudge._backends.mistral import _connection

    url = "http://127.0.0.1:9"
    first = Judge("mistral:m", server_url=url, api_key="lru-key-0").backend.call_limit
    keep = Judge("mistral:m", server_url=url, api_key="lru-key-keep").backend.call_limit
    for i in range(1, _connection._MAX_LIMITS + 40):
        Judge("mistral:m", server_url=url, api_key=f"lru-key-{i}")
        if i % 50 == 0:  # in use now and then: stays among the recent ones
            assert (
                Judge("mistral:m", server_url=url, api_key="lru-key-keep").backend.call_limit
                is keep
            )
    assert len(_connection._LIMITS) == _connection._MAX_LIMITS
    assert Judge("mistral:m", server_url=url, api_key="lru-key-keep").backend.call_limit is keep
    # the oldest, unused since, was forgotten: a new connection on that key starts afresh
    assert Judge("mistral:m", server_url=url, api_key="lru-key-0").backend.call_limit is not first


SERVER_TPM = 300_000  # 5,000 prompt tokens/s, about 12 of these rows a second


def _token_run(tpm: float | None, key: str) -> tuple[MistralFakeServer, list, float]:  # type: ignore[type-arg]
    """60 long rows from two judges on one key at once, against a server with a token limit."""
    chaos = Chaos(tpm=SERVER_TPM, retry_after=0.02)
    with MistralFakeServer(latency_s=0.002, validate=False, chaos=chaos) as server:
        options = {"server_url": server.url, "api_key": key}
        budgeted = quick(Judge("mistral:open-mistral-7b", tpm=tpm, **options))  # type: ignore[arg-type]
        sharing = quick(Judge("mistral:open-mistral-7b", **options))  # type: ignore[arg-type]
        pairs = [(DOC * 8, summary) for _, summary in rows(60)]

        async def both() -> list:  # type: ignore[type-arg]
            first, second = await asyncio.gather(
                budgeted.ascore_many(pairs[:30], concurrency=16),
                sharing.ascore_many(pairs[30:], concurrency=16),
            )
            return [*first, *second]

        started = time.monotonic()
        verdicts = asyncio.run(both())
        elapsed = time.monotonic() - started
    return server, verdicts, elapsed


def test_a_token_budget_keeps_two_judges_under_the_servers_tpm() -> None:
    # Without a budget the same load runs into the server's token limit ...
    server, verdicts, _ = _token_run(None, "tpm-control-key")
    assert server.chaos_counts.get("429_tokens", 0) > 0
    assert all(v.scored for v in verdicts)  # (the adaptive limit and retries still save rows)
    # ... with one, shared by a judge that set it and one that did not, it never does.
    server, verdicts, elapsed = _token_run(SERVER_TPM, "tpm-budget-key")
    assert server.chaos_counts.get("429_tokens", 0) == 0
    assert len(verdicts) == 60 and all(v.scored for v in verdicts)
    assert len(server.chat_requests) == 60  # no request wasted
    # It spends the budget, not much less: one second's worth at once, then 5,000 tokens/s.
    rate = SERVER_TPM / 60
    paced = (server.tokens_admitted - rate) / rate
    assert 0.9 * paced <= elapsed <= 1.6 * paced + 0.5, (elapsed, paced)
