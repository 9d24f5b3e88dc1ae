"""Evaluator: metrics on known predictions, cache and retries, callables, custom metrics,
comparisons, threshold fitting. Real Judge + shipped fake backends; no network."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from hallujudge import (
    Comparison,
    ConfigurationError,
    DataError,
    EvalCallback,
    EvalReport,
    Evaluator,
    Example,
    FakeBackend,
    FunctionBackend,
    Judge,
    Request,
    Response,
    ServerError,
    Usage,
    Verdict,
    VerdictCache,
    aggregate_metric,
    fit_threshold,
    row_metric,
)


def make_rows(n: int = 40) -> list[Example]:
    return [
        Example(document=f"document {i}", summary=f"summary {i}", label=i % 2, id=f"row-{i}")
        for i in range(n)
    ]


def p_of(example: Example) -> float:
    """A deterministic P(consistent) that is right most of the time, with ties."""
    i = int(example.summary.split()[1])
    base = 0.7 if i % 2 == 1 else 0.3  # make_rows: label = i % 2
    if i % 5 == 0:
        base = 1.0 - base  # every fifth row is wrong
    return round(base + (i % 3) * 0.1, 2)


def scoring_judge(**kwargs: object) -> tuple[Judge, list[Request]]:
    calls: list[Request] = []

    def answer(request: Request) -> Response:
        calls.append(request)
        return Response(
            text="",
            p_consistent=p_of(request.example),
            usage=Usage(prompt_tokens=10, completion_tokens=2),
        )

    backend = FunctionBackend(answer, name="scorer", uses_prompt=False)
    return Judge(backend, **kwargs), calls  # type: ignore[arg-type]


def test_metrics_equal_sklearn_on_the_judges_own_predictions(tmp_path: Path) -> None:
    rows = make_rows(60)
    judge, calls = scoring_judge()
    report = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=200).run(judge)
    assert isinstance(report, EvalReport)
    assert len(calls) == 60
    y_pos = np.array([r.label == 0 for r in rows])
    p = np.array([p_of(r) for r in rows])
    pred_pos = p < 0.5
    assert report.accuracy == pytest.approx(skm.accuracy_score(y_pos, pred_pos))
    assert report.recall == pytest.approx(skm.recall_score(y_pos, pred_pos))
    assert report.metric("f1").value == pytest.approx(skm.f1_score(y_pos, pred_pos))
    assert report.roc_auc == pytest.approx(skm.roc_auc_score(y_pos, 1 - p))
    assert report.metric("pr_auc").value == pytest.approx(skm.average_precision_score(y_pos, 1 - p))
    assert report.positive_class == "inconsistent"
    assert report.tokens == {"prompt": 600, "completion": 120, "total": 720}
    assert report.cost_usd is None
    for name in ("accuracy", "balanced_accuracy", "recall"):
        m = report.metric(name)
        assert m.low is not None
        assert m.high is not None
        assert m.low <= m.value <= m.high  # type: ignore[operator]
    assert [r["id"] for r in report.predictions] == [r.id for r in rows]


def test_second_run_makes_zero_backend_calls(tmp_path: Path) -> None:
    rows = make_rows(50)
    fake = FakeBackend(latency_s=0.001)
    judge = Judge(fake)
    first = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0).run(judge)
    assert fake.calls == 50
    second = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0).run(judge)
    assert fake.calls == 50  # no new call
    assert second.run["n_cached"] == 50
    assert second.run["n_called"] == 0
    assert second.to_dict()["metrics"] == first.to_dict()["metrics"]
    # A change that changes answers (the prompt) is a different key: the model is asked again.
    Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0).run(Judge(fake, prompt="one-shot"))
    assert fake.calls == 100


def test_retryable_failures_are_not_cached_and_are_retried(tmp_path: Path) -> None:
    rows = make_rows(6)
    # Rows are sent in order with concurrency 1: rows 1 and 4 fail transiently; row 2 answers
    # garbage (a deterministic, non-retryable unscored verdict, which is cached).
    fake = FakeBackend(
        [
            '{"consistency": 0}',
            ServerError("HTTP 503: overloaded"),
            "no idea",
            '{"consistency": 1}',
            ServerError("HTTP 503: overloaded"),
            '{"consistency": 1}',
        ]
    )
    judge = Judge(fake, max_attempts=1)
    cache_path = tmp_path / "c.sqlite"
    first = Evaluator(rows, cache=cache_path, concurrency=1, bootstrap=0).run(judge)
    assert first.n_unscored == 3
    assert first.columns.errors.keys() == {1, 2, 4}
    assert "ServerError" in first.columns.errors[1]
    assert len(VerdictCache(cache_path)) == 4  # the two transient failures are not stored
    second = Evaluator(rows, cache=cache_path, concurrency=1, bootstrap=0).run(judge)
    assert fake.calls == 8  # only rows 1 and 4 were asked again
    assert [r.example.id for r in fake.requests[6:]] == ["row-1", "row-4"]
    assert second.n_unscored == 1  # row 2's unreadable answer stays unscored
    assert second.columns.errors.keys() == {2}


def test_unscored_rows_are_reported_and_counted_as_errors_in_strict_metrics() -> None:
    rows = make_rows(10)  # labels 0,1,0,1,...

    def judge(document: str, summary: str) -> Verdict:
        i = int(summary.split()[1])
        if i in (0, 1):
            return Verdict.unscored("model refused")
        return Verdict(label="consistent" if i % 2 else "inconsistent", score=0.9 if i % 2 else 0.1)

    report = Evaluator(rows, cache=None, bootstrap=0).run(judge)
    assert (report.n, report.n_scored, report.n_unscored) == (10, 8, 2)
    assert report.unscored_share == pytest.approx(0.2)
    assert report.metric("accuracy").value == 1.0
    assert report.metric("accuracy", strict=True).value == pytest.approx(0.8)
    # Row 0 (inconsistent, unscored) is a missed hallucination in the strict recall.
    assert report.metric("recall", strict=True).value == pytest.approx(4 / 5)
    assert report.confusion["unscored_inconsistent"] == 1
    assert report.confusion["unscored_consistent"] == 1
    assert report.to_dict()["predictions"][0]["error"] == "model refused"
    assert "unscored counted as errors" in report.to_markdown()


def test_one_class_data_gives_undefined_auc_with_a_reason() -> None:
    rows = [r for r in make_rows(16) if r.label == 1]
    judge, _ = scoring_judge()
    report = Evaluator(rows, cache=None, bootstrap=50).run(judge)
    auc = report.metric("roc_auc")
    assert auc.value is None
    assert auc.reason is not None
    assert "one class" in auc.reason
    assert report.metric("recall").value is None
    assert "n/a" in report.to_markdown()


async def test_sync_and_async_callables_and_a_raising_one(tmp_path: Path) -> None:
    rows = make_rows(8)

    async def async_judge(document: str, summary: str) -> Verdict:
        await asyncio.sleep(0)
        return Verdict(label="inconsistent", score=0.2)

    def raising(document: str, summary: str) -> Verdict:
        if summary.endswith("3"):
            raise RuntimeError("boom")
        return Verdict(label="consistent")

    evaluator = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0)
    comp = await evaluator.arun([async_judge, raising])
    assert isinstance(comp, Comparison)
    a, b = comp.reports
    assert a.metric("recall").value == 1.0
    assert b.n_unscored == 1
    assert "RuntimeError: boom" in b.columns.errors[3]
    # The raising row is retryable: not cached.
    assert len(VerdictCache(tmp_path / "c.sqlite")) == 15


def test_custom_metrics_row_and_aggregate_appear_in_the_report() -> None:
    rows = make_rows(20)
    judge, _ = scoring_judge()

    def confident(example: Example, verdict: Verdict) -> float | None:
        return None if verdict.score is None else abs(verdict.score - 0.5) * 2

    def flagged_share(examples: Sequence[Example], verdicts: Sequence[Verdict]) -> float:
        return sum(v.label == "inconsistent" for v in verdicts) / len(verdicts)

    def broken(example: Example, verdict: Verdict) -> float:
        raise ValueError("bad metric")

    report = Evaluator(
        rows,
        cache=None,
        bootstrap=100,
        metrics=[confident, aggregate_metric(flagged_share), row_metric(broken, name="broken")],
    ).run(judge)
    expected = np.mean([abs(p_of(r) - 0.5) * 2 for r in rows])
    assert report.custom["confident"].value == pytest.approx(expected)
    assert report.custom["confident"].low is not None
    assert report.custom["flagged_share"].value == pytest.approx(
        np.mean([p_of(r) < 0.5 for r in rows])
    )
    assert report.custom["broken"].value is None
    assert "ValueError" in (report.custom["broken"].reason or "")
    md = report.to_markdown()
    assert "confident (custom)" in md
    assert "flagged_share (custom)" in md


def test_plain_function_annotated_with_sequences_is_an_aggregate() -> None:
    def share(examples: Sequence[Example], verdicts: Sequence[Verdict]) -> float:
        return float(len(verdicts))

    report = Evaluator(make_rows(5), cache=None, bootstrap=0, metrics=[share]).run(
        scoring_judge()[0]
    )
    assert report.custom["share"].value == 5.0


def test_comparison_paired_tests_match_a_direct_computation() -> None:
    rows = make_rows(60)
    good, _ = scoring_judge()

    def always_consistent(document: str, summary: str) -> Verdict:
        return Verdict(label="consistent")

    comp = Evaluator(rows, cache=None, bootstrap=300).run([good, always_consistent])
    assert isinstance(comp, Comparison)
    ((a, b, test),) = comp.tests
    assert (a, b) == ("scorer", comp.reports[1].judge)
    truth = np.array([r.label for r in rows])
    right_a = np.array([(p_of(r) >= 0.5) == (r.label == 1) for r in rows])
    right_b = truth == 1
    assert test.n == 60
    assert test.only_a_right == int(np.sum(right_a & ~right_b))
    assert test.only_b_right == int(np.sum(~right_a & right_b))
    assert test.diff == pytest.approx(right_b.mean() - right_a.mean())
    assert test.mcnemar_p is not None
    assert test.mcnemar_p < 0.05
    md = comp.to_markdown()
    assert "McNemar exact p" in md
    assert "| Accuracy |" in md
    assert comp.to_dict()["tests"][0]["n"] == 60


def test_fit_threshold_returns_a_copy_carrying_the_best_threshold(tmp_path: Path) -> None:
    rows = make_rows(40)
    judge, _ = scoring_judge()
    fitted = fit_threshold(judge, rows, "balanced_accuracy", cache=tmp_path / "c.sqlite")
    assert fitted is not judge
    assert judge.threshold == 0.5
    assert fitted.backend is judge.backend
    fit = fitted.lineage["threshold_fit"]
    # Check optimality by brute force over the dev scores.
    y_pos = np.array([r.label == 0 for r in rows])
    p = np.array([p_of(r) for r in rows])
    best = max(skm.balanced_accuracy_score(y_pos, p < t) for t in np.r_[np.unique(p), 1.0])
    assert fit["value"] == pytest.approx(best)
    assert skm.balanced_accuracy_score(y_pos, p < fitted.threshold) == pytest.approx(best)
    # The fitted judge labels by the new threshold.
    verdict = fitted.score("document 0", "summary 0")
    assert verdict.label == ("consistent" if verdict.score >= fitted.threshold else "inconsistent")  # type: ignore[operator]

    high_recall = fit_threshold(judge, rows, ("recall", 1.0), cache=None)
    assert skm.recall_score(y_pos, p < high_recall.threshold) == 1.0
    with pytest.raises(ConfigurationError, match="objective"):
        fit_threshold(judge, rows, "accuracy", cache=None)  # type: ignore[arg-type]


def test_fit_threshold_needs_scores() -> None:
    judge = Judge(FakeBackend())  # labels only, no logprobs
    with pytest.raises(ConfigurationError, match="no scores"):
        fit_threshold(judge, make_rows(6), cache=None)


def test_unlabelled_or_foreign_rows_fail_before_any_model_call() -> None:
    fake = FakeBackend()
    rows = [*make_rows(4), Example(document="d", summary="s")]
    with pytest.raises(DataError, match="row 4") as info:
        Evaluator(rows, cache=None).run(Judge(fake))
    assert info.value.row == 4
    assert fake.calls == 0
    with pytest.raises(DataError, match="not an Example"):
        Evaluator([("doc", "summary")], cache=None).run(Judge(fake))  # type: ignore[list-item]


def test_one_pass_iterators_work_for_one_judge_only() -> None:
    judge, _ = scoring_judge()
    report = Evaluator((r for r in make_rows(30)), cache=None, bootstrap=0).run(judge)
    assert report.n == 30
    assert report.dataset["content_hash"]
    with pytest.raises(ConfigurationError, match="one-pass"):
        Evaluator(iter(make_rows(3)), cache=None).run([judge, judge])


def test_evaluator_threshold_relabels_scored_rows() -> None:
    rows = make_rows(20)
    judge, _ = scoring_judge()
    strict = Evaluator(rows, cache=None, bootstrap=0, threshold=0.95).run(judge)
    assert strict.metric("specificity").value == 0.0  # every row with a score < 0.95 flagged
    assert strict.run["threshold"] == 0.95


def test_concurrency_is_bounded_and_callbacks_see_every_row() -> None:
    in_flight = 0
    peak = 0

    async def slow(request: Request) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return '{"consistency": 1}'

    seen: list[tuple[int, bool]] = []
    ended: list[EvalReport] = []

    class Recorder(EvalCallback):
        def on_result(self, index: int, example: Example, verdict: Verdict, cached: bool) -> None:
            seen.append((index, cached))

        def on_end(self, judge: Judge, report: EvalReport) -> None:
            ended.append(report)

    judge = Judge(FunctionBackend(slow, name="slow"))
    report = Evaluator(
        make_rows(40), cache=None, concurrency=4, bootstrap=0, callbacks=[Recorder()]
    ).run(judge)
    assert peak == 4
    assert sorted(i for i, _ in seen) == list(range(40))
    assert ended == [report]


def test_price_gives_cost_and_duck_typed_dataset_hash_is_used() -> None:
    class Rows(list[Example]):
        name = "tiny"

        def content_hash(self) -> str:
            return "abc123"

    judge, _ = scoring_judge()
    report = Evaluator(Rows(make_rows(10)), cache=None, bootstrap=0, price=(2.0, 6.0)).run(judge)
    assert report.dataset["name"] == "tiny"
    assert report.dataset["content_hash"] == "abc123"
    assert report.cost_usd == pytest.approx((100 * 2.0 + 20 * 6.0) / 1e6)


def test_real_dataset_class_when_available(tmp_path: Path) -> None:
    dataset_mod = pytest.importorskip("hallujudge._dataset")
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(
            f'{{"id": "p{i}", "premise": "doc {i}", "hypothesis": "sum {i}", "target": {i % 2}}}'
            for i in range(12)
        )
        + "\n"
    )
    data = dataset_mod.Dataset.load(path)
    report = Evaluator(data, cache=None, bootstrap=0).run(scoring_judge()[0])
    assert report.n == 12
    assert report.dataset["content_hash"] == data.content_hash()


async def test_sync_run_inside_an_event_loop_says_to_await() -> None:
    with pytest.raises(ConfigurationError, match="await"):
        Evaluator(make_rows(2), cache=None).run(scoring_judge()[0])


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Evaluator(make_rows(2), concurrency=0)
    with pytest.raises(ConfigurationError):
        Evaluator(make_rows(2), threshold=1.5)
    with pytest.raises(ConfigurationError, match=r"Dataset\.load"):
        Evaluator("data.jsonl")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="Judge"):
        Evaluator(make_rows(2), cache=None).run(42)  # type: ignore[arg-type]


def test_unexpected_backend_errors_are_not_cached(tmp_path: Path) -> None:
    calls: list[str] = []

    def flaky(request: Request) -> str:
        calls.append(request.example.summary)
        if len(calls) == 1:
            raise KeyError("glitch")  # not a BackendError: the Judge's catch-all
        return '{"consistency": 1}'

    judge = Judge(FunctionBackend(flaky, name="flaky"), max_attempts=1)
    rows = make_rows(1)
    first = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0).run(judge)
    assert first.n_unscored == 1
    assert "unexpected error: KeyError" in first.columns.errors[0]
    second = Evaluator(rows, cache=tmp_path / "c.sqlite", bootstrap=0).run(judge)
    assert len(calls) == 2
    assert second.n_scored == 1


def test_progress_bar_can_be_forced(capsys: pytest.CaptureFixture[str]) -> None:
    report = Evaluator(make_rows(5), cache=None, bootstrap=0, progress=True).run(scoring_judge()[0])
    assert report.n == 5
    assert "5/5" in capsys.readouterr().err


def test_non_finite_custom_metrics_are_undefined_and_json_stays_valid() -> None:
    def infinite(example: Example, verdict: Verdict) -> float:
        return float("inf")

    def nan_aggregate(examples: Sequence[Example], verdicts: Sequence[Verdict]) -> float:
        return float("nan")

    report = Evaluator(
        make_rows(4),
        cache=None,
        bootstrap=0,
        metrics=[infinite, aggregate_metric(nan_aggregate)],
    ).run(scoring_judge()[0])
    assert report.custom["infinite"].value is None
    assert report.custom["nan_aggregate"].value is None
    assert "finite" in (report.custom["nan_aggregate"].reason or "")
    assert '"infinite"' in report.to_json()  # allow_nan=False would raise on inf/nan


def test_verdicts_are_not_held_in_memory_during_a_run() -> None:
    import tracemalloc

    async def wordy(document: str, summary: str) -> Verdict:
        # 100 kB of raw text per verdict: holding 2,000 of them would take 200 MB.
        return Verdict(label="consistent", score=0.9, raw="x" * 100_000 + summary)

    rows = make_rows(2000)
    tracemalloc.start()
    try:
        report = Evaluator(rows, cache=None, bootstrap=0, concurrency=16).run(wordy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.n == 2000
    assert peak < 40_000_000
