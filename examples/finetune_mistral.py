"""Fine-tune a small Mistral model into a hallucination judge, then compare it with the baseline.

The reference workflow ("Mistral and Weights & Biases: fine-tune an LLM judge to detect
hallucination"), without its flaws: one prompt for training and inference, temperature 0, failed
answers counted as unscored (never dropped), confidence intervals in the table.

1. baseline: open-mistral-7b, zero-shot, on the first rows of FIB val;
2. fine-tune open-mistral-7b on FIB train, evaluate;
3. fine-tune on USB + FIB train, evaluate;
4. print the comparison table.

Real API (costs money; ask for a dry-run estimate first with --estimate-only):
    MISTRAL_API_KEY=... python examples/finetune_mistral.py --training-steps 100
Offline, against the local fake Mistral API from tests/fakes (runs in seconds; the fake's answers
are not a model's, so the numbers only show that the pipeline works):
    python examples/finetune_mistral.py --offline
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hallujudge._dataset import Dataset
from hallujudge._evaluator import Evaluator
from hallujudge._finetune import FineTuner
from hallujudge._judge import Judge
from hallujudge._types import Example

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def load(args: argparse.Namespace) -> tuple[Dataset, Dataset, Dataset]:
    """FIB val (evaluation), FIB train and USB train, cut to the sizes asked for."""
    if not (DATA / "fib" / "val.jsonl").exists():
        if not args.offline:
            sys.exit(f"FIB/USB data not found in {DATA}: see ../shared/data/README.md")
        print(f"(data not found in {DATA}: using synthetic pairs)")
        return (
            synthetic(args.eval_rows, "val"),
            synthetic(args.train_rows, "fib"),
            synthetic(args.usb_rows, "usb"),
        )
    val = Dataset.from_jsonl(DATA / "fib" / "val.jsonl").head(args.eval_rows)
    fib = Dataset.from_jsonl(DATA / "fib" / "train.jsonl").head(args.train_rows)
    usb = Dataset.from_jsonl(DATA / "usb" / "train.jsonl").head(args.usb_rows)
    return val, fib, usb


def synthetic(n: int, kind: str) -> Dataset:
    rows = []
    for i in range(n // 2):
        doc = f"{kind} report {i}: the bridge in town {i} reopened after {i + 2} months of repairs."
        rows.append(Example(document=doc, summary=f"Bridge {i} reopened.", label=1))
        rows.append(Example(document=doc, summary=f"Bridge {i} was demolished.", label=0))
    return Dataset(rows, name=f"synthetic {kind}")


def fine_tune(name: str, train: Dataset, args: argparse.Namespace) -> Judge | None:
    """Estimate, then (unless --estimate-only) create, wait and return the fine-tuned judge."""
    tuner = FineTuner(f"mistral:{args.base_model}", prompt="fine-tune")
    estimate = tuner.estimate(
        train, training_steps=args.training_steps, learning_rate=args.learning_rate
    )
    print(f"[{name}] dry run: {estimate.summary()}")
    if args.estimate_only:
        return None
    job = tuner.create(
        train,
        training_steps=args.training_steps,
        learning_rate=args.learning_rate,
        suffix=name,
        wandb_project=True if os.environ.get("WANDB_PROJECT") else None,
    )
    print(f"[{name}] job {job.id} created; waiting (Ctrl-C stops waiting, not the job)")
    job.wait(timeout=args.timeout, poll=args.poll)
    job.save_lineage(args.out / f"lineage-{name}.json")
    print(f"[{name}] {job.fine_tuned_model}; lineage in {args.out / f'lineage-{name}.json'}")
    return job.judge()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="use the local fake Mistral API")
    parser.add_argument("--base-model", default="open-mistral-7b")
    parser.add_argument("--eval-rows", type=int, default=100, help="first rows of FIB val")
    parser.add_argument("--train-rows", type=int, default=820, help="FIB train rows")
    parser.add_argument("--usb-rows", type=int, default=2000, help="USB train rows in the mix")
    parser.add_argument("--training-steps", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument("--poll", type=float, default=30.0)
    parser.add_argument("--estimate-only", action="store_true", help="stop after dry runs")
    parser.add_argument("--out", type=Path, default=Path("finetune-out"))
    args = parser.parse_args(argv)

    server = None
    if args.offline:
        sys.path.insert(0, str(ROOT / "tests"))
        from fakes.mistral_server import MistralFakeServer

        server = MistralFakeServer().start()
        os.environ["MISTRAL_SERVER_URL"] = server.url
        os.environ.setdefault("MISTRAL_API_KEY", "offline-fake-key")
        os.environ.pop("WANDB_PROJECT", None)
        args.eval_rows, args.train_rows, args.usb_rows = 12, 40, 40
        args.training_steps, args.poll = 5, 0.05
        args.out = args.out if args.out != Path("finetune-out") else Path(_tmp())
        print(f"offline: fake Mistral API at {server.url}; its answers are not a model's")
    elif not os.environ.get("MISTRAL_API_KEY"):
        parser.error("set MISTRAL_API_KEY (or pass --offline)")

    try:
        val, fib, usb = load(args)
        print(f"eval: {val.describe()}\nFIB train: {len(fib)} rows; USB train: {len(usb)} rows")
        baseline = Judge(f"mistral:{args.base_model}", prompt="zero-shot")
        judges: list[Judge] = [baseline]
        for name, train in (("fib", fib), ("usb-fib", Dataset.mix([usb, fib], seed=0))):
            judge = fine_tune(name, train, args)
            if judge is not None:
                judges.append(judge)
        comparison = Evaluator(val, cache=None, name="FIB val").run(judges)
        print()
        print(comparison.to_markdown())
    finally:
        if server is not None:
            server.stop()
    return 0


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="hallujudge-finetune-")


if __name__ == "__main__":
    sys.exit(main())
