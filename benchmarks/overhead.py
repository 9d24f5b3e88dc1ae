"""CPU overhead per judgment and async throughput of the Mistral backend, against the local fake.

Run from the repo root:  python benchmarks/overhead.py [--calls 300] [--throughput-calls 480]
(``--only defaults`` / ``--only storm``: the blocks of :mod:`mistral_defaults`, shared with
``benchmarks/evaluator.py``: every runner on its defaults side by side, and the 429 storm).

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
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mistral_defaults import (
    DOC,
    IN_FLIGHT,
    KEY,
    LATENCY_S,
    MODEL,
    SUMMARY,
    _judge_rate,
    compare_defaults,
    messages,
    rate_httpx,
    rate_sdk,
    start_server,
    storm,
)
from mistralai.client import Mistral

from hallujudge._backends._fake import FakeBackend
from hallujudge._backends.mistral import MistralBackend
from hallujudge._judge import Judge

ANSWER = '{"consistency": 1, "reason": "supported by the document"}'


async def rate_judge(url: str, calls: int, **options: Any) -> float:
    judge = Judge(MistralBackend(MODEL, api_key=KEY, server_url=url, **options))
    return await _judge_rate(judge, calls)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=300, help="calls per CPU row")
    parser.add_argument("--throughput-calls", type=int, default=480)
    parser.add_argument("--rows", type=int, default=512, help="rows of the defaults block")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of defaults")
    parser.add_argument("--storm-rows", type=int, default=1000)
    parser.add_argument(
        "--only", choices=["overhead", "defaults", "storm"], help="run one block (default: all)"
    )
    args = parser.parse_args()
    os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    if args.only in (None, "defaults"):
        compare_defaults(args.rows, args.rounds)
    if args.only in (None, "storm"):
        storm(args.storm_rows, 8)
        storm(max(50, args.storm_rows // 10), 1)  # 1 in flight: 5 rows/s at best
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
