"""The report's plots as inline SVG: ROC, calibration, confusion matrix, histogram.

Drawn here so the page has no scripts and no external assets.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .. import _metrics as mt
from ._format import fmt

if TYPE_CHECKING:
    from ._eval_report import EvalReport


_W, _H = 340, 290
_MAX_POINTS = 600  # ROC points drawn at most (the AUC is computed on all of them)
_ML, _MR, _MT, _MB = 48, 14, 28, 42
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


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


def roc_svg(reports: Sequence[EvalReport]) -> str:
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
        drawn.append((f"AUC {fmt(auc.value if auc else None)} {r.judge}", color))
    if not drawn:
        return _message_svg(title, "no probabilities, or only one class")
    parts += _legend(drawn)
    parts.append("</svg>")
    return "".join(parts)


def calibration_svg(report: EvalReport) -> str:
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
        f"{fmt(ece.value if ece else None)}</text></svg>"
    )
    return "".join(parts)


def confusion_svg(report: EvalReport) -> str:
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


def histogram_svg(report: EvalReport, bins: int = 20) -> str:
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
