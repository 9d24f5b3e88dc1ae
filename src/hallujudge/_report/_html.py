"""The self-contained HTML page of a report or a comparison: tables, tests and plots."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._format import POSITIVE_NOTE, fmt, metric_rows, test_sentence
from ._svg import calibration_svg, confusion_svg, histogram_svg, roc_svg

if TYPE_CHECKING:
    from ._comparison import Comparison
    from ._eval_report import EvalReport


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


def _metrics_table(report: EvalReport) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>metric</th><th>over scored rows (95% CI)</th>"
        "<th>unscored counted as errors (95% CI)</th></tr>"
    ]
    rows += [
        f"<tr><td>{e(title)}</td><td>{e(scored)}</td><td>{e(strict)}</td></tr>"
        for title, scored, strict in metric_rows(report)
    ]
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
        f"latency p50 {fmt(report.latency_s.get('p50'))} s, p95 "
        f"{fmt(report.latency_s.get('p95'))} s; {e(report._tokens_line())}",
        f"run: {run.get('n_called')} rows judged, {run.get('n_cached')} from the cache, "
        f"wall time {fmt(run.get('wall_s'), 2)} s; bootstrap {run.get('bootstrap')} "
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
        f"<figure>{roc_svg([report])}</figure>",
        f"<figure>{calibration_svg(report)}</figure>",
        f"<figure>{confusion_svg(report)}</figure>",
        f"<figure>{histogram_svg(report)}</figure>",
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
    tests = "".join(f"<li>{e(test_sentence(a, b, t))}</li>" for a, b, t in comp.tests)
    return (
        "<h2>Side by side</h2><table>"
        + "".join(rows)
        + "</table><h3>Paired tests (rows both judges scored)</h3><ul>"
        + tests
        + f'</ul><div class="plots"><figure>{roc_svg(comp.reports)}</figure></div>'
    )


def render_page(reports: Sequence[EvalReport], comparison: Comparison | None) -> str:
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
        f'<p class="note">{e(POSITIVE_NOTE)} Metrics over scored rows leave unscored rows '
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
