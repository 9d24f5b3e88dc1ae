"""CPU overhead per judgment and async throughput of the Mistral backend, against the local fake.

Run from the repo root:  python benchmarks/overhead.py [--calls 300] [--throughput-calls 480]

The fake Mistral API (tests/fakes/mistral_server.py) runs in separate processes, so
``time.process_time()`` counts only the client. Printed, all rows of a block from the same run:

1. client CPU per judgment with a zero-latency server: ``Judge(FakeBackend)`` (no I/O at all:
   the library's own cost, sync ``score`` and async ``ascore_many``), the bare SDK call
   (``chat.complete`` and ``chat.complete_async``), and ``Judge("mistral:...")`` through our
   backend (SDK + our overhead) with both transports (``sdk``: the SDK's methods; ``http``: one
   POST on the SDK's HTTP client), with ratios to the bare SDK call;
2. throughput with 32 calls in flight against a server that takes 200 ms per call, as a share of
   the ideal rate 32 / 0.2 s = 160/s: ``Judge("mistral:...").ascore_many`` (both transports, and
   a pool as small as the SDK's default keep-alive pool), the bare SDK
   ``complete_async`` with its default connection pool, and a bare ``httpx.AsyncClient``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from mistralai.client import Mistral  # noqa: E402

from fakes.mistral_server import Chaos, MistralFakeServer  # noqa: E402
from hallujudge._backends._fake import FakeBackend  # noqa: E402
from hallujudge._backends.mistral import MistralBackend  # noqa: E402
from hallujudge._judge import Judge  # noqa: E402
from hallujudge._prompts import get_prompt  # noqa: E402
from hallujudge._types import Example  # noqa: E402

MODEL = "open-mistral-7b"
KEY = "bench-key"
DOC = "The council voted on Tuesday to close the Mill Street library at the end of March. " * 4
SUMMARY = "The Mill Street library will close in March."
ANSWER = '{"consistency": 1, "reason": "supported by the document"}'
IN_FLIGHT = 32
LATENCY_S = 0.2


def _serve(latency_s: float, queue: Any, chaos: Chaos | None = None) -> None:
    server = MistralFakeServer(latency_s=latency_s, validate=False, chaos=chaos).start()
    queue.put(server.url)
    while True:
        time.sleep(3600)


def start_server(latency_s: float, chaos: Chaos | None = None) -> tuple[str, mp.Process]:
    queue: Any = mp.Queue()
    proc = mp.Process(target=_serve, args=(latency_s, queue, chaos), daemon=True)
    proc.start()
    return str(queue.get(timeout=30)), proc


def messages() -> list[dict[str, str]]:
    return [dict(m) for m in get_prompt("zero-shot").render(Example(document=DOC, summary=SUMMARY))]


def cpu_ms(fn: Callable[[], Any], calls: int) -> float:
    """Client CPU per call in ms (after one warm-up call)."""
    fn()
    started = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - started) / calls * 1000


def cpu_ms_async(make: Callable[[], Any], calls: int) -> float:
    """CPU per item of an async batch of ``calls`` (``make()`` returns the coroutine)."""
    started = time.process_time()
    asyncio.run(make())
    return (time.process_time() - started) / calls * 1000


def overhead_block(url: str, calls: int) -> list[tuple[str, float]]:
    pairs = [(DOC, f"{SUMMARY} ({i})") for i in range(calls)]
    fake = Judge(FakeBackend(default=ANSWER))
    rows = [("Judge(FakeBackend).score, no I/O", cpu_ms(lambda: fake.score(DOC, SUMMARY), calls))]

    async def fake_many() -> None:
        await fake.ascore_many(pairs, concurrency=16)

    fake.score(DOC, SUMMARY)
    rows.append(("Judge(FakeBackend).ascore_many, no I/O", cpu_ms_async(fake_many, calls)))

    sdk = Mistral(api_key=KEY, server_url=url)
    body = {
        "model": MODEL,
        "messages": messages(),
        "temperature": 0.0,
        "random_seed": 0,
        "response_format": {"type": "json_object"},
    }
    rows.append(("bare SDK chat.complete (sync)", cpu_ms(lambda: sdk.chat.complete(**body), calls)))

    async def sdk_async() -> None:
        client = Mistral(api_key=KEY, server_url=url)
        await client.chat.complete_async(**body)  # warm the connection
        for _ in range(calls):
            await client.chat.complete_async(**body)

    rows.append(("bare SDK chat.complete_async, sequential", cpu_ms_async(sdk_async, calls + 1)))

    for transport in ("sdk", "http"):
        judge = Judge(MistralBackend(MODEL, api_key=KEY, server_url=url, transport=transport))
        rows.append(
            (
                f"Judge('mistral:...', transport={transport!r}).score",
                cpu_ms(lambda judge=judge: judge.score(DOC, SUMMARY), calls),
            )
        )

        async def judge_many(transport: str = transport) -> None:
            judge = Judge(MistralBackend(MODEL, api_key=KEY, server_url=url, transport=transport))
            await judge.ascore(DOC, SUMMARY)
            verdicts = await judge.ascore_many(pairs, concurrency=16)
            assert all(v.scored for v in verdicts), [v.error for v in verdicts][:3]
            await judge.aclose()

        rows.append(
            (
                f"Judge('mistral:...', transport={transport!r}).ascore_many",
                cpu_ms_async(judge_many, calls + 1),
            )
        )
    return rows


async def rate_judge(url: str, calls: int, **options: Any) -> float:
    judge = Judge(MistralBackend(MODEL, api_key=KEY, server_url=url, **options))
    return await _judge_rate(judge, calls)


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
    import tempfile

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


def defaults_block(n: int) -> None:
    """Bare httpx, bare SDK, weave.Evaluation, Judge and Evaluator on defaults: one fake."""
    url, proc = start_server(LATENCY_S)
    ideal = IN_FLIGHT / LATENCY_S
    try:
        results = [
            ("bare httpx.AsyncClient (pool 64)", asyncio.run(rate_httpx(url, n))),
            ("bare SDK complete_async, default pool", asyncio.run(rate_sdk(url, n))),
            ("weave.Evaluation, predict = bare SDK call", asyncio.run(rate_weave(url, n))),
            ("Judge('mistral:...').ascore_many", asyncio.run(rate_default_judge(url, n))),
            ("Evaluator(...).arun(Judge)", asyncio.run(rate_default_evaluator(url, n))),
        ]
    finally:
        proc.terminate()
    bare = results[0][1]
    print(f"defaults, {IN_FLIGHT} in flight, {LATENCY_S * 1000:.0f} ms, {n} rows, one fake")
    print(f"  {'':50s} {'rows/s':>8s}  {'of ideal':>8s}  {'of httpx':>8s}")
    for name, rate in results:
        print(f"  {name:50s} {rate:8.1f}  {rate / ideal:8.2f}  {rate / bare:8.2f}")


def storm_block(n: int, max_in_flight: int) -> None:
    """The 429 storm: 429 past ``max_in_flight``, 503 to 10% of first attempts."""
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
        f"(Retry-After 1 s), 503 to 10% of first attempts, {LATENCY_S * 1000:.0f} ms"
    )
    print(
        f"  Judge defaults: {n / elapsed:.1f} rows/s = {n / elapsed / limit:.2f} of the server's "
        f"limit ({limit:.0f}/s); unscored {unscored}; requests {stats['requests']} = "
        f"{stats['requests'] / n:.2f} per row, {stats['requests'] / minimum:.2f}x the minimum "
        f"({minimum}); 429s {stats['429']}, 503s {stats['503']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300, help="calls per CPU row")
    parser.add_argument("--throughput-calls", type=int, default=480)
    parser.add_argument("--rows", type=int, default=512, help="rows of the defaults block")
    parser.add_argument("--storm-rows", type=int, default=1000)
    parser.add_argument(
        "--only", choices=["overhead", "defaults", "storm"], help="run one block (default: all)"
    )
    args = parser.parse_args()
    os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    if args.only in (None, "defaults"):
        defaults_block(args.rows)
    if args.only in (None, "storm"):
        storm_block(args.storm_rows, 8)
        storm_block(max(50, args.storm_rows // 10), 1)  # 1 in flight: 5 rows/s at best
    if args.only not in (None, "overhead"):
        return

    url, proc = start_server(0.0)
    try:
        rows = overhead_block(url, args.calls)
    finally:
        proc.terminate()
    table = dict(rows)
    sdk_sync = table["bare SDK chat.complete (sync)"]
    sdk_async = table["bare SDK chat.complete_async, sequential"]
    print(f"client CPU per judgment (server in another process, zero latency, {args.calls} calls)")
    for name, ms in rows:
        print(f"  {name:50s} {ms:6.2f} ms   {ms / sdk_sync:5.2f}x SDK")
    no_io = table["Judge(FakeBackend).score, no I/O"]
    print(f"  the Judge's own CPU (no I/O): {no_io:.2f} ms per judgment")
    for transport in ("sdk", "http"):
        ms = table[f"Judge('mistral:...', transport={transport!r}).score"]
        print(
            f"  transport={transport!r}: Judge.score minus bare SDK complete_async "
            f"{ms - sdk_async:+.2f} ms, minus bare SDK complete {ms - sdk_sync:+.2f} ms"
        )

    url, proc = start_server(LATENCY_S)
    n = args.throughput_calls
    ideal = IN_FLIGHT / LATENCY_S
    try:
        results = [
            ("ideal rate", ideal),
            ("Judge transport='sdk', pool 64 (default)", asyncio.run(rate_judge(url, n))),
            (
                "Judge transport='sdk', pool 20 (SDK's keep-alive)",
                asyncio.run(rate_judge(url, n, max_connections=20)),
            ),
            ("Judge transport='http', pool 64", asyncio.run(rate_judge(url, n, transport="http"))),
            ("bare SDK complete_async, default pool", asyncio.run(rate_sdk(url, n))),
            ("bare httpx.AsyncClient (pool 64)", asyncio.run(rate_httpx(url, n))),
        ]
    finally:
        proc.terminate()
    print(f"{IN_FLIGHT} in flight, {LATENCY_S * 1000:.0f} ms server latency, {n} calls")
    for name, rate in results:
        print(f"  {name:50s} {rate:6.1f} req/s   {rate / ideal:4.2f}")


if __name__ == "__main__":
    main()
