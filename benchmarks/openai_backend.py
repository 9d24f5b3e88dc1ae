"""Throughput and client CPU of the OpenAI-compatible backend against the local vLLM-shaped fake.

Run from the repo root:  python benchmarks/openai_backend.py

The fake runs in a separate process so the client's CPU time is measured alone. Printed:
requests/s with N calls in flight against a server that takes L seconds per call, as a share of
the ideal N / L, for the default pool and for a 10-connection pool; and client CPU per call for
``Judge.ascore`` vs a bare ``httpx.AsyncClient`` POST of the same body.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.openai_server import FakeOpenAIServer
from hallujudge._backends._openai import OpenAIBackend
from hallujudge._judge import Judge

MODEL = "org/model-ft"
DOC = "The council voted on Tuesday to close the Mill Street library at the end of March. " * 4
SUMMARY = "The Mill Street library will close in March."


def _serve(latency_s: float, queue: Any) -> None:
    server = FakeOpenAIServer(models=[MODEL], latency_s=latency_s).start()
    queue.put(server.url)
    while True:
        time.sleep(3600)


def start_server(latency_s: float) -> tuple[str, mp.Process]:
    queue: Any = mp.Queue()
    proc = mp.Process(target=_serve, args=(latency_s, queue), daemon=True)
    proc.start()
    return str(queue.get(timeout=30)), proc


async def throughput(url: str, in_flight: int, calls: int, **backend: Any) -> float:
    judge = Judge(OpenAIBackend(MODEL, base_url=url + "/v1", **backend))
    pairs = [(DOC, f"{SUMMARY} ({i})") for i in range(calls)]
    await judge.ascore_many(pairs[:in_flight], concurrency=in_flight)  # warm the pool
    started = time.perf_counter()
    verdicts = await judge.ascore_many(pairs, concurrency=in_flight)
    elapsed = time.perf_counter() - started
    await judge.aclose()
    assert all(v.scored for v in verdicts), [v.error for v in verdicts if not v.scored][:3]
    return calls / elapsed


def chat_body(summary: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{DOC}\n\n{summary}"}],
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 5,
        "response_format": {"type": "json_object"},
    }


async def raw_throughput(url: str, in_flight: int, calls: int) -> float:
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
    async with httpx.AsyncClient(limits=limits) as client:
        gate = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with gate:
                response = await client.post(url + "/v1/chat/completions", json=chat_body(str(i)))
                response.json()

        await asyncio.gather(*(one(i) for i in range(in_flight)))
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        return calls / (time.perf_counter() - started)


async def cpu_per_call(url: str, calls: int) -> tuple[float, float]:
    judge = Judge(f"openai:{MODEL}", base_url=url + "/v1")
    await judge.ascore(DOC, SUMMARY)
    cpu = time.process_time()
    for i in range(calls):
        assert (await judge.ascore(DOC, f"{SUMMARY} {i}")).scored
    judge_cpu = (time.process_time() - cpu) / calls
    await judge.aclose()

    body = chat_body(SUMMARY)
    async with httpx.AsyncClient() as client:
        await client.post(url + "/v1/chat/completions", json=body)
        cpu = time.process_time()
        for _ in range(calls):
            (await client.post(url + "/v1/chat/completions", json=body)).json()
        raw_cpu = (time.process_time() - cpu) / calls
    return judge_cpu, raw_cpu


def main() -> None:
    latency, in_flight, calls = 0.2, 32, 480
    ideal = in_flight / latency
    slow_url, slow_proc = start_server(latency)
    fast_url, fast_proc = start_server(0.0)
    try:
        raw = asyncio.run(raw_throughput(slow_url, in_flight, calls))
        default = asyncio.run(throughput(slow_url, in_flight, calls))
        small = asyncio.run(throughput(slow_url, in_flight, calls, max_connections=10))
        judge_cpu, raw_cpu = asyncio.run(cpu_per_call(fast_url, 300))
    finally:
        slow_proc.terminate()
        fast_proc.terminate()
    print(f"{in_flight} in flight, {latency * 1000:.0f} ms server latency, {calls} calls")
    print(f"  ideal rate                          {ideal:7.1f} req/s   1.00")
    print(f"  bare httpx.AsyncClient (pool 128)   {raw:7.1f} req/s   {raw / ideal:.2f}")
    print(f"  Judge + OpenAIBackend (pool 128)    {default:7.1f} req/s   {default / ideal:.2f}")
    print(f"  Judge + OpenAIBackend (pool 10)     {small:7.1f} req/s   {small / ideal:.2f}")
    print("client CPU per call (server in another process, zero latency, 300 calls)")
    print(f"  bare httpx.AsyncClient POST          {raw_cpu * 1000:6.2f} ms   1.00")
    print(
        f"  Judge.ascore via OpenAIBackend       {judge_cpu * 1000:6.2f} ms   "
        f"{judge_cpu / raw_cpu:.2f}"
    )


if __name__ == "__main__":
    main()
