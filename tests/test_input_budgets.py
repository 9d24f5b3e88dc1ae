"""Input budgets: no document is too big to refuse, and no pair makes more calls than allowed."""

from __future__ import annotations

import math

import pytest

from fakes.mistral_server import TEST_API_KEY, MistralFakeServer
from hallujudge import ConfigurationError, FakeBackend, Judge

DOC = "The council approved the plan on Monday. The mayor signed it on Tuesday."
PARAGRAPHS = " ".join(f"Paragraph {i} is about the harbour and its boats." for i in range(400))


def test_the_defaults_are_documented_values() -> None:
    judge = Judge(FakeBackend())
    assert judge.max_input_chars == 500_000  # as the docstring and docs/concepts/errors.md say
    assert judge.max_calls_per_pair == 32


@pytest.mark.parametrize("field", ["document", "summary"])
def test_text_over_max_input_chars_is_refused_before_any_call(field: str) -> None:
    fake = FakeBackend()
    big = "word " * 2_001  # 10,005 characters
    pair = {"document": DOC, "summary": "The plan was approved.", field: big}
    verdict = Judge(fake, max_input_chars=10_000).score(pair["document"], pair["summary"])
    assert verdict.label == "unscored"
    assert fake.calls == 0
    assert f"the {field} is 10,005 characters (about 2,502 tokens)" in (verdict.error or "")
    assert "max_input_chars=10,000" in (verdict.error or "")
    assert verdict.meta == {"error_type": "InputTooLarge", "retryable": True}  # never cached


def test_no_limit_and_a_raised_limit_judge_the_same_pair() -> None:
    big = DOC + " filler" * 2_000
    for limit in (None, len(big)):
        fake = FakeBackend()
        verdict = Judge(fake, max_input_chars=limit).score(big, "The plan was approved.")
        assert verdict.scored
        assert fake.calls == 1


@pytest.mark.parametrize(
    ("claims", "samples"), [("summary", None), ("sentence", None), ("sentence", 2)]
)
def test_the_call_budget_is_exactly_the_calls_a_pair_makes(
    claims: str, samples: int | None
) -> None:
    summary = "The harbour has boats. Paragraph 3 is about the harbour."
    options = {"max_input_tokens": 900, "claims": claims, "samples": samples}
    counted = FakeBackend(max_input_tokens=900)
    verdict = Judge(counted, max_calls_per_pair=None, **options).score(PARAGRAPHS, summary)
    assert verdict.scored
    needed = counted.calls
    assert needed > 2  # the document takes several windows

    exact = FakeBackend(max_input_tokens=900)
    assert Judge(exact, max_calls_per_pair=needed, **options).score(PARAGRAPHS, summary).scored
    assert exact.calls == needed

    short = FakeBackend(max_input_tokens=900)
    refused = Judge(short, max_calls_per_pair=needed - 1, **options).score(PARAGRAPHS, summary)
    assert refused.label == "unscored"
    assert short.calls == 0
    assert f"would take {needed} model calls, over max_calls_per_pair={needed - 1}" in (
        refused.error or ""
    )


@pytest.mark.parametrize("option", ["max_input_chars", "max_calls_per_pair"])
@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, 2.5])
def test_a_bad_limit_is_a_configuration_error_naming_the_keyword(option: str, value: float) -> None:
    with pytest.raises(ConfigurationError, match=option):
        Judge(FakeBackend(), **{option: value})


def test_a_ten_megabyte_document_costs_no_mistral_call() -> None:
    server = MistralFakeServer(api_key=TEST_API_KEY).start()
    try:
        judge = Judge("mistral:open-mistral-7b", api_key=TEST_API_KEY, server_url=server.url)
        verdict = judge.score("The harbour is busy. " * 500_000, "The harbour is busy.")
        judge.close()
    finally:
        server.stop()
    assert verdict.label == "unscored"
    assert "10,500,000 characters" in (verdict.error or "")
    assert [r for r in server.requests if r.path.endswith("/chat/completions")] == []
