"""Rows per second judging a Ray dataset with the local judge: one process vs 1 and 2 Ray workers.

Usage (from the project root)::

    python benchmarks/ray_local.py [--rows 10000] [--rounds 2] [--model local:gbm]
                                   [--batch-size 500]

Measured side by side in one run, on the same short synthetic pairs (the ones tests/test_ray.py
uses), interleaved round by round so that load from other work hits every variant alike:
``Judge.score_many`` in this process, then ``hallujudge.ray.judge_dataset`` with an actor
pool of 1 and 2 workers on a local ``ray.init(num_cpus=2)``; each figure is the mean over
rounds. Ray figures are reported twice: end to end (actor start-up, model load, judging,
moving the rows; what a user waits for) and "steady" (the same run minus the time until the
first batch came back, which is mostly actor start-up). ``ray.init`` itself is not counted.
Also times ``hallujudge.ray.report`` on the judged dataset.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from hallujudge import Judge  # noqa: E402
from test_ray import synthetic_rows  # noqa: E402


def one_process(rows: list[dict[str, object]], model: str) -> float:
    judge = Judge(model)
    judge.score_many([(r["document"], r["summary"]) for r in rows[:200]])  # warm
    started = time.perf_counter()
    verdicts = judge.score_many([(r["document"], r["summary"]) for r in rows])
    elapsed = time.perf_counter() - started
    assert len(verdicts) == len(rows)
    return len(rows) / elapsed


def on_ray(rows: list[dict[str, object]], model: str, workers: int, batch_size: int) -> tuple:
    import ray

    from hallujudge import ray as hj_ray

    ds = ray.data.from_items(rows, override_num_blocks=max(8, len(rows) // batch_size))
    judged = hj_ray.judge_dataset(ds, model, workers=workers, batch_size=batch_size)
    started = time.perf_counter()
    first = None
    n = 0
    for batch in judged.iter_batches(batch_format="numpy", batch_size=batch_size):
        if first is None:
            first = time.perf_counter()
            first_rows = len(batch["verdict_label"])
        n += len(batch["verdict_label"])
    done = time.perf_counter()
    assert n == len(rows), (n, len(rows))
    assert first is not None
    return n / (done - started), (n - first_rows) / (done - first)


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default="local:gbm")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    rows = [r for r in synthetic_rows(args.rows) if isinstance(r["document"], str)]
    rows = [r for r in rows if isinstance(r["summary"], str)]
    print(
        f"ray_local: {len(rows)} synthetic pairs, model {args.model}, batch {args.batch_size}; "
        f"python {platform.python_version()}, ray {ray.__version__}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        single, total, steady = [], {1: [], 2: []}, {1: [], 2: []}
        for _ in range(args.rounds):
            single.append(one_process(rows, args.model))
            for workers in (1, 2):
                t, s = on_ray(rows, args.model, workers, args.batch_size)
                total[workers].append(t)
                steady[workers].append(s)
        base = statistics.mean(single)
        print(f"  one process (score_many)   {base:8.0f} rows/s   1.00x   rounds {_fmt(single)}")
        for workers in (1, 2):
            name = f"ray, {workers} worker{'s' if workers > 1 else ' '}"
            for kind, runs in (("end to end", total[workers]), ("steady    ", steady[workers])):
                rate = statistics.mean(runs)
                print(
                    f"  {name} {kind} {rate:8.0f} rows/s   {rate / base:.2f}x   rounds {_fmt(runs)}"
                )
        from hallujudge import ray as hj_ray

        ds = ray.data.from_items(rows, override_num_blocks=8)
        judged = hj_ray.judge_dataset(ds, args.model, workers=2).materialize()
        started = time.perf_counter()
        report = hj_ray.report(judged, args.model)
        print(
            f"  report from block counts   {time.perf_counter() - started:8.2f} s for "
            f"{report.n} rows (bootstrap 1000)"
        )
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
