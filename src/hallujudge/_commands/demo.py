"""``hallujudge demo``: judge a few built-in pairs offline and print a short evaluation."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="judge built-in examples offline with the embedded model (no key, no network)",
        description="Judge a few built-in (document, summary) pairs and print an evaluation.",
    )
    parser.add_argument("--model", default="local", help="model string (default: local)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from .._demo import DEMO_EXAMPLES
    from .._judge import Judge

    judge = Judge(args.model)
    started = time.perf_counter()
    verdicts = judge.score_many(DEMO_EXAMPLES)
    elapsed = time.perf_counter() - started
    print(f"hallujudge demo: {len(verdicts)} pairs judged by {judge.model} in {elapsed:.2f} s\n")
    correct = 0
    for example, verdict in zip(DEMO_EXAMPLES, verdicts, strict=True):
        truth = "consistent" if example.label == 1 else "inconsistent"
        mark = "ok " if verdict.label == truth else "MISS"
        correct += verdict.label == truth
        score = "  -  " if verdict.score is None else f"{verdict.score:.2f}"
        print(f"[{mark}] {verdict.label:<12} p(consistent)={score}  {example.summary}")
        if verdict.label == "inconsistent" and verdict.spans:
            flagged = ", ".join(repr(s.text) for s in verdict.spans[:4])
            print(f"       unsupported: {flagged}")
    print()
    try:
        from .._evaluator import Evaluator
    except ImportError:  # pragma: no cover - the evaluator ships with the package
        print(f"accuracy: {correct}/{len(verdicts)}")
        return 0
    report = Evaluator(
        list(DEMO_EXAMPLES), cache=None, progress=False, name="the built-in demo pairs"
    ).run(judge)
    print(report.to_markdown())
    print("Next: hallujudge eval ../shared/data/fib/val.jsonl --model local --html report.html")
    return 0
