"""Rebuild the shipped offline judge (``src/hallujudge/_local/default``) from the train splits.

Usage (from the project root, with ``../shared/data`` present)::

    nice python scripts/build_default_model.py           # writes src/hallujudge/_local/default/
    python scripts/build_default_model.py --out /tmp/m --seed 1 --n-bags 1   # a quick variant

Trains on ``fib/train.jsonl`` + ``usb/train.jsonl`` + ``ood/train.jsonl`` (each file weighted so
no source drowns the others) plus synthetic pairs made from those same training rows
(``hallujudge._local._augment``: consistent copies, compressions, fusions and generalisations of
document sentences; names, numbers and dates swapped within the document, absent names, antonyms,
negations, reversed roles, appended claims and sentences of similar documents). Calibration is
fitted on out-of-fold logits of the real training rows. The recipe (weights, synthetic share) was
selected on FIB val, USB val and ``ood/dev`` (``hallujudge._local._suites``), which are scored once
for ``metadata.json``; ``fib/test-cnndm.jsonl`` is never read here. Needs numpy only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hallujudge._local._data import find_shared_data, load_pairs  # noqa: E402
from hallujudge._local._features import FEATURE_NAMES  # noqa: E402
from hallujudge._local._gbm import GBMParams  # noqa: E402
from hallujudge._local._model import DEFAULT_MODEL_DIR, METADATA_FILE, LocalModel  # noqa: E402
from hallujudge._local._suites import suites  # noqa: E402
from hallujudge._local._train import train_local_model  # noqa: E402

# Selected on FIB val / USB val / ood dev (see docs/benchmarks.md, local judge section).
WEIGHTS = {"fib/train.jsonl": 3.0, "usb/train.jsonl": 0.5, "ood/train.jsonl": 1.0}
PARAMS = GBMParams(n_trees=300, learning_rate=0.05, max_depth=3, min_leaf=20.0, l2=1.0)
AUGMENT, AUGMENT_WEIGHT, N_BAGS = 1.0, 0.5, 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=None, help="shared data dir (../shared/data)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-bags", type=int, default=N_BAGS)
    ap.add_argument("--n-trees", type=int, default=PARAMS.n_trees)
    ap.add_argument("--augment", type=float, default=AUGMENT, help="synthetic rows per real row")
    ap.add_argument("--augment-weight", type=float, default=AUGMENT_WEIGHT)
    ap.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="FILE=W",
        help="override a training file's weight, e.g. ood/train.jsonl=2",
    )
    ap.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="FEATURE",
        help="leave a feature out (an ablation), e.g. --drop log_doc_tokens",
    )
    args = ap.parse_args(argv)
    data = args.data or find_shared_data(ROOT)
    if data is None or not (data / "fib" / "train.jsonl").is_file():
        print("shared data not found (expected ../shared/data); nothing built", file=sys.stderr)
        return 1
    weights_by_file = dict(WEIGHTS)
    for item in args.weight:
        name, _, value = item.partition("=")
        weights_by_file[name] = float(value)

    train: list[tuple[str, str, int]] = []
    weights: list[float] = []
    sources: dict[str, int] = {}
    for rel, w in weights_by_file.items():
        if w > 0 and (data / rel).is_file():
            rows = load_pairs(data / rel)
            train += rows
            weights += [w] * len(rows)
            sources[rel] = len(rows)
    t0 = time.perf_counter()
    params = GBMParams(**{**PARAMS.__dict__, "n_trees": args.n_trees})
    meta = train_local_model(
        train,
        args.out,
        seed=args.seed,
        params=params,
        sample_weight=weights,
        augment=args.augment,
        augment_weight=args.augment_weight,
        n_bags=args.n_bags,
        features=[n for n in FEATURE_NAMES if n not in args.drop] if args.drop else None,
    )
    print(f"trained on {len(train)} rows in {time.perf_counter() - t0:.1f}s -> {args.out}")

    model = LocalModel.load(args.out)
    meta["metrics"].update(
        suites(lambda pairs: [p.p_consistent for p in model.predict_many(pairs)], data)
    )
    meta["training_data"]["sources"] = {"rows": sources, "weights": weights_by_file}
    meta["files"] = {
        p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.name != METADATA_FILE
    }
    (args.out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    m = meta["metrics"]
    for name in ("fib_val_all", "fib_val_first100", "usb_val"):
        r = m[name]
        print(f"{name:18s} n={r['n']:5d} acc={r['accuracy']:.3f} auc={r['roc_auc']:.3f}")
    if "ood_dev" in m:
        for part, r in m["ood_dev"].items():
            if part != "macro":
                print(f"  {part:22s} bal_acc={r['balanced_accuracy']:.3f} auc={r['roc_auc']:.3f}")
        r = m["ood_dev"]["macro"]
        print(
            f"ood/dev macro bal_acc={r['balanced_accuracy']:.3f} auc={r['roc_auc']:.3f}"
            f" min part auc={r['min_roc_auc']:.3f}"
        )
    cats = m["minimal_pairs"]
    print("minimal pairs: " + " ".join(f"{c}={v:.2f}" for c, v in cats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
