"""Overhead of hallujudge's Weave instrumentation when nobody called ``weave.init``.

Usage (from the project root)::

    python benchmarks/tracing_overhead.py [--n 2000] [--rounds 15] [--traced]

Measures the cost of one judgment (``await judge.ascore(doc, summary)``) on a zero-latency
``FakeBackend`` (render, call, parse: the cheapest judgment there is, so the overhead is at its
largest relative share) in three configurations, interleaved round by round in one process:

* ``plain``: every tracing wrapper peeled off (``functools.wraps`` keeps ``__wrapped__``);
* ``instrumented``: the shipped code, ``weave`` not imported;
* ``instrumented+weave``: the shipped code after ``import weave`` but without ``weave.init``.

Times are CPU time of the benchmark thread (a busy machine's other processes do not count),
median and best of the rounds, with ratios to ``plain`` (goal: under 1.05). It also times the
wrappers alone (one traced no-op function against the bare one) for a noise-free estimate.
With ``--traced`` it also times judgments while a Weave client is initialised against the local
fake trace server (tests/fakes/weave_server.py), for scale; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hallujudge import FakeBackend, Judge, _tracing  # noqa: E402

DOC = "The city council approved the new budget on Tuesday by a vote of seven to two."
SUMMARY = "The council approved the budget on Tuesday."


@contextmanager
def uninstrumented() -> Iterator[None]:
    """Swap every traced function for the function it wraps, then restore."""
    saved = {name: getattr(_tracing, name) for name in ("render", "parse", "complete")}
    ajudge = Judge.ajudge
    try:
        for name, fn in saved.items():
            setattr(_tracing, name, fn.__wrapped__)  # type: ignore[attr-defined]
        Judge.ajudge = ajudge.__wrapped__  # type: ignore[attr-defined,method-assign]
        yield
    finally:
        for name, fn in saved.items():
            setattr(_tracing, name, fn)
        Judge.ajudge = ajudge  # type: ignore[method-assign]


async def _per_judgment_us(judge: Judge, n: int) -> float:
    # CPU time of this thread: other processes on a busy machine do not count against us.
    started = time.thread_time()
    for _ in range(n):
        await judge.ascore(DOC, SUMMARY)
    return (time.thread_time() - started) / n * 1e6


def _time(judge: Judge, n: int, plain: bool) -> float:
    async def go() -> float:
        if plain:
            with uninstrumented():
                return await _per_judgment_us(judge, n)
        return await _per_judgment_us(judge, n)

    return asyncio.run(go())


def _compare(judge: Judge, n: int, rounds: int, label: str) -> tuple[float, float]:
    plain: list[float] = []
    inst: list[float] = []
    _time(judge, n // 4, plain=False)  # warm-up
    for i in range(rounds):  # interleave, alternating which goes first
        order: list[tuple[list[float], bool]] = [(plain, True), (inst, False)]
        for bucket, is_plain in order if i % 2 == 0 else reversed(order):
            bucket.append(_time(judge, n, plain=is_plain))
    p, q = statistics.median(plain), statistics.median(inst)
    pm, qm = min(plain), min(inst)
    print(
        f"  {label:26s} median: plain {p:6.1f} us, instrumented {q:6.1f} us, ratio {q / p:.3f}"
        f" | best: {pm:6.1f} vs {qm:6.1f} us, ratio {qm / pm:.3f}"
    )
    return p, q


def _traced(judge: Judge, n: int) -> float:
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes.weave_server import FakeWeaveServer

    with FakeWeaveServer() as server:
        os.environ.update(server.env())
        import weave
        import weave.trace.init_message as init_message

        # weave.init asks pypi.org for a newer version: not wanted in a benchmark
        init_message._print_version_check = lambda: None  # type: ignore[attr-defined]
        client = weave.init("bench/tracing-overhead")
        try:
            us = _time(judge, n, plain=False)
            client.flush()
        finally:
            weave.finish()
    return us


def _wrapper_ns(calls: int = 200_000) -> tuple[float, float]:
    """Nanoseconds one traced sync / async wrapper adds to a call, tracing off."""

    def f(x: int) -> int:
        return x

    async def g(x: int) -> int:
        return x

    tf = _tracing.traced("bench.sync")(f)
    tg = _tracing.traced("bench.async")(g)

    def per_call(fn: Callable[[int], object]) -> float:
        started = time.thread_time()
        for i in range(calls):
            fn(i)
        return (time.thread_time() - started) / calls * 1e9

    async def per_await(fn: Callable[[int], Awaitable[int]]) -> float:
        started = time.thread_time()
        for i in range(calls):
            await fn(i)
        return (time.thread_time() - started) / calls * 1e9

    sync_cost = min(per_call(tf) for _ in range(5)) - min(per_call(f) for _ in range(5))
    async_cost = min(asyncio.run(per_await(tg)) for _ in range(5)) - min(
        asyncio.run(per_await(g)) for _ in range(5)
    )
    return sync_cost, async_cost


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="judgments per timing")
    ap.add_argument("--rounds", type=int, default=30, help="interleaved timings per config")
    ap.add_argument("--traced", action="store_true", help="also time with weave.init (fake)")
    args = ap.parse_args(argv)
    os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    judge = Judge(FakeBackend(name="fake"))
    check: Callable[[], bool] = _tracing.is_tracing
    print(f"tracing_overhead: {args.n} judgments x {args.rounds} rounds, zero-latency FakeBackend")
    print(f"  python {sys.version.split()[0]}, weave imported: {'weave' in sys.modules}")
    _, a = _compare(judge, args.n, args.rounds, "weave not imported")
    assert "weave" not in sys.modules
    import weave  # noqa: F401 - the point: imported, not initialised

    assert not check()
    p2, b = _compare(judge, args.n, args.rounds, "weave imported, no init")
    sync_ns, async_ns = _wrapper_ns()
    # One judgment passes 2 async wrappers (Judge.score, backend.complete) and 2 sync ones
    # (prompt.render, prompt.parse).
    direct = 2 * sync_ns + 2 * async_ns
    print(
        f"  wrapper cost, weave imported: sync {sync_ns:.0f} ns, async {async_ns:.0f} ns; "
        f"4 per judgment = {direct / 1000:.2f} us = {direct / 1000 / p2:.1%} of a plain judgment"
    )
    if args.traced:
        t = _traced(judge, max(200, args.n // 10))
        print(f"  {'weave.init (fake server)':28s} traced {t:8.1f} us   ratio {t / p2:.1f}")
    del a, b
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
