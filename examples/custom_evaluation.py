"""Custom evaluation: your own judge and your own metrics, beside the built-in ones. Offline.

Run:  python examples/custom_evaluation.py  (always offline; --offline is accepted)

It compares the embedded local judge with a judge written as a plain function, adds a per-row
metric and an aggregate metric, fits the local judge's threshold on dev rows, and writes an
HTML report.
No key and no network are needed.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hallujudge import Example, Judge, Verdict

try:  # the public names, once exported from the package root
    from hallujudge import Evaluator, aggregate_metric, fit_threshold, row_metric
except ImportError:  # pragma: no cover - before the root exports them
    from hallujudge._evaluator import Evaluator, aggregate_metric, fit_threshold, row_metric

DOC_A = (
    "The city council approved a budget of 12 million dollars on Tuesday. The money will pay "
    "for road repairs and two new libraries, the mayor said."
)
DOC_B = (
    "Heavy rain flooded the river valley on Sunday night. About 300 people were moved to "
    "schools, and no one was hurt, police said."
)
DOC_C = (
    "The museum reopened after a two-year renovation. Its new wing shows paintings from the "
    "18th century donated by a local family."
)
PAIRS = [
    (DOC_A, "The council approved a 12 million dollar budget.", 1),
    (DOC_A, "The council approved a 15 million dollar budget.", 0),
    (DOC_A, "The budget pays for road repairs and libraries.", 1),
    (DOC_A, "The mayor resigned after the budget vote.", 0),
    (DOC_B, "About 300 people were moved after the flood.", 1),
    (DOC_B, "Three people died in the flood on Sunday.", 0),
    (DOC_B, "Rain flooded the valley on Sunday night.", 1),
    (DOC_B, "About 3000 people were moved to hotels.", 0),
    (DOC_C, "The museum reopened after a renovation.", 1),
    (DOC_C, "The new wing shows 18th century paintings.", 1),
    (DOC_C, "The museum was closed for ten years.", 0),
    (DOC_C, "A national bank donated the paintings.", 0),
]
DATA = [
    Example(document=d, summary=s, label=y, id=f"pair-{i}") for i, (d, s, y) in enumerate(PAIRS)
]

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "of", "to", "and", "after", "on", "in", "for", "was", "were", "by"}


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


# 1. A custom judge: any function (document, summary) -> Verdict, sync or async.
def overlap_judge(document: str, summary: str) -> Verdict:
    """Consistent when nearly every content word of the summary appears in the document."""
    words = content_words(summary)
    supported = words & content_words(document)
    share = len(supported) / len(words) if words else 1.0
    missing = sorted(words - supported)
    return Verdict(
        label="consistent" if share >= 0.8 else "inconsistent",
        score=share,
        reason=f"unsupported words: {', '.join(missing)}" if missing else "all words found",
    )


# 2. A per-row metric (averaged, with a bootstrap interval): are number errors caught?
def numbers_caught(example: Example, verdict: Verdict) -> float | None:
    """1 if a summary with a number missing from the document is flagged; rows without: skipped."""
    numbers = set(re.findall(r"\d+", example.summary)) - set(re.findall(r"\d+", example.document))
    if not numbers:
        return None
    return 1.0 if verdict.label == "inconsistent" else 0.0


# 3. An aggregate metric over all rows: a missed hallucination costs 5, a false alarm 1.
def expected_cost(examples: Sequence[Example], verdicts: Sequence[Verdict]) -> float:
    cost = 0.0
    for example, verdict in zip(examples, verdicts, strict=True):
        if example.label == 0 and verdict.label != "inconsistent":
            cost += 5.0
        elif example.label == 1 and verdict.label != "consistent":
            cost += 1.0
    return cost / len(examples)


def main() -> None:
    parser = argparse.ArgumentParser(description="Custom judges and metrics in an evaluation.")
    parser.add_argument("--offline", action="store_true", help="accepted: this example is offline")
    parser.parse_args()
    out_dir = Path(tempfile.mkdtemp(prefix="hallujudge-example-"))
    evaluator = Evaluator(
        DATA,
        cache=out_dir / "cache.sqlite",  # re-running the same evaluation makes no model calls
        metrics=[row_metric(numbers_caught), aggregate_metric(expected_cost)],
        bootstrap=500,
        name="custom-example",
    )
    comparison = evaluator.run([Judge("local"), overlap_judge])
    print(comparison.to_markdown())

    # 4. Fit a threshold on a dev split. The local judge ranks these pairs well (see its
    #    ROC-AUC) but its default threshold of 0.5 suits them badly: choose one on dev rows and
    #    check it on the other rows. On real data, use Dataset.split(...) (split by document).
    local = Judge("local")
    dev = [DATA[i] for i in (0, 1, 4, 5, 8, 10)]
    test = [DATA[i] for i in (2, 3, 6, 7, 9, 11)]
    fitted = fit_threshold(local, dev, "balanced_accuracy", cache=None)
    fit = fitted.lineage["threshold_fit"]
    print(f"\nfitted threshold {fitted.threshold:.3f} (dev balanced accuracy {fit['value']:.2f})")
    before = Evaluator(test, cache=None, bootstrap=0, name="test rows").run(local)
    after = Evaluator(test, cache=None, bootstrap=0, name="test rows").run(fitted)
    print(f"test accuracy: {before.accuracy:.2f} at 0.5, {after.accuracy:.2f} at the fitted one")

    html = out_dir / "report.html"
    comparison.to_html(html)
    print(f"\nHTML report: {html}")


if __name__ == "__main__":
    main()
