"""GBM alone vs neural alone vs ensemble, side by side in one run (needs ``hallujudge[neural]``).

Usage (from the project root, with ``../shared/data`` present)::

    python benchmarks/local_neural.py            # ~3-5 min on 2 busy cores
    python benchmarks/local_neural.py --threads 2 --boot 1000

Prints, for FIB val (all 180 rows and the first 100), USB val and finally the held-out
``fib/test-cnndm.jsonl`` (reported only: never used to train, tune or select anything): accuracy,
balanced accuracy (threshold 0.5), ROC-AUC and ECE (10 equal-width bins) with 95% percentile
bootstrap intervals, then pairs per second of each model on this machine, and whether the shipped
``metadata.json`` metrics match this run. Positive class for a hallucination detector is
"inconsistent"; accuracy, balanced accuracy and ROC-AUC are symmetric so they do not depend on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from hallujudge._local._data import find_shared_data, load_pairs  # noqa: E402
from hallujudge._local._ensemble import EnsembleModel, combine, fit_ensemble  # noqa: E402
from hallujudge._local._metrics import bootstrap_ci, classification_metrics  # noqa: E402

KEYS = ("accuracy", "balanced_accuracy", "roc_auc", "ece")


def _row(name: str, y: np.ndarray, p: np.ndarray, boot: int) -> tuple[str, dict[str, float]]:
    m = classification_metrics(y, p)
    ci = bootstrap_ci(y, p, n_boot=boot, seed=0)
    cells = [f"{m[k]:.3f} [{ci[k][0]:.3f}, {ci[k][1]:.3f}]" for k in KEYS]
    return f"| {name:<8} | " + " | ".join(cells) + " |", m


def _table(title: str, y: np.ndarray, preds: dict[str, np.ndarray], boot: int) -> dict[str, Any]:
    print(f"\n### {title} (n={len(y)})\n")
    print("| model    | accuracy | balanced acc. | ROC-AUC | ECE |")
    print("|---|---|---|---|---|")
    out = {}
    for name, p in preds.items():
        line, m = _row(name, y, p, boot)
        print(line)
        out[name] = m
    return out


def _rate(fn: Any, pairs: list[tuple[str, str]]) -> float:
    t0 = time.perf_counter()
    fn(pairs)
    return len(pairs) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--boot", type=int, default=1000)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(args.threads)
    data = args.data or find_shared_data(ROOT)
    if data is None:
        print("shared data not found (expected ../shared/data)", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    ens = EnsembleModel.load()
    gbm, nn = ens.gbm, ens.neural
    print(
        f"GBM {gbm.version}; neural {nn.version} (loaded in {time.perf_counter() - t0:.1f}s,"
        f" torch threads {torch.get_num_threads()}, int8 "
        f"{nn.metadata['architecture'].get('quantize_int8')}, max_length {nn.max_length})"
    )
    if not ens.fitted_for_gbm:
        print(
            f"WARNING: ensemble rule was fitted for GBM {ens.params.get('gbm_version')}, "
            f"loaded {gbm.version}: rebuild with scripts/build_neural_model.py"
        )

    def score(rows: list[tuple[str, str, int]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        pairs = [(p, h) for p, h, _ in rows]
        pg = np.array([x.p_consistent for x in gbm.predict_many(pairs)])
        pn = nn.predict_many(pairs)
        return np.array([t for *_, t in rows]), {
            "GBM": pg,
            "neural": pn,
            "ensemble": combine(pg, pn, ens.params),
        }

    fib_val = load_pairs(data / "fib" / "val.jsonl")
    usb_val = load_pairs(data / "usb" / "val.jsonl")
    y_fib, p_fib = score(fib_val)
    y_usb, p_usb = score(usb_val)
    print("\nSelection (epoch, calibration, ensemble weight) was done on these val splits.")
    got = {
        "fib_val_all": _table("FIB val, all rows", y_fib, p_fib, args.boot),
        "fib_val_first100": _table(
            "FIB val, first 100 rows",
            y_fib[:100],
            {k: v[:100] for k, v in p_fib.items()},
            args.boot,
        ),
        "usb_val": _table("USB val", y_usb, p_usb, args.boot),
    }

    # How much of the ensemble's val result is in-sample fitting? Refit its 3 numbers (weight, a,
    # b) on one half of FIB val's documents + USB val, score the other half, and swap.
    cross = np.zeros(len(y_fib))
    docs = sorted({p for p, _, _ in fib_val})
    half = np.array([docs.index(p) % 2 for p, _, _ in fib_val])
    for k in (0, 1):
        fit = half != k
        yy = np.concatenate([y_fib[fit], y_usb])
        ww = np.concatenate(
            [np.full(fit.sum(), 0.5 / fit.sum()), np.full(len(y_usb), 0.5 / len(y_usb))]
        )
        gg = np.concatenate([np.zeros(fit.sum()), np.ones(len(y_usb))])
        params = fit_ensemble(
            np.concatenate([p_fib["GBM"][fit], p_usb["GBM"]]),
            np.concatenate([p_fib["neural"][fit], p_usb["neural"]]),
            yy,
            ww,
            gg,
        )
        cross[~fit] = combine(p_fib["GBM"][~fit], p_fib["neural"][~fit], params)
    _table(
        "FIB val, ensemble rule cross-fitted by document halves (not in-sample)",
        y_fib,
        {"ens-cf": cross},
        args.boot,
    )

    print("\n### Throughput (pairs/s, this machine, one run each)\n")
    fib_pairs = [(p, h) for p, h, _ in fib_val]
    usb_pairs = [(p, h) for p, h, _ in usb_val[:500]]
    print("| model | FIB val (news, 180 pairs) | USB val (first 500 pairs) |")
    print("|---|---|---|")
    for name, fn in (
        ("GBM", gbm.predict_many),
        ("neural", nn.predict_many),
        ("ensemble", ens.predict_many),
    ):
        print(f"| {name} | {_rate(fn, fib_pairs):.0f} | {_rate(fn, usb_pairs):.0f} |")

    meta = nn.metadata.get("metrics", {})
    ok = True
    for model in ("neural", "ensemble"):
        for split, per in got.items():
            shipped = meta.get(model, {}).get(split, {})
            for k in KEYS:
                if k in shipped and abs(shipped[k] - per[model][k]) > 1e-3:
                    ok = False
                    print(
                        f"mismatch {model}/{split}/{k}: shipped {shipped[k]:.4f} "
                        f"now {per[model][k]:.4f}"
                    )
    print(f"\nshipped metadata metrics match this run: {ok}")

    test = data / "fib" / "test-cnndm.jsonl"
    if test.is_file():
        print("\nHeld out, reported once, never used for training or selection:")
        y_t, p_t = score(load_pairs(test))
        _table("FIB test-cnndm (held out)", y_t, p_t, args.boot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
