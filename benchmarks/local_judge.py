"""Benchmark the embedded offline judge (the default ``Judge()``) on the shared FIB / USB data.

Usage (from the project root)::

    python benchmarks/local_judge.py [--boot 1000] [--seed 0] [--model DIR] [--compare DIR]
                                     [--skip-heldout]

Prints accuracy, balanced accuracy, ROC-AUC and ECE with seeded 95% bootstrap intervals for FIB val
(all 180 rows and the notebook's first 100) and USB val, the ECE a perfectly calibrated model would
show on as many rows, pairs/second on this machine (one process and two), the training time
recorded in the model's metadata, and last the held-out FIB test-cnndm (reported only: never used
to train, tune or select). Exits 0 with a message if ../shared/data is absent.

With ``--compare DIR`` every metric line is printed for both models, one under the other (same
rows, same bootstrap seed), followed by a synthetic-fabrication check: the consistent FIB/USB val
rows against seeded perturbations of the val rows (:mod:`hallujudge._local._augment`: a changed
number, name, antonym, negation, date or pronoun, or an unrelated summary), and the number of the
10 built-in demo pairs (``hallujudge demo``; an illustration, never used for selection) judged
right.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hallujudge._demo import DEMO_EXAMPLES  # noqa: E402
from hallujudge._local._augment import augment_rows  # noqa: E402
from hallujudge._local._data import find_shared_data, load_pairs  # noqa: E402
from hallujudge._local._metrics import (  # noqa: E402
    bootstrap_ci,
    classification_metrics,
    ece_noise_floor,
)
from hallujudge._local._model import LocalModel  # noqa: E402

REFERENCES = [
    ("open-mistral-7b zero-shot", 0.63),
    ("mistral-large zero-shot", 0.78),
    ("open-mistral-7b fine-tuned on FIB", 0.79),
    ("open-mistral-7b fine-tuned on USB+FIB", 0.90),
]
Rows = list[tuple[str, str, int]]
_WORKER: LocalModel | None = None


def _report(model: LocalModel, name: str, rows: Rows, boot: int, seed: int, tag: str = "") -> None:
    probs = [p.p_consistent for p in model.predict_many([(d, s) for d, s, _ in rows])]
    y = [t for _, _, t in rows]
    m = classification_metrics(y, probs)
    ci = bootstrap_ci(y, probs, n_boot=boot, seed=seed)
    cells = [f"{name:22s}{tag} n={int(m['n']):5d}"]
    for key, label in (
        ("accuracy", "acc"),
        ("balanced_accuracy", "bal_acc"),
        ("roc_auc", "auc"),
        ("ece", "ece"),
    ):
        lo, hi = ci[key]
        cells.append(f"{label}={m[key]:.3f} [{lo:.3f},{hi:.3f}]")
    floor, floor95 = ece_noise_floor(probs, n_sim=300, seed=seed)
    cells.append(f"(ece if perfectly calibrated: {floor:.3f}, 95th pct {floor95:.3f})")
    print("  ".join(cells))


def _fabrications(
    models: list[LocalModel], tags: list[str], val: Rows, boot: int, seed: int
) -> None:
    """Synthetic fabrications of the val rows against the real consistent val rows."""
    synthetic = augment_rows(val, ratio=0.5, seed=123, positive_share=0.0)
    consistent = [r for r in val if r[2] == 1]
    rows = consistent + [r for r, _ in synthetic]
    kinds = [k for _, k in synthetic]
    print(
        f"\nsynthetic fabrications of the val rows ({len(synthetic)} perturbed, seed 123) vs the"
        f" {len(consistent)} consistent val rows; 'flagged' = share of perturbed rows with p < 0.5"
    )
    for m, tag in zip(models, tags, strict=True):
        _report(m, "val fabrications", rows, boot, seed, tag)
        probs = [p.p_consistent for p in m.predict_many([(r[0], r[1]) for r, _ in synthetic])]
        by_kind: dict[str, float] = {}
        for k in sorted(set(kinds)):
            ps = [p for p, kk in zip(probs, kinds, strict=True) if kk == k]
            by_kind[k] = sum(p < 0.5 for p in ps) / len(ps)
        flagged = "  ".join(f"{k} {v:.2f}" for k, v in by_kind.items())
        print(f"  flagged{tag}: all {sum(p < 0.5 for p in probs) / len(probs):.2f}  {flagged}")
    for m, tag in zip(models, tags, strict=True):
        demo = m.predict_many([(e.document, e.summary) for e in DEMO_EXAMPLES])
        right = sum(
            (p.p_consistent >= 0.5) == (e.label == 1)
            for p, e in zip(demo, DEMO_EXAMPLES, strict=True)
        )
        print(f"demo pairs (hallujudge demo; illustration only){tag}: {right}/10 right")


def _init_worker(path: str) -> None:
    global _WORKER
    _WORKER = LocalModel.load(path)


def _score(chunk: list[tuple[str, str]]) -> int:
    assert _WORKER is not None
    return len(_WORKER.predict_many(chunk))


def _speed(model: LocalModel, pairs: list[tuple[str, str]]) -> None:
    model.predict_many(pairs[:200])  # warm caches
    t0 = time.perf_counter()
    model.predict_many(pairs)
    one = len(pairs) / (time.perf_counter() - t0)
    chunks = [pairs[i : i + 200] for i in range(0, len(pairs), 200)]
    with mp.get_context("fork").Pool(2, _init_worker, (str(model.path),)) as pool:
        pool.map(_score, chunks[:2])  # load + warm both workers
        t0 = time.perf_counter()
        done = sum(pool.map(_score, chunks))
        two = done / (time.perf_counter() - t0)
    print(f"speed: {one:,.0f} pairs/s in one process, {two:,.0f} pairs/s in two processes")
    print(f"       ({len(pairs)} FIB+USB val pairs; machine load average {os.getloadavg()[0]:.1f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="model dir (default: the shipped one)")
    ap.add_argument("--compare", type=Path, default=None, help="a second model dir, side by side")
    ap.add_argument(
        "--skip-heldout", action="store_true", help="do not score fib/test-cnndm (while developing)"
    )
    args = ap.parse_args(argv)
    data = find_shared_data(ROOT)
    if data is None:
        print("SKIP: ../shared/data not found; nothing to benchmark.")
        return 0

    model = LocalModel.load(args.model)
    models = [model] + ([LocalModel.load(args.compare)] if args.compare else [])
    tags = [f" [{i}]" for i in ("A", "B")] if args.compare else [""]
    fib_val = load_pairs(data / "fib" / "val.jsonl")
    usb_val = load_pairs(data / "usb" / "val.jsonl")
    for m, tag in zip(models, tags, strict=False):
        print(f"model{tag} {m.version} ({m.path})")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs. Accuracy, balanced accuracy and"
        " ROC-AUC are the same whichever class is positive; ECE is over p(consistent), 10 bins."
    )
    print(f"bootstrap: {args.boot} resamples, seed {args.seed}, 95% percentile intervals\n")
    sets = [("FIB val (all 180)", fib_val), ("FIB val (first 100)", fib_val[:100])]
    sets.append(("USB val", usb_val))
    for name, rows in sets:
        for m, tag in zip(models, tags, strict=False):
            _report(m, name, rows, args.boot, args.seed, tag)
    if args.compare:
        _fabrications(models, tags, fib_val + usb_val, args.boot, args.seed)

    print("\nreference accuracies on FIB val first 100 (reference notebook, single runs, no CIs):")
    for name, acc in REFERENCES:
        print(f"  {name:40s} {acc:.2f}")
    print()
    _speed(model, [(d, s) for d, s, _ in fib_val + usb_val])
    meta = model.metadata
    print(
        f"training time (from metadata): {meta.get('training_seconds', float('nan')):.1f}s on "
        f"{meta.get('training_data', {}).get('n_rows', '?')} rows (incl. 5-fold CV for calibration)"
    )

    test_path = data / "fib" / "test-cnndm.jsonl"
    if test_path.is_file() and not args.skip_heldout:
        rows = load_pairs(test_path)
        n_pos = sum(y for _, _, y in rows)
        print("\nheld out, out of domain (reported only; never used for training or selection):")
        for m, tag in zip(models, tags, strict=False):
            _report(m, "FIB test-cnndm", rows, args.boot, args.seed, tag)
        print(
            f"  ({n_pos} consistent / {len(rows) - n_pos} inconsistent: always answering"
            f" 'inconsistent' scores accuracy {1 - n_pos / len(rows):.3f}, balanced accuracy 0.5)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
