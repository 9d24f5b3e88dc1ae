"""Guard, claim-level judging and Cascade, with scripted backends (no network)."""

from __future__ import annotations

import asyncio

import pytest

from hallujudge import Cascade, FunctionBackend, Guard, HallucinationError, Judge, Request, Response

CONTEXT = "The museum opened in 1998. It holds 4,000 paintings. Entry is free on Sundays."


def _supported(request: Request) -> Response:
    """A judge that calls a sentence consistent iff it appears verbatim in the document."""
    ex = request.example
    ok = ex.summary.strip() in ex.document
    return Response(text="", p_consistent=0.9 if ok else 0.1, reason="verbatim check")


def _judge(**kwargs: object) -> Judge:
    return Judge(FunctionBackend(_supported, uses_prompt=False), **kwargs)  # type: ignore[arg-type]


def _sentences_judged(answer: str) -> list[tuple[int, int]]:
    """The sentences a guard judges in ``answer``, as offsets (its judge supports none)."""

    def never(request: Request) -> Response:
        return Response(text="", p_consistent=0.1, reason="supports nothing")

    result = Guard(Judge(FunctionBackend(never, uses_prompt=False))).check(CONTEXT, answer)
    assert len(result.verdicts) == len(result.unsupported)
    assert all(answer[s.start : s.end] == s.text for s in result.unsupported)
    return [(s.start, s.end) for s in result.unsupported]


def test_the_guard_judges_each_sentence_at_its_offsets() -> None:
    text = 'Dr. Smith arrived. He paid $2.5m on Jan. 5! "Fine," he said.\nNext line'
    spans = _sentences_judged(text)
    assert [text[a:b] for a, b in spans] == [
        "Dr. Smith arrived.",
        "He paid $2.5m on Jan. 5!",
        '"Fine," he said.',
        "Next line",
    ]


def test_the_guard_judges_no_sentence_of_a_blank_answer_and_a_whole_single_one() -> None:
    assert _sentences_judged("   ") == []
    assert _sentences_judged("One claim") == [(0, 9)]


def test_judge_sentence_claims_reports_failed_sentence_with_offsets() -> None:
    summary = "The museum opened in 1998. It holds 9,000 paintings."
    verdict = _judge(claims="sentence").score(CONTEXT, summary)
    assert verdict.label == "inconsistent"
    assert verdict.score == pytest.approx(0.1)
    assert len(verdict.spans) == 1
    span = verdict.spans[0]
    assert summary[span.start : span.end] == "It holds 9,000 paintings."
    assert [c["label"] for c in verdict.meta["claims"]] == ["consistent", "inconsistent"]


def test_judge_whole_summary_by_default() -> None:
    calls: list[str] = []

    def record(request: Request) -> Response:
        calls.append(request.example.summary)
        return _supported(request)

    judge = Judge(FunctionBackend(record, uses_prompt=False))
    judge.score(CONTEXT, "The museum opened in 1998. It holds 4,000 paintings.")
    assert len(calls) == 1


@pytest.mark.parametrize("on_fail", ["flag", "filter", "raise"])
def test_guard_modes(on_fail: str) -> None:
    guard = Guard(_judge(), on_fail=on_fail)  # type: ignore[arg-type]
    answer = "The museum opened in 1998. It was built by Romans. Entry is free on Sundays."
    if on_fail == "raise":
        with pytest.raises(HallucinationError) as info:
            guard.check(CONTEXT, answer)
        result = info.value.result
        assert result.action == "raise"
    else:
        result = guard.check(CONTEXT, answer)
    assert result.passed is False
    assert [s.text for s in result.unsupported] == ["It was built by Romans."]
    start = result.unsupported[0].start
    assert answer[start : result.unsupported[0].end] == "It was built by Romans."
    if on_fail == "filter":
        assert result.answer == "The museum opened in 1998. Entry is free on Sundays."
    else:
        assert result.answer == answer


def test_guard_passes_supported_answer() -> None:
    result = Guard(_judge(), on_fail="raise").check(CONTEXT, "Entry is free on Sundays.")
    assert result.passed is True
    assert result.action == "pass"
    assert result.answer == "Entry is free on Sundays."


@pytest.mark.parametrize(("on_error", "passed"), [("open", True), ("closed", False)])
def test_guard_timeout_fail_open_or_closed(on_error: str, passed: bool) -> None:
    async def slow(request: Request) -> Response:
        await asyncio.sleep(5)
        return _supported(request)

    judge = Judge(FunctionBackend(slow, uses_prompt=False), timeout_s=30)
    guard = Guard(judge, on_fail="filter", on_error=on_error, timeout_s=0.05)  # type: ignore[arg-type]
    result = guard.check(CONTEXT, "The museum opened in 1998.")
    assert result.passed is passed
    assert len(result.unjudged) == 1
    assert result.error is not None and "timeout" in result.error
    assert result.answer == ("The museum opened in 1998." if passed else "")


