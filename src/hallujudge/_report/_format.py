"""The words and number formats every rendering of a report shares (Markdown, HTML, text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _metrics as mt

if TYPE_CHECKING:
    from ._eval_report import EvalReport

POSITIVE_NOTE = (
    "Positive class = inconsistent (label 0, a hallucination): precision, recall, F1 and "
    "specificity are computed for it; ROC-AUC and PR-AUC rank rows by 1 - P(consistent)."
)
TITLES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision (inconsistent)",
    "recall": "Recall (inconsistent)",
    "f1": "F1 (inconsistent)",
    "specificity": "Specificity",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (avg. precision)",
    "ece": "ECE (10 bins)",
}


def fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def fmt_metric(m: mt.Metric | None) -> str:
    if m is None:
        return "-"
    if m.value is None:
        return f"n/a ({m.reason})" if m.reason else "n/a"
    if m.low is None or m.high is None:
        return f"{m.value:.3f}"
    return f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"


def test_sentence(a: str, b: str, t: mt.PairedTest) -> str:
    if t.n == 0 or t.diff is None:
        return f"{b} vs {a}: no row scored by both; no test possible."
    ci = (
        f" [{t.diff_low:+.3f}, {t.diff_high:+.3f}]"
        if t.diff_low is not None and t.diff_high is not None
        else ""
    )
    return (
        f"{b} vs {a} on {t.n} rows: accuracy {fmt(t.accuracy_b)} vs {fmt(t.accuracy_a)}, "
        f"difference {t.diff:+.3f}{ci}; paired bootstrap p = {fmt(t.bootstrap_p)}; "
        f"McNemar exact p = {fmt(t.mcnemar_p)} (only {a} right: {t.only_a_right}, "
        f"only {b} right: {t.only_b_right})"
    )


def metric_rows(report: EvalReport) -> list[tuple[str, str, str]]:
    """``(title, over scored rows, unscored counted as errors)`` of each metric, as shown."""
    rows = [
        (TITLES[n], fmt_metric(report.metrics.get(n)), fmt_metric(report.metrics_strict.get(n)))
        for n in mt.CLASSIFICATION_METRICS
    ]
    rows += [(TITLES[n], fmt_metric(m), "-") for n, m in report.score_metrics.items()]
    rows += [(f"{n} (custom)", fmt_metric(m), "-") for n, m in report.custom.items()]
    return rows
