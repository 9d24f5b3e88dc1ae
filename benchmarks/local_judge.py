"""Benchmark the embedded offline judge (the default ``Judge()``) on the shared FIB / USB data.

Usage (from the project root)::

    python benchmarks/local_judge.py [--boot 1000] [--seed 0]

Prints accuracy, balanced accuracy, ROC-AUC and ECE with seeded 95% bootstrap intervals for FIB val
(all 180 rows and the notebook's first 100), USB val, then the held-out FIB test-cnndm (reported
only: never used to train, tune or select). Also prints pairs/second on this machine and the
training time recorded in the model's metadata. Exits 0 with a message if ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hallujudge._local._data import find_shared_data, load_pairs  # noqa: E402
from hallujudge._local._metrics import bootstrap_ci, classification_metrics  # noqa: E402
from hallujudge._local._model import LocalModel  # noqa: E402

REFERENCES = [
    ("open-mistral-7b zero-shot", 0.63),
    ("mistral-large zero-shot", 0.78),
    ("open-mistral-7b fine-tuned on FIB", 0.79),
    ("open-mistral-7b fine-tuned on USB+FIB", 0.90),
]


def _fmt(name: str, m: dict[str, float], ci: dict[str, tuple[float, float]]) -> str:
    cells = [f"{name:24s} n={int(m['n']):5d}"]
    for k, label in (
        ("accuracy", "acc"),
        ("balanced_accuracy", "bal_acc"),
        ("roc_auc", "auc"),
        ("ece", "ece"),
    ):
        lo, hi = ci[k]
        cells.append(f"{label}={m[k]:.3f} [{lo:.3f},{hi:.3f}]")
    return "  ".join(cells)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model dir (default: the shipped one)")
    ap.add_argument(
        "--skip-heldout", action="store_true", help="do not score fib/test-cnndm (while developing)"
    )
    args = ap.parse_args(argv)
    data = find_shared_data(ROOT)
    if data is None:
        print("SKIP: ../shared/data not found; nothing to benchmark.")
        return 0

    model = LocalModel.load(args.model)
    fib_val = load_pairs(data / "fib" / "val.jsonl")
    usb_val = load_pairs(data / "usb" / "val.jsonl")
    test_path = data / "fib" / "test-cnndm.jsonl"
    print(f"model {model.version} ({model.path})")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; positive class for metrics: any "
        "(accuracy, balanced accuracy, ROC-AUC are symmetric); ECE over p(consistent), 10 bins"
    )
    print(f"bootstrap: {args.boot} resamples, seed {args.seed}, 95% percentile intervals\n")

    sets = [
        ("FIB val (all 180)", fib_val),
        ("FIB val (first 100)", fib_val[:100]),
        ("USB val", usb_val),
    ]
    total_pairs = 0
    total_time = 0.0
    for name, rows in sets:
        t0 = time.perf_counter()
        probs = [p.p_consistent for p in model.predict_many([(d, s) for d, s, _ in rows])]
        total_time += time.perf_counter() - t0
        total_pairs += len(rows)
        y = [t for _, _, t in rows]
        print(
            _fmt(
                name,
                classification_metrics(y, probs),
                bootstrap_ci(y, probs, n_boot=args.boot, seed=args.seed),
            )
        )

    print("\nreference accuracies on FIB val first 100 (reference notebook, single runs, no CIs):")
    for name, acc in REFERENCES:
        print(f"  {name:40s} {acc:.2f}")

    # Throughput: one process, one thread; the whole USB+FIB val set once more (warm caches).
    pairs = [(d, s) for d, s, _ in fib_val + usb_val]
    t0 = time.perf_counter()
    model.predict_many(pairs)
    dt = time.perf_counter() - t0
    print(
        f"\nspeed: {len(pairs) / dt:,.0f} pairs/s (one process, {len(pairs)} pairs in {dt:.2f}s; "
        f"first pass {total_pairs / total_time:,.0f} pairs/s)"
    )
    print(
        f"training time (metadata): {model.metadata.get('training_seconds', float('nan')):.1f}s "
        f"on {model.metadata.get('training_data', {}).get('n_rows', '?')} rows"
    )

    if test_path.is_file() and not args.skip_heldout:
        rows = load_pairs(test_path)
        probs = [p.p_consistent for p in model.predict_many([(d, s) for d, s, _ in rows])]
        y = [t for _, _, t in rows]
        print("\nheld out, out of domain (reported only; never used for training or selection):")
        print(
            _fmt(
                "FIB test-cnndm",
                classification_metrics(y, probs),
                bootstrap_ci(y, probs, n_boot=args.boot, seed=args.seed),
            )
        )
        print(
            f"  (class balance: {sum(y)} consistent / {len(y) - sum(y)} inconsistent; "
            f"always-inconsistent accuracy = {1 - sum(y) / len(y):.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
