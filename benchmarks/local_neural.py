"""GBM alone vs neural alone vs ensemble, side by side in one run (needs ``hallujudge[neural]``).

Usage (from the project root, with ``../shared/data`` present)::

    python benchmarks/local_neural.py            # ~10-20 min on 2 busy cores
    python benchmarks/local_neural.py --threads 2 --boot 1000 --no-ood

Speed: the onnxruntime paths (int8, the shipped setting, and fp32) against the old torch path
(the same merged network in torch fp32, batches of 32, needs ``hallujudge[neural-train]``), in
one run on the same inputs: FIB val pairs as they come, and 100 synthetic inputs of exactly 256
word pieces. Accuracy: ``ood/dev`` per part (the data README's 12 parts) and macro-averaged over
parts (balanced accuracy at 0.5 and ROC-AUC, 95% bootstrap intervals resampling within each
part), the minimal-pairs suite per category, then the val and held-out tables below.

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
from hallujudge._local._metrics import bootstrap_ci, classification_metrics, roc_auc  # noqa: E402
from hallujudge._local._neural import NeuralModel, encode_pairs  # noqa: E402
from hallujudge._local._pairs import load_minimal_pairs  # noqa: E402
from hallujudge._local._suites import ood_part  # noqa: E402

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


def _balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    pred = p >= 0.5
    return float(np.mean([np.mean(pred[y == 1]), np.mean(~pred[y == 0])]))


def _ood_tables(preds: dict[str, np.ndarray], y: np.ndarray, parts: np.ndarray, boot: int) -> None:
    names = sorted(set(parts.tolist()))
    print(f"\n### ood/dev per part (n={len(y)}; balanced accuracy / ROC-AUC, 95% CI)\n")
    print("| part | n | " + " | ".join(preds) + " |")
    print("|---|---|" + "---|" * len(preds))
    rng = np.random.default_rng(0)
    idx = {n: np.flatnonzero(parts == n) for n in names}
    macro: dict[str, list[tuple[float, float]]] = {m: [] for m in preds}
    for _ in range(boot):
        draw = {n: rng.choice(i, i.size) for n, i in idx.items()}
        for m, p in preds.items():
            ba = np.mean([_balanced_accuracy(y[d], p[d]) for d in draw.values()])
            auc = np.nanmean([roc_auc(y[d], p[d]) for d in draw.values()])
            macro[m].append((float(ba), float(auc)))
    for n in names:
        i = idx[n]
        cells = []
        for p in preds.values():
            ci = bootstrap_ci(y[i], p[i], n_boot=boot, seed=0)
            lo_b, hi_b = ci["balanced_accuracy"]
            lo_a, hi_a = ci["roc_auc"]
            cells.append(
                f"{_balanced_accuracy(y[i], p[i]):.3f} [{lo_b:.2f}, {hi_b:.2f}] / "
                f"{roc_auc(y[i], p[i]):.3f} [{lo_a:.2f}, {hi_a:.2f}]"
            )
        print(f"| {n} | {i.size} | " + " | ".join(cells) + " |")
    cells = []
    for m, p in preds.items():
        ba = np.mean([_balanced_accuracy(y[i], p[i]) for i in idx.values()])
        auc = np.mean([roc_auc(y[i], p[i]) for i in idx.values()])
        s = np.asarray(macro[m])
        b_lo, b_hi = np.percentile(s[:, 0], [2.5, 97.5])
        a_lo, a_hi = np.percentile(s[:, 1], [2.5, 97.5])
        worst = min(names, key=lambda n: roc_auc(y[idx[n]], p[idx[n]]))
        cells.append(
            f"**{ba:.3f}** [{b_lo:.3f}, {b_hi:.3f}] / **{auc:.3f}** [{a_lo:.3f}, {a_hi:.3f}]"
            f" (lowest AUC: {worst} {roc_auc(y[idx[worst]], p[idx[worst]]):.3f})"
        )
    print(f"| **macro over {len(names)} parts** | {len(y)} | " + " | ".join(cells) + " |")


def _minimal_pairs_table(models: dict[str, Any]) -> None:
    rows = load_minimal_pairs()
    pairs = [(r.premise, r.hypothesis) for r in rows]
    y = np.array([r.target for r in rows])
    cats = sorted({r.category for r in rows})
    right = {m: (fn(pairs) >= 0.5) == (y == 1) for m, fn in models.items()}
    print(f"\n### Minimal pairs (n={len(rows)}): share right per category\n")
    print("| category | n | " + " | ".join(models) + " |")
    print("|---|---|" + "---|" * len(models))
    cat = np.array([r.category for r in rows])
    for c in cats:
        k = cat == c
        print(
            f"| {c} | {k.sum()} | " + " | ".join(f"{right[m][k].mean():.2f}" for m in models) + " |"
        )
    print(f"| all | {len(rows)} | " + " | ".join(f"{right[m].mean():.2f}" for m in models) + " |")


def _one_pair_on_threads(nn: NeuralModel, threads: int) -> Any:
    """The previous runtime: one pair at a time, spread over ``threads`` intra-op threads."""
    import onnxruntime

    from hallujudge._local._neural import base_model_path
    from hallujudge._local._neural_cache import onnx_model

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    model = onnx_model(nn.path, nn.metadata, base_model_path(), True)
    source = str(model) if isinstance(model, Path) else model
    sess = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return lambda xs: [sess.run(None, {"input_ids": np.asarray([x], dtype=np.int64)}) for x in xs]


def _speed_table(
    nn: NeuralModel, pairs: list[tuple[str, str]], threads: int, rounds: int = 3
) -> None:
    """Torch (old path) vs onnxruntime fp32 vs int8, same inputs, one run."""
    ids = encode_pairs(nn.tokenizer, pairs, nn.max_length)
    rng = np.random.default_rng(0)
    fixed = [
        [nn.tokenizer.cls_token_id, *rng.integers(1000, 29000, 255).tolist()] for _ in range(100)
    ]
    runners: dict[str, Any] = {}
    for name, int8 in (
        (f"onnxruntime int8 (default: {threads} pairs at once)", True),
        (f"onnxruntime fp32 ({threads} pairs at once)", False),
    ):
        runners[name] = NeuralModel.load(nn.path, quantize=int8, threads=threads).logits_from_ids
    runners[f"onnxruntime int8, one pair on {threads} threads (before)"] = _one_pair_on_threads(
        nn, threads
    )
    try:
        import torch

        from hallujudge._local._neural import torch_reference

        torch.set_num_threads(threads)
        net = torch_reference(nn.path)

        def run_torch(xs: list[list[int]]) -> None:
            order = sorted(range(len(xs)), key=lambda i: len(xs[i]))
            with torch.inference_mode():
                for a in range(0, len(order), 32):
                    idx = order[a : a + 32]
                    width = max(len(xs[i]) for i in idx)
                    x = torch.zeros((len(idx), width), dtype=torch.long)
                    mask = torch.zeros_like(x)
                    for r, i in enumerate(idx):
                        x[r, : len(xs[i])] = torch.tensor(xs[i])
                        mask[r, : len(xs[i])] = 1
                    net(x, mask)

        runners["torch fp32 (old path, batch 32)"] = run_torch
    except ImportError:
        print("(torch not installed: no torch row)")
    # Interleaved rounds (each runtime once per round), best round each: on shared cores the
    # load changes from second to second, and this keeps the ratios side by side.
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for fn in runners.values():
        fn(ids[:4])  # warm-up
    for _ in range(rounds):
        for name, fn in runners.items():
            rates[name].append((_rate(fn, ids), _rate(fn, fixed)))
    print(
        f"\n### Neural network only, pairs/s ({threads} threads; tokenisation excluded; "
        f"best of {rounds} interleaved rounds, median in brackets)\n"
    )
    print(
        "| runtime | FIB val (180, real lengths) | 100 x 256 word pieces | ratio to torch (256) |"
    )
    print("|---|---|---|---|")
    torch_256 = max((r[1] for r in rates.get("torch fp32 (old path, batch 32)", [])), default=0.0)
    for name, rs in rates.items():
        a, b = np.array(rs).T
        ratio = f"{b.max() / torch_256:.1f}x" if torch_256 else "-"
        print(
            f"| {name} | {a.max():.0f} ({np.median(a):.0f}) | {b.max():.0f} ({np.median(b):.0f}) "
            f"| {ratio} |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--no-ood", action="store_true", help="skip ood/dev (the slowest table)")
    ap.add_argument("--speed-only", action="store_true", help="only the throughput table")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved speed rounds")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    data = args.data or find_shared_data(ROOT)
    if data is None:
        print("shared data not found (expected ../shared/data)", file=sys.stderr)
        return 1

    t0 = time.perf_counter()
    nn = NeuralModel.load(threads=args.threads)
    print(f"neural first load (build or cache read): {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    ens = EnsembleModel.load(neural_path=nn.path)
    ens.neural = nn
    gbm = ens.gbm
    print(
        f"GBM {gbm.version}; neural {nn.version} (second load from the cache "
        f"{time.perf_counter() - t0:.1f}s, onnxruntime threads {args.threads}, int8 "
        f"{nn.quantized}, max_length {nn.max_length}); training "
        f"{nn.metadata.get('training_seconds')}s"
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
    _speed_table(nn, [(p, h) for p, h, _ in fib_val], args.threads, args.rounds)
    if args.speed_only:
        return 0

    def p_neural(pairs: list[tuple[str, str]]) -> np.ndarray:
        return nn.predict_many(pairs)

    def p_ensemble(pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.array([x.p_consistent for x in ens.predict_many(pairs)])

    def p_gbm(pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.array([x.p_consistent for x in gbm.predict_many(pairs)])

    _minimal_pairs_table({"GBM": p_gbm, "neural": p_neural, "ensemble": p_ensemble})
    ood = data / "ood" / "dev.jsonl"
    if ood.is_file() and not args.no_ood:
        import json

        recs = [json.loads(line) for line in ood.read_text(encoding="utf-8").splitlines()]
        y_ood, p_ood = score([(r["premise"], r["hypothesis"], int(r["target"])) for r in recs])
        parts = np.array([ood_part(r["source"]) for r in recs])
        _ood_tables(p_ood, y_ood, parts, min(args.boot, 200))
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
