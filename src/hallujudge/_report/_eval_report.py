"""The evaluation of one judge: :class:`EvalReport` (JSON, Markdown, HTML, summary)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _metrics as mt
from .._errors import ConfigurationError
from ._columns import Columns
from ._format import POSITIVE_NOTE, fmt, fmt_metric, metric_rows
from ._html import render_page


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
            f"accuracy {fmt_metric(acc)}; balanced accuracy "
            f"{fmt_metric(self.metrics['balanced_accuracy'])}",
            f"recall (inconsistent) {fmt_metric(self.metrics['recall'])}; precision "
            f"{fmt_metric(self.metrics['precision'])}; F1 {fmt_metric(self.metrics['f1'])}",
        ]
        if "roc_auc" in self.score_metrics:
            lines.append(
                f"ROC-AUC {fmt_metric(self.score_metrics['roc_auc'])}; "
                f"ECE {fmt_metric(self.score_metrics['ece'])}"
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
            "positive_class_note": POSITIVE_NOTE,
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
            f"({self.unscored_share:.1%}). {POSITIVE_NOTE}",
            "",
            "| metric | over scored rows (95% CI) | unscored counted as errors (95% CI) |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {title} | {scored} | {strict} |" for title, scored, strict in metric_rows(self)
        ]
        c = self.confusion
        lines += [
            "",
            "| truth \\ judge | inconsistent | consistent | unscored |",
            "| --- | --- | --- | --- |",
            f"| inconsistent | {c['tp']} | {c['fn']} | {c['unscored_inconsistent']} |",
            f"| consistent | {c['fp']} | {c['tn']} | {c['unscored_consistent']} |",
            "",
            f"Latency p50 {fmt(self.latency_s.get('p50'))} s, p95 "
            f"{fmt(self.latency_s.get('p95'))} s. " + self._tokens_line(),
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
        text = render_page([self], None)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text
