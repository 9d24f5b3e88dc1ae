"""Evaluation reports: :class:`EvalReport` (one judge) and :class:`Comparison` (several).

Reports are computed from per-row columns (label, prediction, score, latency, error) by
:func:`build_report`; they render as JSON (with every row's prediction), Markdown, and a
self-contained HTML page whose plots are inline SVG drawn here (no JavaScript, no external
assets). Every rendering states that the positive class is *inconsistent*.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _metrics as mt
from ._errors import ConfigurationError

__all__ = ["Columns", "Comparison", "EvalReport", "Price", "build_report"]

Price = tuple[float, float]
"""USD per million tokens: ``(prompt, completion)``."""

_LABEL_NAMES = {1: "consistent", 0: "inconsistent", -1: "unscored"}
_CODES = {"consistent": 1, "inconsistent": 0, "unscored": -1}
_POSITIVE_NOTE = (
    "Positive class = inconsistent (label 0, a hallucination): precision, recall, F1 and "
    "specificity are computed for it; ROC-AUC and PR-AUC rank rows by 1 - P(consistent)."
)
_TITLES = {
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


@dataclass(slots=True, eq=False)  # numpy columns: compare reports with to_dict()
class Columns:
    """Per-row results, one array entry per dataset row, in dataset order.

    Attributes:
        ids: Row ids (the example's id, or its position when it has none).
        labels: Gold labels: 1 = consistent, 0 = inconsistent.
        preds: The judge's labels: 1 = consistent, 0 = inconsistent, -1 = unscored.
        scores: ``P(consistent)``, ``nan`` when the verdict has none.
        latency_s: Judgment wall time, ``nan`` when unknown.
        cached: Whether the verdict came from the cache.
        errors: Why a row is unscored, by row position.
    """

    ids: list[str]
    labels: npt.NDArray[np.int8]
    preds: npt.NDArray[np.int8]
    scores: npt.NDArray[np.float64]
    latency_s: npt.NDArray[np.float64]
    cached: npt.NDArray[np.bool_]
    errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a JSON-ready dict."""
        out = []
        for i, row_id in enumerate(self.ids):
            score = float(self.scores[i])
            lat = float(self.latency_s[i])
            out.append(
                {
                    "index": i,
                    "id": row_id,
                    "label": int(self.labels[i]),
                    "prediction": _LABEL_NAMES[int(self.preds[i])],
                    "score": None if math.isnan(score) else score,
                    "error": self.errors.get(i),
                    "latency_s": None if math.isnan(lat) else lat,
                    "cached": bool(self.cached[i]),
                }
            )
        return out

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> Columns:
        """Rebuild columns from :meth:`rows` output."""
        nan = float("nan")
        return cls(
            ids=[str(r["id"]) for r in rows],
            labels=np.array([int(r["label"]) for r in rows], dtype=np.int8),
            preds=np.array([_CODES[r["prediction"]] for r in rows], dtype=np.int8),
            scores=np.array(
                [nan if r.get("score") is None else r["score"] for r in rows], dtype=np.float64
            ),
            latency_s=np.array(
                [nan if r.get("latency_s") is None else r["latency_s"] for r in rows],
                dtype=np.float64,
            ),
            cached=np.array([bool(r.get("cached")) for r in rows], dtype=bool),
            errors={int(r["index"]): str(r["error"]) for r in rows if r.get("error")},
        )


def _num(x: Any) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


def _undefined_reason(name: str, tp: int, fp: int, fn: int, tn: int) -> str:
    if tp + fp + fn + tn == 0:
        return "no rows"
    if name in ("recall", "balanced_accuracy") and tp + fn == 0:
        return "no inconsistent rows in the data"
    if name in ("specificity", "balanced_accuracy") and tn + fp == 0:
        return "no consistent rows in the data"
    if name == "precision":
        return "the judge flagged no row as inconsistent"
    return "undefined for this data"


def _count_metrics(
    counts: tuple[int, int, int, int], cis: Mapping[str, tuple[float | None, float | None]]
) -> dict[str, mt.Metric]:
    values = mt.classification_from_counts(*counts)
    out = {}
    for name in mt.CLASSIFICATION_METRICS:
        value = _num(values[name])
        low, high = cis.get(name, (None, None))
        reason = None if value is not None else _undefined_reason(name, *counts)
        out[name] = mt.Metric(name, value, low, high, reason)
    return out


def build_report(
    columns: Columns,
    *,
    judge: str,
    prompt: str | None,
    settings: Mapping[str, Any],
    dataset: Mapping[str, Any],
    custom: Mapping[str, mt.Metric] | None = None,
    tokens: tuple[int, int] | None = None,
    price: Price | None = None,
    wall_s: float | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    threshold: float | None = None,
) -> EvalReport:
    """Compute every metric of one judge's run.

    Args:
        columns: Per-row results.
        judge: The judge's model name.
        prompt: The prompt strategy ``name@version``.
        settings: The judge's settings (as in its cache key).
        dataset: ``name``, ``content_hash`` and ``n`` of the data.
        custom: User-defined metrics already computed.
        tokens: Total ``(prompt, completion)`` tokens, or None when no verdict reported usage.
        price: USD per million ``(prompt, completion)`` tokens, for the cost.
        wall_s: Wall time of the run.
        bootstrap: Bootstrap resamples for the 95% intervals (0: none).
        seed: Seed of the resampling.
        threshold: The threshold the evaluator applied to scores, if any.

    Returns:
        The report.
    """
    y_pos = columns.labels == 0
    scored = columns.preds >= 0
    pred_m = np.where(scored, 1 - columns.preds, -1)  # metrics' coding: 1 = said inconsistent
    counts_scored = mt.confusion_counts(y_pos[scored], pred_m[scored] == 1)
    tp, fp, fn, tn = counts_scored
    uns_pos = int(np.sum(y_pos & ~scored))
    uns_neg = int(np.sum(~y_pos & ~scored))
    counts_strict = (tp, fp + uns_neg, fn + uns_pos, tn)
    cis = mt.bootstrap_classification(y_pos, pred_m, n_boot=bootstrap, seed=seed)
    has_score = scored & ~np.isnan(columns.scores)
    score_metrics: dict[str, mt.Metric] = {}
    if has_score.any():
        ys, ps = y_pos[has_score], columns.scores[has_score]
        s_cis = mt.bootstrap_scores(ys, ps, n_boot=bootstrap, seed=seed)
        one_class = bool(ys.all() or not ys.any())
        for name, value in (
            ("roc_auc", mt.roc_auc(ys, 1.0 - ps)),
            ("pr_auc", mt.average_precision(ys, 1.0 - ps)),
            ("ece", mt.expected_calibration_error(ps, ~ys)),
        ):
            v = _num(value)
            reason = None
            if v is None:
                reason = "only one class among rows with a score" if one_class else "undefined"
            score_metrics[name] = mt.Metric(name, v, *s_cis[name], reason)
    p_tok = c_tok = None
    cost = None
    if tokens is not None:
        p_tok, c_tok = tokens
        if price is not None:
            cost = (p_tok * price[0] + c_tok * price[1]) / 1e6
    lat = columns.latency_s
    n_cached = int(columns.cached.sum())
    return EvalReport(
        judge=judge,
        prompt=prompt,
        settings=dict(settings),
        dataset=dict(dataset),
        columns=columns,
        metrics=_count_metrics(counts_scored, cis["scored"]),
        metrics_strict=_count_metrics(counts_strict, cis["strict"]),
        score_metrics=score_metrics,
        custom=dict(custom or {}),
        confusion={
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "unscored_inconsistent": uns_pos,
            "unscored_consistent": uns_neg,
        },
        latency_s={
            "p50": mt.percentile(lat, 50),
            "p95": mt.percentile(lat, 95),
            "mean": _num(np.nanmean(lat)) if np.any(~np.isnan(lat)) else None,
        },
        tokens=(
            None
            if p_tok is None or c_tok is None
            else {"prompt": p_tok, "completion": c_tok, "total": p_tok + c_tok}
        ),
        cost_usd=cost,
        run={
            "wall_s": wall_s,
            "n_cached": n_cached,
            "n_called": len(columns) - n_cached,
            "rows_per_s": (len(columns) / wall_s) if wall_s else None,
            "bootstrap": bootstrap,
            "seed": seed,
            "threshold": threshold,
            "price_usd_per_mtok": list(price) if price else None,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _fmt_metric(m: mt.Metric | None) -> str:
    if m is None:
        return "-"
    if m.value is None:
        return f"n/a ({m.reason})" if m.reason else "n/a"
    if m.low is None or m.high is None:
        return f"{m.value:.3f}"
    return f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"


def _metric_from_dict(name: str, d: Mapping[str, Any]) -> mt.Metric:
    return mt.Metric(name, d.get("value"), d.get("low"), d.get("high"), d.get("reason"))


@dataclass(eq=False)
class EvalReport:
    """The evaluation of one judge on one dataset.

    Metrics over scored rows leave unscored rows out (and say how many there were); the
    ``metrics_strict`` set counts each unscored row as an error: a missed hallucination when the
    row is inconsistent, a false alarm when it is consistent. Both carry 95% bootstrap intervals.

    Attributes:
        judge: The judge's model name.
        prompt: The prompt strategy ``name@version``.
        settings: The judge's settings (as in its cache key).
        dataset: ``name``, ``content_hash``, ``n`` of the evaluated data.
        columns: Per-row results (see :class:`Columns`).
        metrics: Count metrics over scored rows.
        metrics_strict: Count metrics with unscored rows counted as errors.
        score_metrics: ROC-AUC, PR-AUC and ECE over rows with a score (empty when none has one).
        custom: User-defined metrics.
        confusion: ``tp, fp, fn, tn`` over scored rows (positive = inconsistent) and the unscored
            rows of each true class.
        latency_s: ``p50``, ``p95`` and ``mean`` judgment latency.
        tokens: ``prompt``, ``completion``, ``total`` tokens over every row's verdict (rows from
            the cache included: what the evaluation costs from scratch), or None when unreported.
        cost_usd: The cost of those tokens when a price was given, else None.
        run: Wall time, cached/called row counts, bootstrap settings, creation time.
        positive_class: Always ``"inconsistent"``.
    """

    judge: str
    prompt: str | None
    settings: dict[str, Any]
    dataset: dict[str, Any]
    columns: Columns
    metrics: dict[str, mt.Metric]
    metrics_strict: dict[str, mt.Metric]
    score_metrics: dict[str, mt.Metric]
    custom: dict[str, mt.Metric]
    confusion: dict[str, int]
    latency_s: dict[str, float | None]
    tokens: dict[str, int] | None
    cost_usd: float | None
    run: dict[str, Any]
    positive_class: str = mt.POSITIVE_CLASS

    # -- counts -----------------------------------------------------------------------------

    @property
    def n(self) -> int:
        """Rows evaluated."""
        return len(self.columns)

    @property
    def n_scored(self) -> int:
        """Rows the judge gave a label."""
        return int(np.sum(self.columns.preds >= 0))

    @property
    def n_unscored(self) -> int:
        """Rows the judge could not label (reported, never dropped)."""
        return self.n - self.n_scored

    @property
    def unscored_share(self) -> float:
        """Share of unscored rows (0 for an empty report)."""
        return self.n_unscored / self.n if self.n else 0.0

    @property
    def n_with_score(self) -> int:
        """Scored rows that also have a probability."""
        return int(np.sum((self.columns.preds >= 0) & ~np.isnan(self.columns.scores)))

    @property
    def predictions(self) -> list[dict[str, Any]]:
        """Per-row predictions: index, id, label, prediction, score, error, latency, cached."""
        return self.columns.rows()

    def metric(self, name: str, *, strict: bool = False) -> mt.Metric:
        """Look up a metric by name.

        Args:
            name: ``accuracy``, ``recall``, ``roc_auc``, ... or a custom metric's name.
            strict: For count metrics, the variant with unscored rows counted as errors.

        Returns:
            The metric.

        Raises:
            ConfigurationError: For an unknown name (or a score metric when no row had a score).
        """
        table = self.metrics_strict if strict else self.metrics
        for source in (table, self.score_metrics, self.custom):
            if name in source:
                return source[name]
        known = sorted({*self.metrics, *self.score_metrics, *self.custom})
        raise ConfigurationError(f"no metric {name!r} in this report; it has {known}")

    @property
    def accuracy(self) -> float | None:
        """Accuracy over scored rows."""
        return self.metrics["accuracy"].value

    @property
    def balanced_accuracy(self) -> float | None:
        """Balanced accuracy over scored rows."""
        return self.metrics["balanced_accuracy"].value

    @property
    def recall(self) -> float | None:
        """Share of hallucinations caught (over scored rows)."""
        return self.metrics["recall"].value

    @property
    def roc_auc(self) -> float | None:
        """ROC-AUC, or None when no score exists or one class is present."""
        m = self.score_metrics.get("roc_auc")
        return None if m is None else m.value

    # -- output -----------------------------------------------------------------------------

    def summary(self) -> str:
        """A few lines for a terminal or a log."""
        acc = self.metrics["accuracy"]
        lines = [
            f"{self.judge} ({self.prompt}) on {self.dataset.get('name', 'data')}: "
            f"{self.n} rows, {self.n_scored} scored, {self.n_unscored} unscored "
            f"({self.unscored_share:.1%})",
            f"accuracy {_fmt_metric(acc)}; balanced accuracy "
            f"{_fmt_metric(self.metrics['balanced_accuracy'])}",
            f"recall (inconsistent) {_fmt_metric(self.metrics['recall'])}; precision "
            f"{_fmt_metric(self.metrics['precision'])}; F1 {_fmt_metric(self.metrics['f1'])}",
        ]
        if "roc_auc" in self.score_metrics:
            lines.append(
                f"ROC-AUC {_fmt_metric(self.score_metrics['roc_auc'])}; "
                f"ECE {_fmt_metric(self.score_metrics['ece'])}"
            )
        lines.append("positive class = inconsistent")
        return "\n".join(lines)

    def to_dict(self, *, predictions: bool = True) -> dict[str, Any]:
        """Everything in the report as JSON-ready data.

        Args:
            predictions: Include every row's prediction (the default).

        Returns:
            The report as a dict; :meth:`from_dict` reads it back.
        """
        out: dict[str, Any] = {
            "kind": "hallujudge.EvalReport",
            "positive_class": self.positive_class,
            "positive_class_note": _POSITIVE_NOTE,
            "judge": self.judge,
            "prompt": self.prompt,
            "settings": self.settings,
            "dataset": self.dataset,
            "n": self.n,
            "n_scored": self.n_scored,
            "n_unscored": self.n_unscored,
            "unscored_share": self.unscored_share,
            "n_with_score": self.n_with_score,
            "metrics": {
                "scored": {k: m.to_dict() for k, m in self.metrics.items()},
                "unscored_as_errors": {k: m.to_dict() for k, m in self.metrics_strict.items()},
                "scores": {k: m.to_dict() for k, m in self.score_metrics.items()},
                "custom": {k: m.to_dict() for k, m in self.custom.items()},
            },
            "confusion": self.confusion,
            "latency_s": self.latency_s,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "run": self.run,
        }
        if predictions:
            out["predictions"] = self.columns.rows()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalReport:
        """Read back a report written by :meth:`to_dict` (with predictions).

        Raises:
            ConfigurationError: If the data is not such a report.
        """
        if data.get("kind") != "hallujudge.EvalReport" or "predictions" not in data:
            raise ConfigurationError(
                "not an EvalReport dict with predictions; write it with to_dict() / to_json()"
            )
        mets = data["metrics"]

        def table(key: str) -> dict[str, mt.Metric]:
            return {k: _metric_from_dict(k, v) for k, v in mets.get(key, {}).items()}

        return cls(
            judge=data["judge"],
            prompt=data.get("prompt"),
            settings=dict(data.get("settings", {})),
            dataset=dict(data.get("dataset", {})),
            columns=Columns.from_rows(data["predictions"]),
            metrics=table("scored"),
            metrics_strict=table("unscored_as_errors"),
            score_metrics=table("scores"),
            custom=table("custom"),
            confusion=dict(data["confusion"]),
            latency_s=dict(data["latency_s"]),
            tokens=data.get("tokens"),
            cost_usd=data.get("cost_usd"),
            run=dict(data.get("run", {})),
            positive_class=data.get("positive_class", mt.POSITIVE_CLASS),
        )

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The report as JSON (with per-row predictions); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, path: str | Path) -> EvalReport:
        """Read a report written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_markdown(self) -> str:
        """The report as Markdown: a metrics table with 95% intervals and the confusion matrix."""
        lines = [
            f"### {self.judge} ({self.prompt or 'no prompt'}) on "
            f"{self.dataset.get('name', 'data')}",
            "",
            f"{self.n} rows: {self.n_scored} scored, {self.n_unscored} unscored "
            f"({self.unscored_share:.1%}). {_POSITIVE_NOTE}",
            "",
            "| metric | over scored rows (95% CI) | unscored counted as errors (95% CI) |",
            "| --- | --- | --- |",
        ]
        for name in mt.CLASSIFICATION_METRICS:
            lines.append(
                f"| {_TITLES[name]} | {_fmt_metric(self.metrics.get(name))} | "
                f"{_fmt_metric(self.metrics_strict.get(name))} |"
            )
        for name, m in self.score_metrics.items():
            lines.append(f"| {_TITLES[name]} | {_fmt_metric(m)} | - |")
        for name, m in self.custom.items():
            lines.append(f"| {name} (custom) | {_fmt_metric(m)} | - |")
        c = self.confusion
        lines += [
            "",
            "| truth \\ judge | inconsistent | consistent | unscored |",
            "| --- | --- | --- | --- |",
            f"| inconsistent | {c['tp']} | {c['fn']} | {c['unscored_inconsistent']} |",
            f"| consistent | {c['fp']} | {c['tn']} | {c['unscored_consistent']} |",
            "",
            f"Latency p50 {_fmt(self.latency_s.get('p50'))} s, p95 "
            f"{_fmt(self.latency_s.get('p95'))} s. " + self._tokens_line(),
        ]
        return "\n".join(lines)

    def _tokens_line(self) -> str:
        if self.tokens is None:
            return "Tokens: not reported."
        cost = "cost unknown (pass price=)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return (
            f"Tokens: {self.tokens['prompt']} prompt + {self.tokens['completion']} "
            f"completion; {cost}."
        )

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page with tables and SVG plots; also written to ``path``."""
        text = _page([self], None)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


@dataclass(eq=False)
class Comparison:
    """Several judges evaluated on the same rows, side by side.

    Attributes:
        reports: One report per judge, in the order given.
        tests: Paired tests of each judge against the first, on the rows both scored.
    """

    reports: list[EvalReport]
    tests: list[tuple[str, str, mt.PairedTest]]

    @classmethod
    def build(cls, reports: Sequence[EvalReport], *, bootstrap: int, seed: int) -> Comparison:
        """Pair each judge with the first and test the accuracy difference.

        Args:
            reports: Reports over the same rows (same dataset, same order); one report gives a
                comparison without tests.
            bootstrap: Resamples for the paired bootstrap.
            seed: Seed of the resampling.

        Returns:
            The comparison.

        Raises:
            ConfigurationError: If the reports are not over the same rows.
        """
        if not reports:
            raise ConfigurationError("a comparison needs at least one report")
        base = reports[0]
        tests = []
        for other in reports[1:]:
            if other.n != base.n or not np.array_equal(other.columns.labels, base.columns.labels):
                raise ConfigurationError(
                    "these reports are not over the same rows; evaluate every judge with the "
                    "same Evaluator"
                )
            both = (base.columns.preds >= 0) & (other.columns.preds >= 0)
            labels = base.columns.labels[both]
            right_a = base.columns.preds[both] == labels
            right_b = other.columns.preds[both] == labels
            diff, low, high, p_boot = mt.paired_bootstrap(
                right_a, right_b, n_boot=bootstrap, seed=seed
            )
            only_a, only_b, p_mc = mt.mcnemar_exact(right_a, right_b)
            n = int(both.sum())
            tests.append(
                (
                    base.judge,
                    other.judge,
                    mt.PairedTest(
                        n=n,
                        accuracy_a=float(right_a.mean()) if n else None,
                        accuracy_b=float(right_b.mean()) if n else None,
                        diff=_num(diff),
                        diff_low=low,
                        diff_high=high,
                        bootstrap_p=p_boot,
                        only_a_right=only_a,
                        only_b_right=only_b,
                        mcnemar_p=p_mc if n else None,
                    ),
                )
            )
        return cls(list(reports), tests)

    def __getitem__(self, index: int) -> EvalReport:
        return self.reports[index]

    def __len__(self) -> int:
        return len(self.reports)

    def to_dict(self, *, predictions: bool = True) -> dict[str, Any]:
        """JSON-ready data: every report and every paired test."""
        return {
            "kind": "hallujudge.Comparison",
            "positive_class": mt.POSITIVE_CLASS,
            "reports": [r.to_dict(predictions=predictions) for r in self.reports],
            "tests": [{"a": a, "b": b, **t.to_dict()} for a, b, t in self.tests],
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The comparison as JSON; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_markdown(self) -> str:
        """A side-by-side table and the paired tests, as Markdown."""
        names = [f"{r.judge} ({r.prompt})" if r.prompt else r.judge for r in self.reports]
        lines = [
            f"### {len(self.reports)} judge{'s' if len(self.reports) > 1 else ''} on "
            f"{self.reports[0].dataset.get('name', 'data')}",
            "",
            _POSITIVE_NOTE + " Values over scored rows, 95% bootstrap intervals in brackets.",
            "",
            "| metric | " + " | ".join(names) + " |",
            "| --- |" + " --- |" * len(names),
        ]
        rows: list[tuple[str, list[str]]] = [
            ("rows scored", [f"{r.n_scored}/{r.n}" for r in self.reports]),
        ]
        for name in mt.CLASSIFICATION_METRICS:
            rows.append((_TITLES[name], [_fmt_metric(r.metrics.get(name)) for r in self.reports]))
        rows.append(
            (
                "Accuracy, unscored as errors",
                [_fmt_metric(r.metrics_strict.get("accuracy")) for r in self.reports],
            )
        )
        for name in mt.SCORE_METRICS:
            rows.append(
                (_TITLES[name], [_fmt_metric(r.score_metrics.get(name)) for r in self.reports])
            )
        custom = sorted({k for r in self.reports for k in r.custom})
        for name in custom:
            rows.append(
                (f"{name} (custom)", [_fmt_metric(r.custom.get(name)) for r in self.reports])
            )
        rows.append(("latency p50 (s)", [_fmt(r.latency_s.get("p50")) for r in self.reports]))
        for title, cells in rows:
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        lines += ["", "Paired tests (rows both judges scored):", ""]
        for a, b, t in self.tests:
            lines.append("- " + _test_sentence(a, b, t))
        return "\n".join(lines)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page: the table, the tests, and each judge's plots."""
        text = _page(self.reports, self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _test_sentence(a: str, b: str, t: mt.PairedTest) -> str:
    if t.n == 0 or t.diff is None:
        return f"{b} vs {a}: no row scored by both; no test possible."
    ci = (
        f" [{t.diff_low:+.3f}, {t.diff_high:+.3f}]"
        if t.diff_low is not None and t.diff_high is not None
        else ""
    )
    return (
        f"{b} vs {a} on {t.n} rows: accuracy {_fmt(t.accuracy_b)} vs {_fmt(t.accuracy_a)}, "
        f"difference {t.diff:+.3f}{ci}; paired bootstrap p = {_fmt(t.bootstrap_p)}; "
        f"McNemar exact p = {_fmt(t.mcnemar_p)} (only {a} right: {t.only_a_right}, "
        f"only {b} right: {t.only_b_right})"
    )


# -- HTML and SVG ---------------------------------------------------------------------------
# Plots are drawn as inline SVG here so the page has no scripts and no external assets.

_W, _H = 340, 290
_MAX_POINTS = 600  # ROC points drawn at most (the AUC is computed on all of them)
_ML, _MR, _MT, _MB = 48, 14, 28, 42
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1120px;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8rem 0;font-size:.92rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem;font-size:.92rem}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots figure{margin:0}
figcaption{font-size:.85rem;color:#555;text-align:center}
details{margin:.6rem 0}code{font-size:.85rem}
"""


def _sx(x: float) -> float:
    return _ML + x * (_W - _ML - _MR)


def _sy(y: float) -> float:
    return _H - _MB - y * (_H - _MT - _MB)


def _tick(t: float, y_max: int | None) -> str:
    if y_max is None:
        return f"{t:g}"
    return str(round(t * y_max, 1)).removesuffix(".0")


def _frame(
    title: str, xlabel: str, ylabel: str, *, diagonal: bool, y_max: int | None = None
) -> list[str]:
    e = html.escape
    parts = [
        f'<svg width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{e(title)}">',
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_W / 2}" y="17" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{e(title)}</text>',
    ]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{_sx(t):.1f}" y1="{_sy(0):.1f}" x2="{_sx(t):.1f}" y2="{_sy(1):.1f}" '
            'stroke="#eee"/>'
            f'<line x1="{_sx(0):.1f}" y1="{_sy(t):.1f}" x2="{_sx(1):.1f}" y2="{_sy(t):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{_sx(t):.1f}" y="{_sy(0) + 14:.1f}" text-anchor="middle" '
            f'font-size="10">{t:g}</text>'
            f'<text x="{_sx(0) - 5:.1f}" y="{_sy(t) + 3:.1f}" text-anchor="end" '
            f'font-size="10">{_tick(t, y_max)}</text>'
        )
    parts.append(
        f'<rect x="{_sx(0):.1f}" y="{_sy(1):.1f}" width="{_sx(1) - _sx(0):.1f}" '
        f'height="{_sy(0) - _sy(1):.1f}" fill="none" stroke="#888"/>'
    )
    if diagonal:
        parts.append(
            f'<line x1="{_sx(0):.1f}" y1="{_sy(0):.1f}" x2="{_sx(1):.1f}" y2="{_sy(1):.1f}" '
            'stroke="#aaa" stroke-dasharray="4 3"/>'
        )
    parts.append(
        f'<text x="{(_sx(0) + _sx(1)) / 2:.1f}" y="{_H - 8}" text-anchor="middle" '
        f'font-size="11">{e(xlabel)}</text>'
        f'<text transform="translate(13 {(_sy(0) + _sy(1)) / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" font-size="11">{e(ylabel)}</text>'
    )
    return parts


# Legend text at 10 px runs about 6 px a character; longer names are cut to fit the plot.
_LEGEND_CHAR_PX = 6.0


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Legend rows ``(label, colour)`` at the plot's lower right, each cut to fit inside it."""
    x = _sx(0.3)
    fits = int((_W - _MR - (x + 14)) / _LEGEND_CHAR_PX)
    out = []
    for i, (label, color) in enumerate(entries):
        y = _sy(0) - 10 - 14 * (len(entries) - 1 - i)
        shown = label if len(label) <= fits else label[: fits - 1] + "…"
        out.append(
            f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 1:.1f}" font-size="10">'
            f"<title>{html.escape(label)}</title>{html.escape(shown)}</text>"
        )
    return out


def _message_svg(title: str, message: str) -> str:
    """A panel that says why there is no plot: the title and the reason, no empty axes."""
    e = html.escape
    return (
        f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{e(title)}: {e(message)}">'
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="white"/>'
        f'<text x="{_W / 2}" y="17" text-anchor="middle" font-size="13" font-weight="bold">'
        f"{e(title)}</text>"
        f'<rect x="{_sx(0):.1f}" y="{_sy(1):.1f}" width="{_sx(1) - _sx(0):.1f}" '
        f'height="{_sy(0) - _sy(1):.1f}" fill="#fafafa" stroke="#ddd" stroke-dasharray="4 3"/>'
        f'<text x="{(_sx(0) + _sx(1)) / 2:.1f}" y="{(_sy(0) + _sy(1)) / 2:.1f}" '
        f'text-anchor="middle" font-size="12" fill="#666">{e(message)}</text></svg>'
    )


def _roc_svg(reports: Sequence[EvalReport]) -> str:
    title = "ROC curve (positive = inconsistent)"
    parts = _frame(title, "false positive rate", "true positive rate (recall)", diagonal=True)
    drawn = []
    for i, r in enumerate(reports):
        c = r.columns
        keep = (c.preds >= 0) & ~np.isnan(c.scores)
        y_pos = c.labels[keep] == 0
        if not keep.any() or y_pos.all() or not y_pos.any():
            continue
        fpr, tpr, _ = mt.roc_curve(y_pos, 1.0 - c.scores[keep])
        if fpr.size > _MAX_POINTS:  # a readable curve without megabytes of SVG
            pick = np.unique(np.linspace(0, fpr.size - 1, _MAX_POINTS).round().astype(int))
            fpr, tpr = fpr[pick], tpr[pick]
        pts = " ".join(f"{_sx(x):.1f},{_sy(y):.1f}" for x, y in zip(fpr, tpr, strict=True))
        color = _COLORS[i % len(_COLORS)]
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        auc = r.score_metrics.get("roc_auc")
        drawn.append((f"AUC {_fmt(auc.value if auc else None)} {r.judge}", color))
    if not drawn:
        return _message_svg(title, "no probabilities, or only one class")
    parts += _legend(drawn)
    parts.append("</svg>")
    return "".join(parts)


def _calibration_svg(report: EvalReport) -> str:
    title = "Calibration (10 equal-width bins)"
    c = report.columns
    keep = (c.preds >= 0) & ~np.isnan(c.scores)
    if not keep.any():
        return _message_svg(title, "the judge gave no probabilities")
    mean_score, share, count = mt.calibration_curve(c.scores[keep], c.labels[keep] == 1)
    parts = _frame(title, "mean P(consistent) in bin", "share consistent", diagonal=True)
    pts = [
        (float(x), float(y), int(n))
        for x, y, n in zip(mean_score, share, count, strict=True)
        if n > 0
    ]
    line = " ".join(f"{_sx(x):.1f},{_sy(y):.1f}" for x, y, _ in pts)
    parts.append(f'<polyline points="{line}" fill="none" stroke="{_COLORS[0]}" stroke-width="2"/>')
    biggest = max(n for _, _, n in pts)
    for x, y, n in pts:
        radius = 2.5 + 4.5 * math.sqrt(n / biggest)
        parts.append(
            f'<circle cx="{_sx(x):.1f}" cy="{_sy(y):.1f}" r="{radius:.1f}" fill="{_COLORS[0]}">'
            f"<title>{n} rows, mean score {x:.2f}, share consistent {y:.2f}</title></circle>"
        )
    ece = report.score_metrics.get("ece")
    parts.append(
        f'<text x="{_sx(0.03):.1f}" y="{_sy(0.93):.1f}" font-size="11">ECE '
        f"{_fmt(ece.value if ece else None)}</text></svg>"
    )
    return "".join(parts)


def _confusion_svg(report: EvalReport) -> str:
    c = report.confusion
    cells = [
        [c["tp"], c["fn"], c["unscored_inconsistent"]],
        [c["fp"], c["tn"], c["unscored_consistent"]],
    ]
    top = max(1, *(v for row in cells for v in row))
    w, h = _W, _H
    x0, y0, cw, ch = 110, 60, 72, 80
    parts = [
        f'<svg width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="Confusion matrix">',
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="17" text-anchor="middle" font-size="13" font-weight="bold">'
        "Confusion matrix</text>",
        f'<text x="{x0 + 1.5 * cw}" y="{y0 - 24}" text-anchor="middle" font-size="11">'
        "judge said</text>",
    ]
    for j, name in enumerate(("inconsistent", "consistent", "unscored")):
        parts.append(
            f'<text x="{x0 + (j + 0.5) * cw}" y="{y0 - 8}" text-anchor="middle" '
            f'font-size="10">{name}</text>'
        )
    for i, name in enumerate(("inconsistent", "consistent")):
        parts.append(
            f'<text x="{x0 - 8}" y="{y0 + (i + 0.5) * ch + 4}" text-anchor="end" '
            f'font-size="10">truth: {name}</text>'
        )
        for j in range(3):
            v = cells[i][j]
            correct = (i, j) in ((0, 0), (1, 1))
            base = (31, 119, 180) if correct else (214, 39, 40)
            a = 0.12 + 0.78 * v / top
            fill = f"rgba({base[0]},{base[1]},{base[2]},{a:.2f})"
            ink = "white" if a > 0.55 else "#111"
            parts.append(
                f'<rect x="{x0 + j * cw}" y="{y0 + i * ch}" width="{cw}" height="{ch}" '
                f'fill="{fill}" stroke="white"/>'
                f'<text x="{x0 + (j + 0.5) * cw}" y="{y0 + (i + 0.5) * ch + 5}" '
                f'text-anchor="middle" font-size="15" fill="{ink}">{v}</text>'
            )
    parts.append(
        f'<text x="{w / 2}" y="{y0 + 2 * ch + 28}" text-anchor="middle" font-size="10" '
        'fill="#555">positive class = inconsistent; unscored rows shown, never dropped</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _histogram_svg(report: EvalReport, bins: int = 20) -> str:
    title = "P(consistent) by true class"
    c = report.columns
    keep = (c.preds >= 0) & ~np.isnan(c.scores)
    if not keep.any():
        return _message_svg(title, "the judge gave no probabilities")
    scores, labels = np.clip(c.scores[keep], 0, 1), c.labels[keep]
    edges = np.linspace(0.0, 1.0, bins + 1)
    groups = [("inconsistent", labels == 0, _COLORS[1]), ("consistent", labels == 1, _COLORS[0])]
    hists = [np.histogram(scores[mask], bins=edges)[0] for _, mask, _ in groups]
    # A multiple of 4, so the five ticks (0, 1/4, ... of the axis) are whole row counts.
    top = max(4, -(-int(max(h.max() for h in hists)) // 4) * 4)
    parts = _frame(title, "P(consistent)", "rows", diagonal=False, y_max=top)
    bw = (_sx(1) - _sx(0)) / bins
    for k, ((_, _, color), hist) in enumerate(zip(groups, hists, strict=True)):
        for b, v in enumerate(hist):
            if v == 0:
                continue
            hgt = (_sy(0) - _sy(1)) * v / top
            parts.append(
                f'<rect x="{_sx(edges[b]) + k * bw / 2:.1f}" y="{_sy(0) - hgt:.1f}" '
                f'width="{bw / 2 - 0.5:.1f}" height="{hgt:.1f}" fill="{color}" opacity="0.85">'
                f"<title>{v} rows</title></rect>"
            )
    names = [f"truth {name} ({int(mask.sum())})" for name, mask, _ in groups]
    for i, name in enumerate(names):
        y = _sy(1) + 12 + 14 * i
        parts.append(
            f'<rect x="{_sx(0.03):.1f}" y="{y - 8:.1f}" width="10" height="10" '
            f'fill="{groups[i][2]}"/><text x="{_sx(0.03) + 14:.1f}" y="{y + 1:.1f}" '
            f'font-size="10">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _metrics_table(report: EvalReport) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>metric</th><th>over scored rows (95% CI)</th>"
        "<th>unscored counted as errors (95% CI)</th></tr>"
    ]
    for name in mt.CLASSIFICATION_METRICS:
        rows.append(
            f"<tr><td>{e(_TITLES[name])}</td><td>{e(_fmt_metric(report.metrics.get(name)))}</td>"
            f"<td>{e(_fmt_metric(report.metrics_strict.get(name)))}</td></tr>"
        )
    for name, m in report.score_metrics.items():
        rows.append(f"<tr><td>{e(_TITLES[name])}</td><td>{e(_fmt_metric(m))}</td><td>-</td></tr>")
    for name, m in report.custom.items():
        rows.append(f"<tr><td>{e(name)} (custom)</td><td>{e(_fmt_metric(m))}</td><td>-</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _report_section(report: EvalReport, *, level: str = "h2") -> str:
    e = html.escape
    run = report.run
    facts = [
        f"{report.n} rows: {report.n_scored} scored, {report.n_unscored} unscored "
        f"({report.unscored_share:.1%}); {report.n_with_score} with a probability",
        f"dataset <code>{e(str(report.dataset.get('name')))}</code>, content hash "
        f"<code>{e(str(report.dataset.get('content_hash', ''))[:16])}</code>",
        f"latency p50 {_fmt(report.latency_s.get('p50'))} s, p95 "
        f"{_fmt(report.latency_s.get('p95'))} s; {e(report._tokens_line())}",
        f"run: {run.get('n_called')} rows judged, {run.get('n_cached')} from the cache, "
        f"wall time {_fmt(run.get('wall_s'), 2)} s; bootstrap {run.get('bootstrap')} "
        f"resamples, seed {run.get('seed')}",
    ]
    unscored = [(report.columns.ids[i], err) for i, err in sorted(report.columns.errors.items())][
        :20
    ]
    parts = [
        f"<{level}>{e(report.judge)} <small>({e(report.prompt or 'no prompt')})</small></{level}>",
        "<ul>" + "".join(f"<li>{f}</li>" for f in facts) + "</ul>",
        _metrics_table(report),
        '<div class="plots">',
        f"<figure>{_roc_svg([report])}</figure>",
        f"<figure>{_calibration_svg(report)}</figure>",
        f"<figure>{_confusion_svg(report)}</figure>",
        f"<figure>{_histogram_svg(report)}</figure>",
        "</div>",
    ]
    if unscored:
        items = "".join(f"<li><code>{e(i)}</code>: {e(err)}</li>" for i, err in unscored)
        parts.append(
            f"<details><summary>Why rows are unscored (first {len(unscored)} of "
            f"{report.n_unscored})</summary><ul>{items}</ul></details>"
        )
    return "\n".join(parts)


def _comparison_section(comp: Comparison) -> str:
    e = html.escape
    md = comp.to_markdown().splitlines()
    table_lines = [ln for ln in md if ln.startswith("|") and not ln.startswith("| ---")]
    rows = []
    for k, ln in enumerate(table_lines):
        cells = [c.strip() for c in ln.strip("|").split("|")]
        tag = "th" if k == 0 else "td"
        rows.append("<tr>" + "".join(f"<{tag}>{e(c)}</{tag}>" for c in cells) + "</tr>")
    tests = "".join(f"<li>{e(_test_sentence(a, b, t))}</li>" for a, b, t in comp.tests)
    return (
        "<h2>Side by side</h2><table>"
        + "".join(rows)
        + "</table><h3>Paired tests (rows both judges scored)</h3><ul>"
        + tests
        + f'</ul><div class="plots"><figure>{_roc_svg(comp.reports)}</figure></div>'
    )


def _page(reports: Sequence[EvalReport], comparison: Comparison | None) -> str:
    e = html.escape
    first = reports[0]
    title = (
        f"hallujudge evaluation: {first.judge}"
        if comparison is None
        else f"hallujudge comparison: {len(reports)} judges"
    )
    body = [
        f"<h1>{e(title)}</h1>",
        f"<p>Data: <code>{e(str(first.dataset.get('name')))}</code>, {first.n} rows. "
        f"Created {e(str(first.run.get('created', '')))}.</p>",
        f'<p class="note">{e(_POSITIVE_NOTE)} Metrics over scored rows leave unscored rows '
        "out; the second column counts each unscored row as an error.</p>",
    ]
    if comparison is not None:
        body.append(_comparison_section(comparison))
    body += [_report_section(r) for r in reports]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
