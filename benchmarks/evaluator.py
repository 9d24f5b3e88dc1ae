"""Evaluator throughput, cached re-run and memory, side by side with weave.Evaluation.

Run (one command, offline, about a minute on 2 cores):

    HF_HUB_OFFLINE=1 WANDB_ERROR_REPORTING=false python benchmarks/evaluator.py

1. Throughput: 1,000 rows, a fake backend with a fixed 200 ms latency, concurrency 32.
   Ideal = 32 / 0.2 s = 160 rows/s. hallujudge's Evaluator (real Judge: prompt rendering,
   parsing, SQLite cache, bootstrap CIs included in the wall time) and weave.Evaluation (a
   weave.Model whose async predict sleeps 200 ms, one scorer, WEAVE_PARALLELISM=32, no
   weave.init) in the same process, same machine, one after the other.
2. Cached re-run: the same evaluation again; wall time as a share of the first run.
   Both runners are warmed up on 64 rows first; timed rounds alternate (hallujudge, weave).
3. The Mistral path on defaults (``--mistral-rows``, 0 skips it): bare httpx, bare SDK,
   weave.Evaluation, the Judge and the Evaluator side by side on one fake Mistral server in a
   separate process, interleaved rounds (``benchmarks/mistral_defaults.py``, shared with
   ``benchmarks/overhead.py --only defaults``).
4. Peak memory: 100,000 synthetic rows, zero-latency fake judge, cache on, in a fresh
   subprocess; ru_maxrss of that process, and of an identical process that only builds the
   dataset (the baseline the evaluation adds to).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("WEAVE_PARALLELISM", "32")
os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LATENCY_S = 0.2
CONCURRENCY = 32
IDEAL = CONCURRENCY / LATENCY_S


def make_rows(n: int) -> list:
    from hallujudge import Example

    text = (
        "The committee met on Tuesday and approved the new budget after a long debate about "
        "school funding, road repairs and the library's opening hours. "
    )
    return [
        Example(
            document=f"{text} Row {i}. " * 2,
            summary=f"The committee approved the budget (row {i}).",
            label=i % 2,
            id=f"r{i}",
        )
        for i in range(n)
    ]


def run_hallujudge(n: int, cache: Path) -> tuple[float, float, float]:
    from hallujudge import FakeBackend, Judge
    from hallujudge._evaluator import Evaluator

    rows = make_rows(n)
    judge = Judge(FakeBackend(latency_s=LATENCY_S))
    t0, c0 = time.perf_counter(), time.process_time()
    report = Evaluator(rows, concurrency=CONCURRENCY, cache=cache, progress=False).run(judge)
    first, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert report.n == n
    assert report.run["n_called"] == n
    t0 = time.perf_counter()
    again = Evaluator(rows, concurrency=CONCURRENCY, cache=cache, progress=False).run(judge)
    second = time.perf_counter() - t0
    assert again.run["n_cached"] == n
    return first, second, cpu


def run_weave(n: int) -> tuple[float, float]:
    import weave

    class SleepyJudge(weave.Model):  # type: ignore[misc]
        @weave.op
        async def predict(self, document: str, summary: str) -> dict:
            await asyncio.sleep(LATENCY_S)
            return {"label": 1}

    @weave.op
    def correct(label: int, output: dict) -> dict:
        return {"correct": output["label"] == label}

    rows = [{"document": e.document, "summary": e.summary, "label": e.label} for e in make_rows(n)]
    evaluation = weave.Evaluation(dataset=rows, scorers=[correct])
    t0, c0 = time.perf_counter(), time.process_time()
    result = asyncio.run(evaluation.evaluate(SleepyJudge()))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result["correct"]["correct"]["true_count"] == n // 2
    return elapsed, cpu


_MEMORY_CHILD = """
import os, resource, sys, tempfile, time
sys.path.insert(0, {bench_dir!r})
from evaluator import make_rows
rows = make_rows({n})
if {evaluate}:
    from hallujudge import FunctionBackend, Judge
    from hallujudge._evaluator import Evaluator
    # FunctionBackend, not FakeBackend: FakeBackend keeps every request for tests to inspect.
    judge = Judge(FunctionBackend(lambda request: '{{"consistency": 1}}', name="fast-fake"))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = Evaluator(rows, cache=os.path.join(tmp, "c.sqlite"), progress=False).run(judge)
        elapsed = time.perf_counter() - t0
        assert report.n == {n} and report.n_scored == {n}
        print("elapsed", elapsed)
