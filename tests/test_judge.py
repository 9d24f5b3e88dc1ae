"""The Judge's policy over FakeBackend / FunctionBackend: requests, samples, retries, timeouts,
rate limits, concurrency, long documents, repair, streaming. No HTTP here."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterator

import pydantic
import pytest

from hallujudge import (
    BadRequestError,
    ConfigurationError,
    Example,
    FakeBackend,
    FunctionBackend,
    InvalidInputError,
    Judge,
    JudgeOutputError,
    RateLimiter,
    RateLimitError,
    Request,
    Response,
    ServerError,
    TokenLogprob,
    Usage,
    Verdict,
)

YES = '{"consistency": 1, "reason": "supported"}'
NO = '{"consistency": 0, "reason": "not supported"}'
DOC = "The bridge opened in 1932. It spans the river."
SUMMARY = "The bridge opened in 1932."


def fast_judge(backend: FakeBackend | FunctionBackend, **options: object) -> Judge:
    """A judge whose retry pauses are tiny, so retry tests take milliseconds."""
    options.setdefault("max_wait_s", 0.01)
    return Judge(backend, **options)  # type: ignore[arg-type]


# -- the request ---------------------------------------------------------------------------


def test_default_request_is_deterministic() -> None:
    fake = FakeBackend([YES])
    verdict = Judge(fake).score(DOC, SUMMARY)
    assert verdict.label == "consistent"
    assert fake.calls == 1
    request = fake.requests[0]
    assert request.temperature == 0.0
    assert request.seed == 0
    assert request.example == Example(document=DOC, summary=SUMMARY)
    assert request.response_format == {"type": "json_object"}
    assert DOC in request.messages[-1]["content"]
    assert verdict.model == "fake"
    assert verdict.prompt == "zero-shot@2"
    assert verdict.raw == YES
    assert verdict.reason == "supported"
    assert verdict.latency_s is not None
    assert verdict.latency_s >= 0


def test_seed_and_temperature_are_passed_through() -> None:
    fake = FakeBackend([YES])
    Judge(fake, seed=7, temperature=0.2, max_tokens=50, timeout_s=9).score(DOC, SUMMARY)
    request = fake.requests[0]
    assert (request.seed, request.temperature, request.max_tokens) == (7, 0.2, 50)
    assert request.timeout_s == 9


# -- samples and threshold -----------------------------------------------------------------


def test_samples_make_k_calls_and_score_is_the_consistent_share() -> None:
    fake = FakeBackend([YES, NO, YES, YES])
    verdict = Judge(fake, samples=4).score(DOC, SUMMARY)
    assert fake.calls == 4
    assert verdict.score == pytest.approx(0.75)
    assert verdict.label == "consistent"
    assert sorted(verdict.meta["samples"]) == [
        "consistent",
        "consistent",
        "consistent",
        "inconsistent",
    ]
    assert {r.temperature for r in fake.requests} == {0.7}
    assert len({r.seed for r in fake.requests}) == 4  # one seed per sample, else they repeat


def test_threshold_applies_to_sampled_scores() -> None:
    verdict = Judge(FakeBackend([YES, NO, YES, YES]), samples=4, threshold=0.8).score(DOC, SUMMARY)
    assert verdict.score == pytest.approx(0.75)
    assert verdict.label == "inconsistent"


def test_samples_ignore_unscored_answers_in_the_share() -> None:
    verdict = Judge(FakeBackend([YES, "gibberish", NO]), samples=3).score(DOC, SUMMARY)
    assert verdict.score == pytest.approx(0.5)
    assert verdict.meta["samples"].count("unscored") == 1


def test_all_samples_unreadable_is_unscored() -> None:
    verdict = Judge(FakeBackend(["??", "!!"]), samples=2).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.error


def test_usage_is_summed_over_samples() -> None:
    usage = Usage(prompt_tokens=100, completion_tokens=5)
    script = [Response(text=YES, usage=usage) for _ in range(3)]
    verdict = Judge(FakeBackend(script), samples=3).score(DOC, SUMMARY)
    assert verdict.usage == Usage(prompt_tokens=300, completion_tokens=15)
    assert verdict.usage.total_tokens == 315


def test_settings_cover_every_answer_changing_option() -> None:
    base = Judge(FakeBackend()).settings()
    # two judges that can answer differently must never share cache keys
    for options in (
        {"prompt": "one-shot"},
        {"temperature": 0.3},
        {"seed": 1},
        {"samples": 3},
        {"threshold": 0.6},
        {"max_input_tokens": 900},
        {"long_documents": "unscored"},
        {"repair": True},  # was missing: cached unscored answers hid the repair
    ):
        assert Judge(FakeBackend(), **options).settings() != base, options  # type: ignore[arg-type]


def test_invalid_options_are_configuration_errors() -> None:
    fake = FakeBackend()
    for options in (
        {"samples": 0},
        {"threshold": 1.5},
        {"max_attempts": 0},
        {"concurrency": 0},
        {"long_documents": "truncate"},
        # these were accepted before: rpm=0 meant "no limit", timeout_s=0 failed every call
        {"rpm": 0},
        {"rpm": -5},
        {"timeout_s": 0},
        {"deadline_s": -1},
        {"max_input_tokens": 0},
    ):
        with pytest.raises(ConfigurationError):
            Judge(fake, **options)  # type: ignore[arg-type]


def test_zero_concurrency_in_score_many_is_an_error() -> None:
    # before the fix concurrency=0 silently meant "the default"
    with pytest.raises(ConfigurationError, match="concurrency"):
        Judge(FakeBackend()).score_many([(DOC, SUMMARY)], concurrency=0)


# -- retries, timeouts, deadlines ----------------------------------------------------------


def test_rate_limit_waits_retry_after_then_succeeds() -> None:
    times: list[float] = []

    def answer(request: Request) -> str:
        times.append(time.monotonic())
        if len(times) == 1:
            raise RateLimitError("HTTP 429: slow down", retry_after=0.05)
        return YES

    verdict = Judge(FunctionBackend(answer)).score(DOC, SUMMARY)
    assert verdict.label == "consistent"
    assert len(times) == 2
    assert times[1] - times[0] >= 0.05


def test_server_errors_are_retried() -> None:
    fake = FakeBackend([ServerError("HTTP 503"), ServerError("HTTP 502"), NO])
    verdict = fast_judge(fake).score(DOC, SUMMARY)
    assert fake.calls == 3
    assert verdict.label == "inconsistent"
    assert verdict.error is None


def test_non_retryable_error_makes_one_call_and_is_unscored() -> None:
    fake = FakeBackend([BadRequestError("HTTP 400: unknown model", status_code=400), YES])
    verdict = fast_judge(fake).score(DOC, SUMMARY)
    assert fake.calls == 1
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "BadRequestError" in verdict.error
    assert "unknown model" in verdict.error
    assert verdict.meta["retryable"] is False


def test_exhausted_attempts_are_unscored_and_marked_retryable() -> None:
    fake = FakeBackend([ServerError(f"HTTP 500: boom {i}") for i in range(10)])
    verdict = fast_judge(fake, max_attempts=3).score(DOC, SUMMARY)
    assert fake.calls == 3
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "ServerError" in verdict.error
    assert "boom 2" in verdict.error  # the last error's text
    assert verdict.meta["retryable"] is True
    assert verdict.meta["error_type"] == "ServerError"


def test_deadline_bounds_retries() -> None:
    fake = FakeBackend([ServerError("HTTP 500") for _ in range(1000)], latency_s=0.02)
    started = time.perf_counter()
    verdict = Judge(fake, max_attempts=1000, deadline_s=0.3, max_wait_s=0.05).score(DOC, SUMMARY)
    elapsed = time.perf_counter() - started
    assert verdict.label == "unscored"
    assert elapsed < 2.0  # generous for busy CI machines; unbounded retries would take minutes
    assert 1 < fake.calls < 1000


def test_deadline_bounds_a_hanging_call() -> None:
    # Before the fix a call that hung outlived the deadline by timeout_s (60 s by default).
    fake = FakeBackend(latency_s=10.0)
    started = time.perf_counter()
    verdict = Judge(fake, deadline_s=0.2, timeout_s=60).score(DOC, SUMMARY)
    assert time.perf_counter() - started < 3.0
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "BackendTimeoutError" in verdict.error
    assert "deadline_s" in verdict.error


def test_per_call_timeout_gives_backend_timeout_error() -> None:
    fake = FakeBackend(latency_s=10.0)
    started = time.perf_counter()
    verdict = fast_judge(fake, timeout_s=0.05, max_attempts=2).score(DOC, SUMMARY)
    assert time.perf_counter() - started < 3.0
    assert fake.calls == 2  # a timeout is retryable
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "BackendTimeoutError" in verdict.error
    assert "timeout_s" in verdict.error
    assert verdict.meta["retryable"] is True


def test_rpm_limiter_spaces_calls() -> None:
    starts: list[float] = []

    def answer(request: Request) -> str:
        starts.append(time.monotonic())
        return YES

    judge = Judge(FunctionBackend(answer), rpm=1200)  # one call every 50 ms
    verdicts = judge.score_many([(DOC, SUMMARY)] * 5, concurrency=5)
    assert all(v.label == "consistent" for v in verdicts)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # slots are 50 ms apart; a start measured late (scheduling) shortens one gap a little
    assert min(gaps) >= 0.025
    assert starts[-1] - starts[0] >= 0.18


def test_judges_sharing_one_rate_limiter_spend_one_budget() -> None:
    """``with_rate_limiter``: two judges on one limiter wait their turns in one queue."""
    starts: list[float] = []

    def answer(request: Request) -> str:
        starts.append(time.monotonic())
        return YES

    class Counting(RateLimiter):
        acquired = 0

        async def acquire(self) -> None:
            Counting.acquired += 1
            await super().acquire()

    shared = Counting(1200)  # one call every 50 ms, for both judges together
    plain = Judge(FunctionBackend(answer), prompt="zero-shot")
    first = plain.with_rate_limiter(shared)
    second = Judge(FunctionBackend(answer), prompt="one-shot").with_rate_limiter(shared)

    async def both() -> list[Verdict]:
        pairs = [(DOC, SUMMARY)] * 3
        a, b = await asyncio.gather(first.ascore_many(pairs), second.ascore_many(pairs))
        return [*a, *b]

    verdicts = asyncio.run(both())
    assert [v.label for v in verdicts] == ["consistent"] * 6
    assert Counting.acquired == 6
    assert starts[-1] - starts[0] >= 0.22  # six slots 50 ms apart, whichever judge asked
    assert first.settings() == plain.settings()  # a limit changes timing, never the cache key
    plain.score(DOC, SUMMARY)  # the original keeps no limiter
    assert Counting.acquired == 6
    with pytest.raises(InvalidInputError, match="acquire"):
        plain.with_rate_limiter(object())  # type: ignore[arg-type]


# -- many pairs ----------------------------------------------------------------------------


def test_score_many_keeps_order_with_random_latency() -> None:
    rng = random.Random(1)

    async def answer(request: Request) -> str:
        await asyncio.sleep(rng.uniform(0, 0.02))
        n = int(request.example.summary.split()[-1])
        return YES if n % 3 else NO

    pairs = [(f"Document {i}.", f"Summary {i}") for i in range(60)]
    verdicts = Judge(FunctionBackend(answer)).score_many(pairs, concurrency=8)
    assert len(verdicts) == 60
    for i, verdict in enumerate(verdicts):
        assert verdict.label == ("consistent" if i % 3 else "inconsistent"), i


def test_score_many_accepts_examples_tuples_and_dicts() -> None:
    items = [
        Example(document=DOC, summary=SUMMARY),
        (DOC, SUMMARY),
        {"document": DOC, "summary": SUMMARY},
        {"premise": DOC, "hypothesis": SUMMARY},
    ]
    fake = FakeBackend()
    verdicts = Judge(fake).score_many(items)
    assert [v.label for v in verdicts] == ["consistent"] * 4
    assert fake.calls == 4


def test_one_broken_row_does_not_sink_the_batch() -> None:
    def answer(request: Request) -> str:
        if "row 3" in request.example.summary:
            raise RuntimeError("bug in a custom backend")
        return YES

    pairs = [(DOC, f"row {i}") for i in range(6)]
    verdicts = Judge(FunctionBackend(answer)).score_many(pairs, concurrency=3)
    assert len(verdicts) == 6
    assert verdicts[3].label == "unscored"
    assert verdicts[3].error is not None
    assert "RuntimeError" in verdicts[3].error
    assert "bug in a custom backend" in verdicts[3].error
    assert [v.label for i, v in enumerate(verdicts) if i != 3] == ["consistent"] * 5


def test_concurrency_bound_is_respected() -> None:
    in_flight = 0
    peak = 0

    async def answer(request: Request) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return YES

    verdicts = Judge(FunctionBackend(answer)).score_many([(DOC, SUMMARY)] * 40, concurrency=3)
    assert len(verdicts) == 40
    assert peak == 3


def test_judge_default_concurrency_is_used() -> None:
    in_flight = 0
    peak = 0

    async def answer(request: Request) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return YES

    Judge(FunctionBackend(answer), concurrency=2).score_many([(DOC, SUMMARY)] * 10)
    assert peak == 2


async def test_aiter_scores_streams_a_generator() -> None:
    pulled = 0
    finished = 0
    in_flight = 0
    peak = 0

    def examples() -> Iterator[Example]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            # never more than `concurrency` examples taken from the source and not yet finished
            assert pulled - finished <= 4
            yield Example(document=f"Document {i}.", summary=f"Summary {i}.")

    async def answer(request: Request) -> Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return Response(text="consistent", p_consistent=0.9)

    judge = Judge(FunctionBackend(answer, uses_prompt=False))
    seen = set()
    async for index, verdict in judge.aiter_scores(examples(), concurrency=4):
        finished += 1
        seen.add(index)
        assert verdict.label == "consistent"
    assert seen == set(range(10_000))
    assert peak <= 4


async def test_aiter_scores_does_not_drain_the_source_when_stopped_early() -> None:
    pulled = 0

    def examples() -> Iterator[Example]:
        nonlocal pulled
        for i in range(1_000_000):
            pulled += 1
            yield Example(document=f"Document {i}.", summary=f"Summary {i}.")

    judge = Judge(FakeBackend())
    stream = judge.aiter_scores(examples(), concurrency=4)
    count = 0
    async for _ in stream:
        count += 1
        if count == 20:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert pulled <= 20 + 4


async def test_aiter_scores_accepts_pairs_and_rejects_bad_shapes() -> None:
    judge = Judge(FakeBackend())
    got = [
        pair
        async for pair in judge.aiter_scores(
            [(DOC, SUMMARY), {"document": DOC, "summary": SUMMARY}]
        )
    ]
    assert sorted(i for i, _ in got) == [0, 1]
    assert all(v.label == "consistent" for _, v in got)
    with pytest.raises(ConfigurationError, match="each item must be"):
        async for _ in judge.aiter_scores(["not a pair"]):  # type: ignore[list-item]
            pass


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "summary", "reason"),
    [("", SUMMARY, "document is empty"), ("   \n", SUMMARY, "document is empty"),
     (DOC, "", "summary is empty"), (DOC, " \t", "summary is empty")],
)  # fmt: skip
def test_empty_text_is_unscored_without_a_call(document: str, summary: str, reason: str) -> None:
    fake = FakeBackend()
    verdict = Judge(fake).score(document, summary)
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert reason in verdict.error
    assert fake.calls == 0
    assert verdict.model == "fake"


def test_wrong_types_are_configuration_errors() -> None:
    judge = Judge(FakeBackend())
    with pytest.raises(ConfigurationError, match="document must be str"):
        judge.score(None, SUMMARY)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="summary must be str"):
        judge.score(DOC, 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="each item must be"):
        judge.score_many(["just a string"])  # type: ignore[list-item]
    # before the fix these raised pydantic's ValidationError, outside the error tree
    with pytest.raises(ConfigurationError, match="document must be str"):
        judge.score_many([(1, SUMMARY)])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="summary must be str"):
        judge.score_many([{"document": DOC, "summary": 2.5}])  # type: ignore[list-item]


# -- repair --------------------------------------------------------------------------------


def test_repair_asks_once_more_with_the_bad_answer() -> None:
    fake = FakeBackend(["Well, it depends on how you look at it.", NO])
    verdict = Judge(fake, repair=True).score(DOC, SUMMARY)
    assert fake.calls == 2
    assert verdict.label == "inconsistent"
    assert verdict.meta.get("repaired") is True
    second = fake.requests[1].messages
    assert second[-2] == {"role": "assistant", "content": "Well, it depends on how you look at it."}
    assert second[-1]["role"] == "user"
    assert "format" in second[-1]["content"]


def test_repair_happens_at_most_once() -> None:
    fake = FakeBackend(["hmm", "still hmm", YES])
    verdict = Judge(fake, repair=True).score(DOC, SUMMARY)
    assert fake.calls == 2
    assert verdict.label == "unscored"


def test_no_repair_by_default() -> None:
    fake = FakeBackend(["hmm", YES])
    verdict = Judge(fake).score(DOC, SUMMARY)
    assert fake.calls == 1
    assert verdict.label == "unscored"
    assert verdict.raw == "hmm"


# -- long documents ------------------------------------------------------------------------

KEY_SENTENCE = "The lighthouse keeper retired in 1987 after forty years."


def long_document() -> str:
    filler = [
        f"Paragraph {i} describes the harbour, its boats and the weather on day {i}."
        for i in range(150)
    ]
    return " ".join([*filler, KEY_SENTENCE])


def window_backend() -> FunctionBackend:
    def answer(request: Request) -> Response:
        chunk = request.example.document
        assert chunk in request.messages[-1]["content"]  # the window is what the model sees
        text = YES if KEY_SENTENCE in chunk else NO
        return Response(text=text, usage=Usage(prompt_tokens=10, completion_tokens=2))

    return FunctionBackend(answer)


def test_long_document_is_chunked_and_support_at_the_end_is_found() -> None:
    document = long_document()
    assert len(document) > 10_000
    judge = Judge(window_backend(), max_input_tokens=600, max_calls_per_pair=None)
    verdict = judge.score(document, "The lighthouse keeper retired in 1987.")
    assert verdict.label == "consistent"
    chunks = verdict.meta["chunks"]
    assert chunks > 1
    assert verdict.usage == Usage(prompt_tokens=10 * chunks, completion_tokens=2 * chunks)
    windows = verdict.meta["windows"]
    assert windows[0][0] == 0
    assert windows[-1][1] == len(document)
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start <= end  # windows overlap or touch: no text is skipped


def test_long_document_without_support_is_inconsistent() -> None:
    document = long_document().replace(KEY_SENTENCE, "The keeper never retired.")
    verdict = Judge(window_backend(), max_input_tokens=600, max_calls_per_pair=None).score(
        document, "He retired."
    )
    assert verdict.label == "inconsistent"
    assert verdict.meta["chunks"] > 1


def test_long_document_unscored_when_asked() -> None:
    fake = FakeBackend()
    judge = Judge(fake, max_input_tokens=600, long_documents="unscored")
    verdict = judge.score(long_document(), "The lighthouse keeper retired in 1987.")
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "600 tokens" in verdict.error
    assert "long_documents" in verdict.error
    assert fake.calls == 0


def test_summary_filling_the_budget_names_the_summary_not_the_document() -> None:
    fake = FakeBackend()
    verdict = Judge(fake, max_input_tokens=600).score(KEY_SENTENCE, "A claim. " * 400)
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "shorten the summary" in verdict.error
    assert "600 tokens" in verdict.error
    assert fake.calls == 0


def test_failed_windows_stay_retryable() -> None:
    # before the fix the combined verdict dropped meta["retryable"], so caches kept the glitch
    fake = FakeBackend([ServerError("HTTP 503") for _ in range(1000)])
    judge = Judge(fake, max_input_tokens=600, max_attempts=1, max_calls_per_pair=None)
    verdict = judge.score(long_document(), "The lighthouse keeper retired in 1987.")
    assert verdict.label == "unscored"
    assert verdict.meta["chunks"] > 1
    assert verdict.meta["retryable"] is True
    assert verdict.error is not None
    assert "ServerError" in verdict.error


def test_short_document_is_not_chunked() -> None:
    verdict = Judge(window_backend(), max_input_tokens=600, max_calls_per_pair=None).score(
        KEY_SENTENCE, "The keeper retired."
    )
    assert verdict.label == "consistent"
    assert "chunks" not in verdict.meta


def test_backend_budget_is_the_default() -> None:
    fake = FakeBackend(max_input_tokens=600)
    verdict = Judge(fake, max_calls_per_pair=None).score(
        long_document(), "The lighthouse keeper retired in 1987."
    )
    assert fake.calls > 1
    assert verdict.meta["chunks"] == fake.calls


# -- scoring backends and the Verdict ------------------------------------------------------


def test_scoring_backend_probability_and_threshold() -> None:
    def answer(request: Request) -> Response:
        assert request.messages == ()  # scoring backends get the pair, not a prompt
        return Response(text="", p_consistent=0.3, reason="numbers differ")

    backend = FunctionBackend(answer, uses_prompt=False)
    verdict = Judge(backend).score(DOC, SUMMARY)
    assert verdict.label == "inconsistent"
    assert verdict.score == pytest.approx(0.3)
    assert verdict.reason == "numbers differ"
    assert Judge(backend, threshold=0.25).score(DOC, SUMMARY).label == "consistent"


@pytest.mark.parametrize("p", [float("nan"), 1.5, -0.1])
def test_invalid_backend_probability_is_unscored(p: float) -> None:
    # before the fix NaN compared False with the threshold and was counted as "inconsistent"
    backend = FunctionBackend(lambda r: Response(text="", p_consistent=p), uses_prompt=False)
    verdict = Judge(backend).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.error is not None
    assert "invalid probability" in verdict.error


def test_broken_logprobs_keep_the_label_and_drop_the_score() -> None:
    pieces = ['{"', "consistency", '":', " ", "0", "}"]
    logprobs = [TokenLogprob(token=t, logprob=float("nan"), top={t: float("nan")}) for t in pieces]
    response = Response(text="".join(pieces), logprobs=tuple(logprobs))
    verdict = Judge(FakeBackend([response])).score(DOC, SUMMARY)
    assert verdict.label == "inconsistent"
    assert verdict.score is None


def test_verdict_hallucinated_and_frozen() -> None:
    assert Verdict(label="inconsistent").hallucinated is True
    assert Verdict(label="consistent").hallucinated is False
    assert Verdict.unscored("why").hallucinated is None
    assert Verdict.unscored("why").error == "why"
    verdict = Judge(FakeBackend()).score(DOC, SUMMARY)
    with pytest.raises(pydantic.ValidationError):
        verdict.label = "inconsistent"  # type: ignore[misc]
    assert verdict.model_dump(mode="json")["label"] == "consistent"


async def test_ascore_and_context_manager() -> None:
    async with Judge(FakeBackend([NO])) as judge:
        verdict = await judge.ascore(DOC, "The bridge opened in 1950.")
    assert verdict.label == "inconsistent"
    assert verdict.hallucinated is True


def test_an_unreadable_answer_is_named_judge_output_error_and_kept() -> None:
    # As docs/concepts/errors.md prints it: "unscored JudgeOutputError I am not sure."
    verdict = Judge(FakeBackend(["I am not sure."])).score("The cat sat.", "A cat sat.")
    assert verdict.label == "unscored"
    assert verdict.meta["error_type"] == JudgeOutputError.__name__ == "JudgeOutputError"
    assert verdict.raw == "I am not sure."
    failed = Judge(FakeBackend([ServerError("HTTP 503")]), max_attempts=1).score("A.", "A.")
    assert failed.meta["error_type"] == "ServerError"  # a failed call keeps its own name
