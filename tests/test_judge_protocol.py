"""Judges are a small protocol: each kind implements it, none pretends to be a model Judge."""

from __future__ import annotations

from typing import Any

import pytest

from hallujudge import (
    Cascade,
    ConfigurationError,
    Evaluator,
    Example,
    FakeBackend,
    Guard,
    Judge,
    JudgeMethods,
    JudgeProtocol,
    Verdict,
)

DOC = "The museum opened in 1998. Entry is free on Sundays."
YES = '{"consistency": 1, "reason": "supported"}'


class KeywordJudge(JudgeMethods):
    """A judge of our own, written against the protocol only: 'free' must be in the claim."""

    def __init__(self) -> None:
        self.concurrency = 4
        self.seen: list[str] = []
        self.closed = False

    @property
    def model(self) -> str:
        return "keyword"

    @property
    def prompt(self) -> str:
        return "none"

    def settings(self) -> dict[str, Any]:
        return {"backend": "keyword"}

    async def ajudge(self, example: Example) -> Verdict:
        self.seen.append(example.summary)
        ok = "free" in example.summary
        return Verdict(label="consistent" if ok else "inconsistent", score=0.9 if ok else 0.1)

    async def aclose(self) -> None:
        self.closed = True


def test_every_kind_of_judge_implements_the_protocol_and_only_judge_is_a_judge() -> None:
    judge = Judge(FakeBackend())
    cascade = Cascade([judge, Judge(FakeBackend(name="big"))])
    own = KeywordJudge()
    for candidate in (judge, cascade, own):
        assert isinstance(candidate, JudgeProtocol)
    assert not isinstance(cascade, Judge) and not isinstance(own, Judge)
    assert not isinstance(lambda d, s: None, JudgeProtocol)  # a function is wrapped, not a judge


def test_the_shared_methods_work_on_any_judge() -> None:
    own = KeywordJudge()
    assert own.score(DOC, "Entry is free.").label == "consistent"
    verdicts = own.score_many([(DOC, "Entry is free."), (DOC, "Entry costs $5.")])
    assert [v.label for v in verdicts] == ["consistent", "inconsistent"]
    with pytest.raises(ConfigurationError):
        own.score(None, "x")  # type: ignore[arg-type]
    with own:
        pass
    assert own.closed


def test_the_evaluator_and_the_guard_take_a_judge_of_our_own() -> None:
    own = KeywordJudge()
    rows = [
        Example(document=DOC, summary="Entry is free.", label=1, id="a"),
        Example(document=DOC, summary="Entry costs $5.", label=0, id="b"),
    ]
    report = Evaluator(rows, cache=None, bootstrap=0, progress=False).run(own)
    assert report.judge == "keyword" and report.accuracy == 1.0
    result = Guard(own, on_fail="filter").check(DOC, "Entry is free. Entry costs $5.")
    assert not result.passed
    assert result.answer == "Entry is free."


def test_a_cascade_of_judges_of_any_kind_closes_them_all() -> None:
    own = KeywordJudge()
    big = Judge(FakeBackend([YES], name="big"))
    cascade = Cascade([own, big], band=(0.2, 0.8))
    verdict = cascade.score(DOC, "Entry is free.")  # 0.9: sure, the first judge answers
    assert verdict.meta["answered_by"] == 0 and verdict.label == "consistent"
    cascade.close()
    assert own.closed


def test_batch_mode_needs_a_model_backed_judge() -> None:
    rows = [Example(document=DOC, summary="Entry is free.", label=1, id="a")]
    with pytest.raises(ConfigurationError, match="mode='batch' needs a model-backed Judge"):
        Evaluator(rows, cache=None, mode="batch", progress=False).run(KeywordJudge())
