"""The answer parser against what real models say, plus property tests: it never raises."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hallujudge import available_prompts, get_prompt
from hallujudge._parse import ParsedAnswer, parse_answer

CONSISTENT = 1
INCONSISTENT = 0


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # JSON, as asked
        ('{"consistency": 1, "reason": "all claims supported"}', CONSISTENT),
        ('{"consistency": 0, "reason": "wrong date"}', INCONSISTENT),
        # JSON in code fences
        ('```json\n{"consistency": 1, "reason": "ok"}\n```', CONSISTENT),
        ('```JSON\n{"consistency": 0}\n```', INCONSISTENT),
        ('```\n{"consistency": 0}\n```', INCONSISTENT),
        # JSON surrounded by prose
        ('Sure! Here is my answer: {"consistency": 0, "reason": "x"} Hope it helps.', INCONSISTENT),
        ('After checking each claim:\n\n{"consistency": 1}\n\nLet me know.', CONSISTENT),
        # value types models use
        ('{"consistency": "1"}', CONSISTENT),
        ('{"consistency": "0"}', INCONSISTENT),
        ('{"consistency": 1.0}', CONSISTENT),
        ('{"consistency": 0.0}', INCONSISTENT),
        ('{"consistency": "1.0"}', CONSISTENT),
        ('{"consistency": true}', CONSISTENT),
        ('{"consistency": false}', INCONSISTENT),
        ('{"consistency": "yes"}', CONSISTENT),
        ('{"consistency": "no"}', INCONSISTENT),
        ('{"Consistency": "Consistent"}', CONSISTENT),
        ('{"label": "inconsistent"}', INCONSISTENT),
        ('{"answer": "not consistent"}', INCONSISTENT),
        ('{"factually_consistent": false, "explanation": "date wrong"}', INCONSISTENT),
        # inverted keys: a hallucination flag means the opposite of consistency
        ('{"hallucination": true}', INCONSISTENT),
        ('{"hallucination": false}', CONSISTENT),
        ('{"hallucinated": "yes"}', INCONSISTENT),
        ('{"is_hallucinated": 0}', CONSISTENT),
        ("hallucination: yes", INCONSISTENT),
        # bare one-word answers
        ("1", CONSISTENT),
        ("0", INCONSISTENT),
        ('"1"', CONSISTENT),
        ("**0**", INCONSISTENT),
        ("`1`", CONSISTENT),
        ("1.0", CONSISTENT),
        ("0.0", INCONSISTENT),
        ("true", CONSISTENT),
        ("False", INCONSISTENT),
        ("Yes", CONSISTENT),
        ("yes.", CONSISTENT),
        ("No", INCONSISTENT),
        ("NO.", INCONSISTENT),
        # label words
        ("consistent", CONSISTENT),
        ("Consistent.", CONSISTENT),
        ("inconsistent", INCONSISTENT),
        ("not consistent", INCONSISTENT),
        ("The summary is consistent with the document.", CONSISTENT),
        ("The summary is not consistent with the document.", INCONSISTENT),
        ("The summary is factually inconsistent.", INCONSISTENT),
        ("The summary is unsupported by the document.", INCONSISTENT),
        ("No, the summary is not supported.", INCONSISTENT),
        ("Yes, the summary is consistent.", CONSISTENT),
        # negations that read as "consistent" before the fix (a flipped label)
        ("The summary isn't consistent with the document.", INCONSISTENT),
        ("The summary is not fully consistent with the document.", INCONSISTENT),
        ("The summary is not entirely supported.", INCONSISTENT),
        ("The summary is only partially consistent.", INCONSISTENT),
        ("Answer: not fully consistent", INCONSISTENT),
        ("This summary is NOT consistent.", INCONSISTENT),
        # a negated negative is a positive claim (read as inconsistent before the fix)
        ("The summary contains no hallucinations.", CONSISTENT),
        ("No hallucination detected.", CONSISTENT),
        ("There are no unsupported claims.", CONSISTENT),
        ("The summary is not hallucinated.", CONSISTENT),
        ("I found no inconsistencies.", CONSISTENT),
        ("The summary is free of hallucinations.", CONSISTENT),
        ("The summary has no support and is hallucinated.", INCONSISTENT),
        ("No, the summary is unsupported.", INCONSISTENT),
        # a restated question names a label without asserting it (read as consistent before)
        ("Is the summary factually consistent with the document? No, it says 1950.", INCONSISTENT),
        ("Is the summary consistent with the document? Yes.", CONSISTENT),
        ("Is it supported? Not consistent.", INCONSISTENT),
        # a leading yes/no followed by an explanation answers the question every prompt asks
        ("No. The summary says 1950 but the document says 1932.", INCONSISTENT),
        ("**No** - the document never mentions a ferry.", INCONSISTENT),
        ("Yes: every claim appears in the document.", CONSISTENT),
        # an explicit answer after reasoning that names both labels: the last answer wins
        (
            "Claim 1 is consistent with the document. Claim 2 is inconsistent: the document "
            "says 2.4 million.\n\nAnswer: inconsistent",
            INCONSISTENT,
        ),
        (
            "Parts look inconsistent at first, but on reflection they are consistent.\n"
            "Final answer: consistent",
            CONSISTENT,
        ),
        ("Reasoning...\n**Answer**: inconsistent", INCONSISTENT),
        ("The answer is: consistent.", CONSISTENT),
        ("Answer: 0", INCONSISTENT),
        ("Answer: no", INCONSISTENT),
        ("Label: Inconsistent", INCONSISTENT),
        ("Consistency: 1", CONSISTENT),
        ("Label = 0", INCONSISTENT),
        # truncated JSON that still carries its label
        ('{"consistency": 1, "reason": "the document st', CONSISTENT),
        ('{"reason": "wrong date", "consistency": 0', INCONSISTENT),
        # the label in JSON wins over label words in the reason
        ('{"consistency": 0, "reason": "only the first claim is consistent"}', INCONSISTENT),
    ],
)
def test_reads_label(text: str, label: int) -> None:
    parsed = parse_answer(text)
    assert parsed.error is None, parsed
    assert parsed.label == label


@pytest.mark.parametrize(
    ("text", "error_part"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("I'm sorry, but I cannot help with that.", "refused"),
        ("I cannot determine whether this summary is consistent.", "refused"),
        # a refusal that names a negative word must not count as "inconsistent"
        ("I cannot determine whether the summary is hallucinated.", "refused"),
        ("As an AI, I am unable to judge whether this is unsupported.", "refused"),
        ("Some parts are consistent and some are inconsistent.", "ambiguous"),
        ('{"reason": "the document says', "truncated"),
        ('{"consistency": 2, "reason": "x"}', "no consistency label"),
        ('{"consistency": null}', "no consistency label"),
        ("The weather in Paris is nice.", "no consistency label"),
        ("maybe", "no consistency label"),
        ("Is it consistent? The summary says 1950.", "no consistency label"),
        ("No problem, here is my analysis of the claims.", "no consistency label"),
    ],
)
def test_unscored_with_reason(text: str, error_part: str) -> None:
    parsed = parse_answer(text)
    assert parsed.label is None
    assert parsed.error is not None
    assert error_part in parsed.error


def test_reason_is_kept_from_json() -> None:
    parsed = parse_answer('{"consistency": 0, "reasoning": "the date is 1859, not 1895"}')
    assert parsed.label == 0
    assert parsed.reason == "the date is 1859, not 1895"


def test_offset_points_at_the_label_value() -> None:
    text = 'Here: {"reason": "fine", "consistency": 1}'
    parsed = parse_answer(text)
    assert parsed.offset is not None
    assert text[parsed.offset] == "1"
    text = "Step by step... Answer: inconsistent"
    parsed = parse_answer(text)
    assert parsed.offset is not None
    assert text[parsed.offset :].startswith("inconsistent")


@pytest.mark.parametrize(
    "text",
    [
        '{"reasoning": "claim 1 has consistency: 0 issues", "consistency": 1}',
        '{"reasoning": "it said \\"consistency\\": 0 earlier", "consistency": 1}',
    ],
)
def test_offset_is_the_key_not_the_same_word_in_the_reasoning(text: str) -> None:
    # before the fix the offset pointed at the "0" inside the reasoning string
    parsed = parse_answer(text)
    assert parsed.label == 1
    assert parsed.offset == text.rindex("1")


def test_non_string_input_is_unscored_not_raised() -> None:
    parsed = parse_answer(None)  # type: ignore[arg-type]
    assert parsed.label is None
    assert parsed.error is not None
    assert "NoneType" in parsed.error


@pytest.mark.parametrize(
    "text",
    [
        "answer" + " " * 100_000 + "x",  # hung (cubic regex backtracking) before the fix
        "**Answer" + "*" * 100_000 + "x",
        "consistency" + " " * 100_000,
        '{"a":' * 20_000,  # RecursionError in the JSON decoder before the fix
        "{" * 100_000,
        "`" * 100_000,
        "answer:" * 20_000,
        "consistent inconsistent " * 20_000,
        "not " + " " * 100_000 + "consistent",
        "isn't fully" * 20_000,
        "a" * 300_000,
        "Is it consistent?" * 20_000,
        "no a " * 60_000 + "hallucination",
    ],
    ids=["ans-sp", "ans-st", "key", "deep", "br", "tick", "a", "w", "n", "f", "long", "q", "no"],
)
def test_adversarial_inputs_are_fast(text: str) -> None:
    started = time.perf_counter()
    parsed = parse_answer(text)
    assert time.perf_counter() - started < 2.0
    assert (parsed.label is None) == (parsed.error is not None)


def _check_invariant(parsed: ParsedAnswer) -> None:
    assert parsed.label in (0, 1, None)
    assert (parsed.label is None) == (parsed.error is not None)


label_words = st.sampled_from(
    [
        "consistent", "inconsistent", "not consistent", "Answer:", "{", "}", '"consistency"',
        ":", "1", "0", "true", "false", "yes", "no", "```json", "```", "hallucination",
        "I cannot", "I'm sorry", " ", "\n", "**", '"', "'", "reason", "supported", "=",
    ]
)  # fmt: skip
model_like = st.lists(st.one_of(label_words, st.text(max_size=20)), max_size=40).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), model_like))
def test_parse_answer_never_raises(text: str) -> None:
    _check_invariant(parse_answer(text))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=50), st.integers(min_value=20_000, max_value=200_000))
def test_parse_answer_never_raises_on_huge_text(piece: str, size: int) -> None:
    text = (piece * (size // len(piece) + 1))[:size]
    started = time.perf_counter()
    _check_invariant(parse_answer(text))
    assert time.perf_counter() - started < 5.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(available_prompts())), st.one_of(st.text(), model_like))
def test_every_strategy_parse_never_raises(name: str, text: str) -> None:
    strategy = get_prompt(name)
    verdict = strategy.parse(text)
    assert verdict.label in ("consistent", "inconsistent", "unscored")
    assert (verdict.label == "unscored") == (verdict.error is not None)
    assert verdict.raw == text
    assert verdict.prompt == strategy.id