print("maxrss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory(n: int, evaluate: bool) -> tuple[float, float | None]:
    code = _MEMORY_CHILD.format(bench_dir=str(Path(__file__).parent), n=n, evaluate=evaluate)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    values = dict(
        line.split() for line in out.splitlines() if line.split()[0] in ("elapsed", "maxrss_kb")
    )
    elapsed = float(values["elapsed"]) if "elapsed" in values else None
    return int(values["maxrss_kb"]) / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds")
    parser.add_argument("--memory-rows", type=int, default=100_000)
    parser.add_argument("--mistral-rows", type=int, default=512, help="0: skip that block")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    # Warm both up (imports, first-call costs) outside the timed rounds.
    with tempfile.TemporaryDirectory() as tmp:
        run_hallujudge(64, Path(tmp) / "warm.sqlite")
    run_weave(64)
    ours: list[float] = []
    theirs: list[float] = []
    cached: list[float] = []
    cpu_ours: list[float] = []
    cpu_theirs: list[float] = []
    print(f"\n{args.rows} rows, fake latency {LATENCY_S * 1000:.0f} ms, concurrency {CONCURRENCY}")
    print(f"ideal: {IDEAL:.0f} rows/s ({args.rows / IDEAL:.2f} s)")
    print("| round | hallujudge s | ratio to ideal | CPU s | weave.Evaluation s | ratio | CPU s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            first, second, cpu = run_hallujudge(args.rows, Path(tmp) / "cache.sqlite")
        weave_s, weave_cpu = run_weave(args.rows)
        ours.append(first)
        theirs.append(weave_s)
        cached.append(second)
        cpu_ours.append(cpu)
        cpu_theirs.append(weave_cpu)
        print(
            f"| {k + 1} | {first:.2f} | {args.rows / first / IDEAL:.3f} | {cpu:.2f} | "
            f"{weave_s:.2f} | {args.rows / weave_s / IDEAL:.3f} | {weave_cpu:.2f} |"
        )
    med_ours = statistics.median(ours)
    med_theirs = statistics.median(theirs)
    print(
        f"| median | {med_ours:.2f} | {args.rows / med_ours / IDEAL:.3f} | "
        f"{statistics.median(cpu_ours):.2f} | {med_theirs:.2f} | "
        f"{args.rows / med_theirs / IDEAL:.3f} | {statistics.median(cpu_theirs):.2f} |"
    )
    print(f"hallujudge / weave throughput (medians): {med_theirs / med_ours:.3f}x")
    med_cached = statistics.median(cached)
    print(
        f"\ncached re-run (median): {med_cached:.3f} s = {med_cached / med_ours:.4f} of the first "
        f"run ({med_ours / med_cached:.0f}x faster), 0 model calls"
    )
    if args.mistral_rows:
        sys.path.insert(0, str(Path(__file__).parent))
        from mistral_defaults import compare_defaults

        print()
        compare_defaults(args.mistral_rows, args.rounds)
    base_mb, _ = peak_memory(args.memory_rows, evaluate=False)
    peak_mb, elapsed = peak_memory(args.memory_rows, evaluate=True)
    print(
        f"\npeak memory, {args.memory_rows} rows, zero-latency fake judge, cache on: "
        f"{peak_mb:.0f} MB max RSS (dataset alone: {base_mb:.0f} MB; evaluation adds "
        f"{peak_mb - base_mb:.0f} MB); {elapsed:.1f} s, {args.memory_rows / (elapsed or 1):.0f} "
        "rows/s"
    )
    print("goals: >= 0.9 of ideal and ahead of weave.Evaluation; peak memory < 500 MB")


if __name__ == "__main__":
    main()
