"""Several judges on the same rows: :class:`Comparison`, with paired tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _metrics as mt
from .._errors import ConfigurationError
from ._build import number_or_none
from ._eval_report import EvalReport
from ._format import POSITIVE_NOTE, TITLES, fmt, fmt_metric, test_sentence
from ._html import render_page


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
                        diff=number_or_none(diff),
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
            POSITIVE_NOTE + " Values over scored rows, 95% bootstrap intervals in brackets.",
            "",
            "| metric | " + " | ".join(names) + " |",
            "| --- |" + " --- |" * len(names),
        ]
        rows: list[tuple[str, list[str]]] = [
            ("rows scored", [f"{r.n_scored}/{r.n}" for r in self.reports]),
        ]
        for name in mt.CLASSIFICATION_METRICS:
            rows.append((TITLES[name], [fmt_metric(r.metrics.get(name)) for r in self.reports]))
        rows.append(
            (
                "Accuracy, unscored as errors",
                [fmt_metric(r.metrics_strict.get("accuracy")) for r in self.reports],
            )
        )
        for name in mt.SCORE_METRICS:
            rows.append(
                (TITLES[name], [fmt_metric(r.score_metrics.get(name)) for r in self.reports])
            )
        custom = sorted({k for r in self.reports for k in r.custom})
        for name in custom:
            rows.append(
                (f"{name} (custom)", [fmt_metric(r.custom.get(name)) for r in self.reports])
            )
        rows.append(("latency p50 (s)", [fmt(r.latency_s.get("p50")) for r in self.reports]))
        for title, cells in rows:
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        lines += ["", "Paired tests (rows both judges scored):", ""]
        for a, b, t in self.tests:
            lines.append("- " + test_sentence(a, b, t))
        return "\n".join(lines)

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page: the table, the tests, and each judge's plots."""
        text = render_page(self.reports, self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text
