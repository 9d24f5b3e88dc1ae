"""Ray Data scale-out on a real local Ray instance (one session for the whole module).

Over 10,000+ short synthetic pairs: the verdict columns equal ``Judge.score_many`` on the same
rows, no row is lost or duplicated, unscored rows keep their reasons, and the report built from
per-block counts equals the in-memory one where it claims to.
"""

from __future__ import annotations

import math
import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from hallujudge import ConfigurationError, Judge
from hallujudge import ray as hj_ray
from hallujudge._report import Columns, build_report

ROOT = Path(__file__).resolve().parents[1]
N = 10_000
NAMES = ["Anna", "Ben", "Chloe", "Dmitri", "Esra", "Femi", "Gita", "Hugo"]
CITIES = ["Paris", "Lagos", "Oslo", "Quito", "Hanoi", "Perth", "Cairo", "Lima"]
BROKEN = {  # row index -> (document, summary): rows the judge cannot decide
    17: ("", "Anna moved to Paris."),
    4242: ("Ben moved to Oslo in 2001.", None),
    9001: (None, "Chloe moved to Lima."),
}


def synthetic_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name, city, other = rng.choice(NAMES), *rng.sample(CITIES, 2)
        year = rng.randint(1950, 2020)
        document = f"{name} moved to {city} in {year} and opened a bakery there."
        label = rng.random() < 0.5
        summary = (
            f"{name} moved to {city} in {year}."
            if label
            else rng.choice([f"{name} moved to {other} in {year}.", f"{name} moved in {year + 3}."])
        )
        document, summary = BROKEN.get(i, (document, summary))
        rows.append({"id": f"r{i}", "document": document, "summary": summary, "label": int(label)})
    return rows


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def judged(ray_session: None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    rows = synthetic_rows(N)
    ds = ray.data.from_items(rows, override_num_blocks=8)
    out = hj_ray.judge_dataset(ds, "local:gbm", workers=2, batch_size=500).materialize()
    return rows, out.take_all(), out


def test_every_row_once_with_the_same_verdicts_as_score_many(
    judged: tuple[list[dict[str, Any]], list[dict[str, Any]], Any],
) -> None:
    rows, got, _ = judged
    assert len(got) == N
    by_id = {r["id"]: r for r in got}
    assert sorted(by_id) == sorted(r["id"] for r in rows)  # none lost, none duplicated
    judge = Judge("local:gbm")
    valid = [r for i, r in enumerate(rows) if i not in BROKEN]
    expected = judge.score_many([(r["document"], r["summary"]) for r in valid])
    for row, verdict in zip(valid, expected, strict=True):
        out = by_id[row["id"]]
        assert out["document"] == row["document"] and out["label"] == row["label"]
        assert out["verdict_label"] == verdict.label
        assert out["verdict_score"] == verdict.score
        assert out["verdict_reason"] == (verdict.reason or "")
        assert out["verdict_error"] == ""
        assert out["verdict_latency_s"] > 0
        assert out["verdict_prompt_tokens"] == -1  # the local judge reports no tokens
    labels = {r["verdict_label"] for r in got}
    assert labels == {"consistent", "inconsistent", "unscored"}


def test_unscored_rows_are_kept_with_their_reasons(
    judged: tuple[list[dict[str, Any]], list[dict[str, Any]], Any],
) -> None:
    _, got, _ = judged
    unscored = {r["id"]: r for r in got if r["verdict_label"] == "unscored"}
    assert sorted(unscored) == sorted(f"r{i}" for i in BROKEN)
    assert unscored["r17"]["verdict_error"].startswith("the document is empty")
    assert unscored["r4242"]["verdict_error"] == (
        "the summary is missing, not text: this row was not judged"
    )
    assert unscored["r9001"]["verdict_error"].startswith("the document is missing")
    assert all(math.isnan(r["verdict_score"]) for r in unscored.values())


def test_report_from_block_counts_equals_the_in_memory_report(
    judged: tuple[list[dict[str, Any]], list[dict[str, Any]], Any],
) -> None:
    _, got, out = judged
    judge = Judge("local:gbm")
    report = hj_ray.report(out, judge, id_column="id", sample=500)
    codes = {"consistent": 1, "inconsistent": 0, "unscored": -1}
    columns = Columns(
        ids=[r["id"] for r in got],
        labels=np.array([r["label"] for r in got], dtype=np.int8),
        preds=np.array([codes[r["verdict_label"]] for r in got], dtype=np.int8),
        scores=np.array([r["verdict_score"] for r in got], dtype=np.float64),
        latency_s=np.array([r["verdict_latency_s"] for r in got], dtype=np.float64),
        cached=np.zeros(len(got), dtype=bool),
    )
    full = build_report(
        columns, judge=judge.model, prompt=judge.prompt, settings=judge.settings(), dataset={}
    )
    assert (report.n, report.n_scored, report.n_unscored) == (N, N - 3, 3)
    assert report.n_with_score == full.n_with_score
    assert report.confusion == full.confusion
    for table in ("metrics", "metrics_strict"):
        ours, theirs = getattr(report, table), getattr(full, table)
        assert {k: m.to_dict() for k, m in ours.items()} == {
            k: m.to_dict() for k, m in theirs.items()
        }  # values and bootstrap intervals: exact
    for name in ("roc_auc", "pr_auc", "ece"):
        ours_m, theirs_m = report.score_metrics[name], full.score_metrics[name]
        assert ours_m.value == pytest.approx(theirs_m.value, abs=1e-6)
        assert ours_m.low == pytest.approx(theirs_m.low, abs=0.01)
        assert ours_m.high == pytest.approx(theirs_m.high, abs=0.01)
    assert report.latency_s["mean"] == pytest.approx(full.latency_s["mean"], rel=1e-9)
    assert report.latency_s["p50"] == pytest.approx(full.latency_s["p50"], rel=0.02)
    assert report.latency_s["p95"] == pytest.approx(full.latency_s["p95"], rel=0.02)
    assert report.tokens is None and report.cost_usd is None
    assert len(report.columns) == 500 and len(set(report.columns.ids)) == 500
    assert set(report.columns.ids) <= {r["id"] for r in got}
    data = report.to_dict()
    assert data["n"] == N and len(data["prediction_sample"]) == 500
    assert "predictions" not in data  # EvalReport.from_dict refuses a sample as all rows
    assert f"{N} rows, {N - 3} scored, 3 unscored" in report.summary()


def test_rate_budget_is_shared_by_every_worker(ray_session: None) -> None:
    budget = hj_ray.RateBudget.remote(1200)  # one slot per 50 ms for the whole cluster
    rows = [{"document": f"Doc {i}.", "summary": f"Doc {i}."} for i in range(40)]
    ds = ray.data.from_items(rows, override_num_blocks=2)
    started = time.perf_counter()
    out = hj_ray.judge_dataset(
        ds, "fake", workers=2, batch_size=20, num_cpus=0.5, rate_budget=budget, concurrency=20
    ).take_all()
    elapsed = time.perf_counter() - started
    assert len(out) == 40 and {r["verdict_label"] for r in out} == {"consistent"}
    assert ray.get(budget.count.remote()) == 40
    # 40 calls, one slot per 50 ms for the whole cluster: at least 39 gaps, whatever the load
    # (two workers with a budget each would be done in about half of that).
    assert elapsed >= 39 * 0.05 * 0.95


def test_missing_text_column_is_a_clear_error(ray_session: None) -> None:
    batches = hj_ray.JudgeBatches("local:gbm", document_column="context")
    with pytest.raises(ConfigurationError, match=r"no column 'context'.*document_column="):
        batches({"document": np.array(["a"]), "summary": np.array(["b"])})


def test_guide_example_runs(ray_session: None, capsys: pytest.CaptureFixture[str]) -> None:
    page = (ROOT / "docs" / "guides" / "ray.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    exec(compile(code, "docs/guides/ray.md", "exec"), {"__name__": "__guide__"})
    expected = re.search(r"```text\n(.*?)```", page, re.S)
    assert expected is not None
    assert capsys.readouterr().out.strip() == expected.group(1).strip()
