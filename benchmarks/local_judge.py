"""Benchmark the offline judges: the numpy GBM, the default ``Judge()``, and a word-overlap floor.

Usage (from the project root, with ``../shared/data`` present)::

    nice python benchmarks/local_judge.py [--boot 1000] [--seed 0] [--model DIR] [--skip-heldout]
    python benchmarks/local_judge.py --speed-only   # only the pairs/s line (about 20 s)

For each judge: balanced accuracy (threshold 0.5) and ROC-AUC with seeded 95% bootstrap intervals
on ``ood/dev`` per part (the 12 parts of the data README) and macro-averaged over the parts (the
macro interval resamples every part at once); FIB val (all 180 rows and the notebook's first 100)
and USB val; the shipped minimal pairs per category; and last the held-out FIB test-cnndm
(reported only: never used to train, tune or select). Then pairs/second of the numpy judge in one
process and in two (2 cores), and its training time from the model's metadata. The point
estimates are computed by ``hallujudge._local._suites``, the module that also writes them into the
model's ``metadata.json``, so the two agree. Intervals use ``hallujudge._metrics``.

Judges: ``numpy`` = the shipped GBM (``Judge("local:gbm")``'s model, or ``--model DIR``);
``default`` = whatever ``Judge()`` resolves to here (the shipped GBM: printed once, not twice,
when it is the model above; a custom ``--model`` is scored beside it); ``word-overlap`` = the
share of the summary's content words found in the document (zero parameters). The neural rows
are in ``benchmarks/local_neural.py``. Exits 0 with a message if ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hallujudge import Judge  # noqa: E402
from hallujudge._local._data import find_shared_data  # noqa: E402
from hallujudge._local._model import LocalModel  # noqa: E402
from hallujudge._local._pairs import MINIMAL_PAIR_CATEGORIES, load_minimal_pairs  # noqa: E402
from hallujudge._local._suites import load_rows, ood_part  # noqa: E402
from hallujudge._local._text import STOPWORDS, word_tokens  # noqa: E402
from hallujudge._metrics import (  # noqa: E402
    bootstrap_classification,
    bootstrap_scores,
    classification_from_counts,
    roc_auc,
)

Score = Callable[[Sequence[tuple[str, str]]], list[float]]
_WORKER: LocalModel | None = None


def word_overlap(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Share of the summary's content words that occur in the document (the floor)."""
    out = []
    for doc, summ in pairs:
        words = [w for w in word_tokens(summ) if w not in STOPWORDS]
        have = set(word_tokens(doc))
        out.append(sum(w in have for w in words) / len(words) if words else 0.5)
    return out


