"""Evaluation reports: :class:`EvalReport` (one judge) and :class:`Comparison` (several).

Reports are computed from per-row columns (label, prediction, score, latency, error) by
:func:`build_report`; they render as JSON (with every row's prediction), Markdown, and a
self-contained HTML page whose plots are inline SVG drawn here (no JavaScript, no external
assets). Every rendering states that the positive class is *inconsistent*.
"""

from __future__ import annotations

from ._build import build_report, count_metrics
from ._columns import Columns, Price
from ._comparison import Comparison
from ._eval_report import EvalReport

__all__ = ["Columns", "Comparison", "EvalReport", "Price", "build_report", "count_metrics"]
