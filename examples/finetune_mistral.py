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
are not a model's, so its numbers only show that the pipeline works), followed by a fine-tune
that really learns, on this CPU: the local judge fine-tuned on pairs generated from 80 documents
of one kind, against the shipped local judge on 30 other documents of that kind:
    python examples/finetune_mistral.py --offline
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

from hallujudge import Comparison, Dataset, Evaluator, Example, FineTuner, Judge

# The training-pair generator of the local judge (not yet public API).

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


TOWNS = ["Milbrook", "Ashford", "Castleton", "Northfield", "Dunmore", "Riverton", "Westbridge"]
NAMES = ["Jane Hollis", "Marco Silva", "Helen Price", "Omar Haddad", "Ruth Adler", "Laura Chen"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def council_report(i: int) -> str:
    """Document ``i`` of one kind (a council decision), written for this example."""
    r = random.Random(i)
    town, other = r.sample(TOWNS, 2)
    return (
        f"{town} council has approved plans for {r.randint(20, 400)} new homes near the station. "
        f"The decision was taken on {r.choice(DAYS)} after a long meeting. "
        f"Councillor {r.choice(NAMES)} said {r.randint(5, 60)} of the homes would be offered at "
        f"low rents. Residents of nearby {other} had objected to the extra traffic."
    )


def generated_pairs(first: int, n: int, seed: int) -> Dataset:
    """Consistent and hallucinated summaries generated from documents ``first .. first+n-1``."""
    docs = [council_report(i) for i in range(first, first + n)]
    leads = Dataset([Example(document=d, summary=d.split(". ")[0] + ".", label=1) for d in docs])
    # Copies, compressions, exchanged names and numbers, negations, ...; duplicates dropped.
    return leads.synthesize(ratio=6, seed=seed).rename(f"council {first}+")


def local_fine_tune(out_dir: Path) -> Comparison:
    """Fine-tune the local judge on 80 documents' pairs; compare on 30 unseen documents."""
    train, test = generated_pairs(0, 80, seed=0), generated_pairs(1000, 30, seed=1)
    job = FineTuner("local", out_dir=out_dir, val_size=0.0).create(train)
    print(f"local fine-tune on {len(train)} generated pairs: {job.status}, judge {out_dir}")
    return Evaluator(test, cache=None, progress=False, name="30 unseen council reports").run(
        [Judge("local"), job.judge()]
    )


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
        if args.offline:
            print("\nThe fake's answers cannot improve with training; the local fine-tuner can:")
            print(local_fine_tune(args.out / "local-judge").to_markdown())
    finally:
        if server is not None:
            server.stop()
    return 0


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="hallujudge-finetune-")


if __name__ == "__main__":
    sys.exit(main())