def _bal_auc(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    pred = p < 0.5  # judged inconsistent
    pos = y == 0
    tp, fp = np.sum(pred & pos), np.sum(pred & ~pos)
    fn, tn = np.sum(~pred & pos), np.sum(~pred & ~pos)
    bal = float(classification_from_counts(tp, fp, fn, tn)["balanced_accuracy"])
    return bal, roc_auc(pos, 1.0 - p)


def _ci(lo_hi: tuple[float | None, float | None]) -> str:
    lo, hi = lo_hi
    return "[  n/a,  n/a]" if lo is None or hi is None else f"[{lo:.3f},{hi:.3f}]"


def _line(name: str, y: np.ndarray, p: np.ndarray, boot: int, seed: int) -> tuple[float, float]:
    bal, auc = _bal_auc(y, p)
    pos = y == 0
    pred = np.where(p < 0.5, 1, 0)
    ci_bal = bootstrap_classification(pos, pred, n_boot=boot, seed=seed)["scored"]
    ci_auc = bootstrap_scores(pos, p, n_boot=boot, seed=seed)["roc_auc"]
    print(
        f"  {name:24s} n={y.size:5d}  bal_acc={bal:.3f} {_ci(ci_bal['balanced_accuracy'])}"
        f"  auc={auc:.3f} {_ci(ci_auc)}"
    )
    return bal, auc


def _macro(parts: dict[str, tuple[np.ndarray, np.ndarray]], boot: int, seed: int) -> None:
    """Macro means over the parts, with an interval from resampling every part at once."""
    rng = np.random.default_rng(seed)
    point = [_bal_auc(y, p) for y, p in parts.values()]
    samples = []
    for _ in range(boot):
        vals = []
        for y, p in parts.values():
            idx = rng.integers(0, y.size, y.size)
            vals.append(_bal_auc(y[idx], p[idx]))
        samples.append(np.nanmean(np.array(vals), axis=0))
    s = np.array(samples)
    lo, hi = np.nanpercentile(s, 2.5, axis=0), np.nanpercentile(s, 97.5, axis=0)
    bal, auc = np.mean([b for b, _ in point]), np.nanmean([a for _, a in point])
    print(
        f"  {'MACRO (12 parts)':24s}          bal_acc={bal:.3f} [{lo[0]:.3f},{hi[0]:.3f}]"
        f"  auc={auc:.3f} [{lo[1]:.3f},{hi[1]:.3f}]  min part auc={min(a for _, a in point):.3f}"
    )


def _evaluate(name: str, score: Score, data: Path, args: argparse.Namespace) -> None:
    print(f"\n== {name} ==")
    dev = load_rows(data / "ood" / "dev.jsonl")
    t0 = time.perf_counter()
    probs = np.asarray(score([(r["premise"], r["hypothesis"]) for r in dev]), dtype=np.float64)
    print(f"ood/dev ({len(dev)} rows scored in {time.perf_counter() - t0:.1f}s)")
    y = np.array([int(r["target"]) for r in dev])
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for part in sorted({ood_part(r["source"]) for r in dev}):
        idx = np.array([ood_part(r["source"]) == part for r in dev])
        parts[part] = (y[idx], probs[idx])
        _line(part, y[idx], probs[idx], args.boot, args.seed)
    _macro(parts, args.boot, args.seed)
    print("selection / training-distribution splits:")
    for label, rel, head in (
        ("FIB val (all 180)", "fib/val.jsonl", None),
        ("FIB val (first 100)", "fib/val.jsonl", 100),
        ("USB val", "usb/val.jsonl", None),
    ):
        rows = load_rows(data / rel)[:head]
        p = np.asarray(score([(r["premise"], r["hypothesis"]) for r in rows]))
        yy = np.array([int(r["target"]) for r in rows])
        _line(label, yy, p, args.boot, args.seed)
        print(f"  {'':24s} accuracy={float(np.mean((p >= 0.5) == (yy == 1))):.3f}")
    pairs = load_minimal_pairs()
    p = score([(x.premise, x.hypothesis) for x in pairs])
    cells = []
    for cat in MINIMAL_PAIR_CATEGORIES:
        right = [(pp >= 0.5) == (x.target == 1) for x, pp in zip(pairs, p, strict=True)
                 if x.category == cat]  # fmt: skip
        cells.append(f"{cat} {sum(right)}/{len(right)}")
    print("minimal pairs (right/total): " + ", ".join(cells))
    test = data / "fib" / "test-cnndm.jsonl"
    if test.is_file() and not args.skip_heldout:
        rows = load_rows(test)
        p = np.asarray(score([(r["premise"], r["hypothesis"]) for r in rows]))
        print("held out (reported only; never used for training or selection):")
        _line("FIB test-cnndm", np.array([int(r["target"]) for r in rows]), p, args.boot, args.seed)


def _init_worker(path: str) -> None:
    global _WORKER
    _WORKER = LocalModel.load(path)


def _count(chunk: list[tuple[str, str]]) -> int:
    assert _WORKER is not None
    return len(_WORKER.predict_many(chunk))


def _speed(model: LocalModel, pairs: list[tuple[str, str]]) -> None:
    model.predict_many(pairs[:200])  # warm caches
    t0 = time.perf_counter()
    model.predict_many(pairs)
    one = len(pairs) / (time.perf_counter() - t0)
    # What a base install's Judge() runs: pair by pair through the Judge (first pass over pairs
    # it has not seen, so its document-index memo holds only what the pairs share).
    judge = Judge(f"local:{model.path}")
    judge.score_many(pairs[-200:])
    t0 = time.perf_counter()
    judge.score_many(pairs[:-200])
    via_judge = (len(pairs) - 200) / (time.perf_counter() - t0)
    judge.close()
    chunks = [pairs[i : i + 200] for i in range(0, len(pairs), 200)]
    with mp.get_context("fork").Pool(2, _init_worker, (str(model.path),)) as pool:
        pool.map(_count, chunks[:2])
        t0 = time.perf_counter()
        done = sum(pool.map(_count, chunks))
        two = done / (time.perf_counter() - t0)
    print(
        f"\nspeed (numpy judge, claim-level as shipped): {one:,.0f} pairs/s in one process,"
        f" {two:,.0f} pairs/s in two processes ({len(pairs)} FIB+USB val pairs; load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); through"
        f" Judge('local:gbm').score_many (defaults), one process: {via_judge:,.0f} pairs/s"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=None, help="numpy model dir (default: shipped)")
    ap.add_argument("--skip-heldout", action="store_true", help="do not score fib/test-cnndm")
    ap.add_argument("--speed-only", action="store_true", help="only the pairs/s line")
    args = ap.parse_args(argv)
    data = find_shared_data(ROOT)
    if data is None or not (data / "ood" / "dev.jsonl").is_file():
        print("SKIP: ../shared/data (with ood/dev.jsonl) not found; nothing to benchmark.")
        return 0
    model = LocalModel.load(args.model)
    if args.speed_only:
        val = load_rows(data / "fib" / "val.jsonl") + load_rows(data / "usb" / "val.jsonl")
        _speed(model, [(r["premise"], r["hypothesis"]) for r in val])
        return 0
    default = Judge()
    meta: dict[str, Any] = model.metadata
    print(f"numpy judge: {model.version} ({model.path})")
    print(f"default Judge() resolves to: {default.model}")
    print(
        f"python {sys.version.split()[0]}; bootstrap {args.boot} resamples, seed {args.seed}, 95%"
        " percentile intervals; balanced accuracy and ROC-AUC do not depend on which class is"
        " called positive"
    )

    def numpy_score(pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [p.p_consistent for p in model.predict_many(pairs)]

    def judge_score(pairs: Sequence[tuple[str, str]]) -> list[float]:
        verdicts = default.score_many(list(pairs), concurrency=8)
        return [0.5 if v.score is None else v.score for v in verdicts]

    _evaluate("numpy GBM (Judge('local:gbm'))", numpy_score, data, args)
    if args.model is None and default.model.endswith(model.version):
        print(f"\n== default Judge() == the numpy GBM above ({default.model})")
    else:
        _evaluate(f"default Judge() ({default.model})", judge_score, data, args)
    _evaluate("word-overlap floor (zero parameters)", word_overlap, data, args)
    val = load_rows(data / "fib" / "val.jsonl") + load_rows(data / "usb" / "val.jsonl")
    _speed(model, [(r["premise"], r["hypothesis"]) for r in val])
    print(
        f"training time (from metadata): {meta.get('training_seconds', float('nan')):.0f}s for"
        f" {meta.get('training_data', {}).get('n_rows', '?')} real rows +"
        f" {meta.get('augmentation', {}).get('n_rows', '?')} synthetic (incl. the CV for"
        " calibration)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
