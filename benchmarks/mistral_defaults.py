"""The Mistral path on DEFAULT settings, side by side on one fake, and the 429 storm.

Shared by ``benchmarks/overhead.py`` and ``benchmarks/evaluator.py`` (one implementation of
each runner). The fake Mistral API (``tests/fakes/mistral_server.py``) runs in a separate
process; every runner sends the same rows to the same fake, 32 in flight, 200 ms per answer:

* bare ``httpx.AsyncClient`` (pool 64) and the bare SDK ``chat.complete_async`` (its default
  pool) with an ``asyncio.Semaphore(32)``;
* ``weave.Evaluation`` of a ``weave.Model`` whose predict is one bare SDK call
  (``WEAVE_PARALLELISM=32``, no ``weave.init``);
* ``Judge("mistral:...").ascore_many`` and ``Evaluator(...).arun(judge)`` (SQLite cache and
  bootstrap intervals included), both on their defaults.

Timed rounds are interleaved (each round runs every runner once, the order rotating from round
to round) and the table shows medians with the range, so a load spike from other processes
hits all runners alike instead of whichever ran at that moment.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from mistralai.client import Mistral  # noqa: E402

from fakes.mistral_server import Chaos, MistralFakeServer  # noqa: E402
from hallujudge._judge import Judge  # noqa: E402
from hallujudge._prompts import get_prompt  # noqa: E402
from hallujudge._types import Example  # noqa: E402

MODEL = "open-mistral-7b"
KEY = "bench-key"
DOC = "The council voted on Tuesday to close the Mill Street library at the end of March. " * 4
SUMMARY = "The Mill Street library will close in March."
IN_FLIGHT = 32
LATENCY_S = 0.2


def _serve(latency_s: float, queue: Any, chaos: Chaos | None = None) -> None:
    server = MistralFakeServer(latency_s=latency_s, validate=False, chaos=chaos).start()
    queue.put(server.url)
    while True:
        time.sleep(3600)


def start_server(latency_s: float, chaos: Chaos | None = None) -> tuple[str, mp.Process]:
    """The fake in its own process; returns its URL and the process."""
    queue: Any = mp.Queue()
    proc = mp.Process(target=_serve, args=(latency_s, queue, chaos), daemon=True)
    proc.start()
    return str(queue.get(timeout=30)), proc


def messages() -> list[dict[str, str]]:
    return [dict(m) for m in get_prompt("zero-shot").render(Example(document=DOC, summary=SUMMARY))]


async def _judge_rate(judge: Judge, calls: int) -> float:
    """Pairs/s of ``judge`` on ``calls`` distinct pairs, 32 in flight, after warming its pool."""
    pairs = [(DOC, f"{SUMMARY} ({i})") for i in range(calls)]
    await judge.ascore_many(pairs[:IN_FLIGHT], concurrency=IN_FLIGHT)  # warm the pool
    started = time.perf_counter()
    verdicts = await judge.ascore_many(pairs, concurrency=IN_FLIGHT)
    elapsed = time.perf_counter() - started
    await judge.aclose()
    assert all(v.scored for v in verdicts), [v.error for v in verdicts if not v.scored][:3]
    return calls / elapsed


async def _bounded(calls: int, one: Callable[[], Any]) -> float:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def run() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(run() for _ in range(IN_FLIGHT)))  # warm the pool
    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(calls)))
    return calls / (time.perf_counter() - started)


async def rate_sdk(url: str, calls: int) -> float:
    client = Mistral(api_key=KEY, server_url=url)  # the SDK's default pool
    body = {"model": MODEL, "messages": messages(), "temperature": 0.0, "random_seed": 0}
    return await _bounded(calls, lambda: client.chat.complete_async(**body))


async def rate_httpx(url: str, calls: int) -> float:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        body = {"model": MODEL, "messages": messages(), "temperature": 0.0, "random_seed": 0}

        async def one() -> None:
            response = await client.post(
                "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
            )
            response.json()

        return await _bounded(calls, one)


def fake_stats(url: str) -> dict[str, int]:
    return dict(httpx.get(f"{url}/_fake/stats").json())


async def rate_default_judge(url: str, calls: int) -> float:
    """``Judge("mistral:...")`` on its defaults (transport, pool, limits), 32 pairs in flight."""
    judge = Judge(f"mistral:{MODEL}", api_key=KEY, server_url=url)
    return await _judge_rate(judge, calls)


async def rate_default_evaluator(url: str, calls: int) -> float:
    """``Evaluator(rows, concurrency=32).arun(Judge("mistral:..."))``, cache and CIs included."""
    from hallujudge._evaluator import Evaluator

    judge = Judge(f"mistral:{MODEL}", api_key=KEY, server_url=url)
    rows = [Example(document=DOC, summary=f"{SUMMARY} [{i}]", label=1) for i in range(calls)]
    warm = [Example(document=DOC, summary=f"{SUMMARY} <{i}>", label=1) for i in range(IN_FLIGHT)]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache.sqlite"
        await Evaluator(warm, concurrency=IN_FLIGHT, cache=cache, progress=False).arun(judge)
        started = time.perf_counter()
        report = await Evaluator(rows, concurrency=IN_FLIGHT, cache=cache, progress=False).arun(
            judge
        )
        elapsed = time.perf_counter() - started
    await judge.aclose()
    assert report.n_scored == calls, report.n_scored
    return calls / elapsed


async def rate_weave(url: str, calls: int) -> float:
    """``weave.Evaluation`` of a ``weave.Model`` whose predict is one bare SDK call."""
    os.environ.setdefault("WEAVE_PARALLELISM", str(IN_FLIGHT))
    import weave

    client = Mistral(api_key=KEY, server_url=url)
    body = {"model": MODEL, "temperature": 0.0, "random_seed": 0}

    class SdkJudge(weave.Model):  # type: ignore[misc]
        @weave.op
        async def predict(self, document: str, summary: str) -> dict[str, Any]:
            msgs = [
                dict(m)
                for m in get_prompt("zero-shot").render(Example(document=document, summary=summary))
            ]
            answer = await client.chat.complete_async(messages=msgs, **body)
            return {"text": answer.choices[0].message.content}

    @weave.op
    def answered(output: dict[str, Any]) -> dict[str, bool]:
        return {"ok": bool(output["text"])}

    rows = [{"document": DOC, "summary": f"{SUMMARY} {{{i}}}"} for i in range(calls)]
    evaluation = weave.Evaluation(dataset=rows, scorers=[answered])
    started = time.perf_counter()
    result = await evaluation.evaluate(SdkJudge())
    elapsed = time.perf_counter() - started
    assert result["answered"]["ok"]["true_count"] == calls, result
    return calls / elapsed


RUNNERS: list[tuple[str, Callable[[str, int], Awaitable[float]]]] = [
    ("bare httpx.AsyncClient (pool 64)", rate_httpx),
    ("bare SDK complete_async, default pool", rate_sdk),
    ("weave.Evaluation, predict = bare SDK call", rate_weave),
    ("Judge('mistral:...').ascore_many, defaults", rate_default_judge),
    ("Evaluator(...).arun(Judge), defaults", rate_default_evaluator),
]


def compare_defaults(n: int, rounds: int) -> dict[str, list[float]]:
    """Every runner on one fake, ``rounds`` interleaved rounds; prints the table.

    Returns:
        Rows/s per runner, one per round.
    """
    url, proc = start_server(LATENCY_S)
    rates: dict[str, list[float]] = {name: [] for name, _ in RUNNERS}
    try:
        asyncio.run(rate_weave(url, IN_FLIGHT))  # weave's first evaluation sets itself up
        for k in range(rounds):
            shift = k % len(RUNNERS)
            for name, runner in RUNNERS[shift:] + RUNNERS[:shift]:
                rates[name].append(asyncio.run(runner(url, n)))
    finally:
        proc.terminate()
    _print_defaults(rates, n, rounds)
    return rates


def _print_defaults(rates: dict[str, list[float]], n: int, rounds: int) -> None:
    ideal = IN_FLIGHT / LATENCY_S
    bare = statistics.median(rates[RUNNERS[0][0]])
    print(
        f"defaults, {IN_FLIGHT} in flight, {LATENCY_S * 1000:.0f} ms, {n} rows, one fake, "
        f"{rounds} interleaved rounds (median, range); load {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'':46s} {'rows/s':>7s} {'(min-max)':>13s}  {'of ideal':>8s}  {'of httpx':>8s}")
    for name, values in rates.items():
        mid = statistics.median(values)
        span = f"({min(values):.0f}-{max(values):.0f})"
        print(f"  {name:46s} {mid:7.1f} {span:>13s}  {mid / ideal:8.2f}  {mid / bare:8.2f}")


def storm(n: int, max_in_flight: int) -> None:
    """The 429 storm: 429 past ``max_in_flight`` (Retry-After 1 s), 503 to 10% of first tries."""
    chaos = Chaos(max_in_flight=max_in_flight, retry_after=1.0, error_rate=0.1)
    url, proc = start_server(LATENCY_S, chaos)
    limit = max_in_flight / LATENCY_S
    try:
        pairs = [(DOC, f"{SUMMARY} ({i})") for i in range(n)]
        judge = Judge(f"mistral:{MODEL}", api_key=KEY, server_url=url)
        started = time.perf_counter()
        verdicts = judge.score_many(pairs, concurrency=IN_FLIGHT)
        elapsed = time.perf_counter() - started
        judge.close()
        stats = fake_stats(url)
    finally:
        proc.terminate()
    unscored = sum(not v.scored for v in verdicts)
    minimum = n + stats["503"]
    print(
        f"429 storm: {n} rows, concurrency {IN_FLIGHT}, 429 past {max_in_flight} in flight "
        f"(Retry-After 1 s), 503 to 10% of first attempts, {LATENCY_S * 1000:.0f} ms; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  Judge defaults: {n / elapsed:.1f} rows/s = {n / elapsed / limit:.2f} of the server's "
        f"limit ({limit:.0f}/s); {len(verdicts)} verdicts, unscored {unscored}; requests "
        f"{stats['requests']} = {stats['requests'] / n:.2f} per row, "
        f"{stats['requests'] / minimum:.2f}x the minimum ({minimum}); 429s {stats['429']}, "
        f"503s {stats['503']}"
    )