def test_guard_rejects_bad_types_and_options() -> None:
    from hallujudge import ConfigurationError

    with pytest.raises(ConfigurationError):
        Guard(_judge(), on_fail="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Guard(_judge()).check(CONTEXT, None)  # type: ignore[arg-type]


def test_cascade_escalates_only_uncertain_band() -> None:
    cheap_calls: list[str] = []
    strong_calls: list[str] = []

    def cheap(request: Request) -> Response:
        cheap_calls.append(request.example.summary)
        p = {"sure-yes": 0.95, "sure-no": 0.05}.get(request.example.summary, 0.5)
        return Response(text="", p_consistent=p)

    def strong(request: Request) -> Response:
        strong_calls.append(request.example.summary)
        return Response(text="", p_consistent=0.01)

    cascade = Cascade(
        [
            Judge(FunctionBackend(cheap, name="cheap", uses_prompt=False)),
            Judge(FunctionBackend(strong, name="strong", uses_prompt=False)),
        ],
        band=(0.2, 0.8),
    )
    verdicts = cascade.score_many([("d", "sure-yes"), ("d", "unsure"), ("d", "sure-no")])
    assert [v.label for v in verdicts] == ["consistent", "inconsistent", "inconsistent"]
    assert strong_calls == ["unsure"]
    assert len(cheap_calls) == 3
    assert [v.meta["answered_by"] for v in verdicts] == [0, 1, 0]
    assert verdicts[1].model == "strong"
    assert cascade.model == "cascade(cheap>strong)"


def test_cascade_escalates_unscored() -> None:
    first = Judge(FunctionBackend(lambda r: "garbage", name="a"), max_attempts=1)
    second = Judge(FunctionBackend(lambda r: '{"consistency": 1}', name="b"))
    verdict = Cascade([first, second]).score("doc", "sum")
    assert verdict.label == "consistent"
    assert verdict.meta["cascade"][0]["label"] == "unscored"


def test_max_calls_bounds_fan_out_of_chunks_and_sentences() -> None:
    in_flight = 0
    peak = 0
    calls = 0

    async def slow(request: Request) -> Response:
        nonlocal in_flight, peak, calls
        calls += 1
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return Response(text='{"consistency": 1}')

    judge = Judge(
        FunctionBackend(slow), max_calls=3, claims="sentence", max_input_tokens=600, max_tokens=8
    )
    document = "Filler sentence about nothing in particular. " * 200
    summary = "One claim. Two claims. Three claims. Four claims."
    verdicts = judge.score_many([(document, summary)] * 4, concurrency=4)
    assert all(v.label == "consistent" for v in verdicts)
    assert len(verdicts[0].meta["claims"]) == 4  # each sentence judged, over several windows
    assert peak == 3
    assert calls > 4 * 4  # 4 pairs x 4 sentences x several windows: real fan-out


def test_cascade_latency_counts_every_level() -> None:
    async def slow_unsure(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response(text="", p_consistent=0.5)

    async def slow_sure(request: Request) -> Response:
        await asyncio.sleep(0.05)
        return Response(text="", p_consistent=0.99)

    cascade = Cascade(
        [
            Judge(FunctionBackend(slow_unsure, uses_prompt=False)),
            Judge(FunctionBackend(slow_sure, uses_prompt=False)),
        ]
    )
    verdict = cascade.score("d", "s")
    assert verdict.meta["answered_by"] == 1
    assert verdict.latency_s is not None
    assert verdict.latency_s >= 0.1


@pytest.mark.parametrize(("seed", "expected"), [(7, [7, 8, 9]), (None, [None, None, None])])
def test_samples_send_distinct_seeds_or_none(seed: int | None, expected: list[int | None]) -> None:
    from hallujudge import FakeBackend

    fake = FakeBackend()
    Judge(fake, samples=3, seed=seed).score("doc", "summary")
    assert sorted(r.seed for r in fake.requests if r.seed is not None) == [
        s for s in expected if s is not None
    ]
    assert sum(r.seed is None for r in fake.requests) == expected.count(None)


@pytest.mark.parametrize(
    ("context", "answer", "name"), [(None, "x", "context"), ("x", 3, "answer")]
)
def test_a_non_string_is_the_judges_input_error(context: object, answer: object, name: str) -> None:
    from hallujudge import InvalidInputError

    with pytest.raises(InvalidInputError, match=rf"^{name} must be str, not ") as caught:
        Guard(_judge()).check(context, answer)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)  # as Judge.score raises for the same mistake
