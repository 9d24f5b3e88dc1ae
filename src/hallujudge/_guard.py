"""Guardrails: a judge in an application's request path.

``Guard(judge, on_fail=...)`` checks an answer against its context sentence by sentence and
decides what the application gets back:

* ``"flag"`` (default): the answer unchanged, ``passed=False`` and the unsupported sentences;
* ``"filter"``: the answer without its unsupported sentences;
* ``"raise"``: :class:`~hallujudge.HallucinationError`, carrying the result.

When the judge cannot answer (timeout, outage, unreadable output) ``on_error`` decides:
``"closed"`` (default) treats the unjudged sentences as unsupported, ``"open"`` lets them through
and records the error. Either way ``GuardResult.error`` says what happened.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict

from . import _observe
from ._claims import split_sentences
from ._errors import ConfigurationError, HallucinationError
from ._judge import Judge
from ._sync import run_sync
from ._types import Example, Span, Verdict

__all__ = ["Guard", "GuardResult"]

OnFail = Literal["raise", "flag", "filter"]
OnError = Literal["open", "closed"]


class GuardResult(BaseModel):
    """The outcome of one guard check.

    Attributes:
        passed: True when every sentence is supported (or, failing open, could not be judged).
        answer: What the application should use: the original answer, or the filtered one.
        original: The answer as given.
        unsupported: Sentences of the original answer that are not supported, with offsets.
        unjudged: Sentences the judge could not decide on.
        verdicts: One verdict per sentence, in order.
        error: Why some sentences could not be judged, if any.
        action: What the guard did: ``"pass"``, ``"flag"``, ``"filter"`` or ``"raise"``.
    """

    model_config = ConfigDict(frozen=True)

    passed: bool
    answer: str
    original: str
    unsupported: tuple[Span, ...] = ()
    unjudged: tuple[Span, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    error: str | None = None
    action: Literal["pass", "flag", "filter", "raise"] = "pass"


class Guard:
    """Check answers against their context before they reach users.

    Args:
        judge: A Judge or a model string (default: the embedded offline judge).
        threshold: A sentence whose score is below this is unsupported (default: the judge's
            own threshold; judges without scores use their label).
        on_fail: ``"flag"``, ``"filter"`` or ``"raise"`` (see the module docstring).
        on_error: ``"closed"`` or ``"open"``: what unjudged sentences count as.
        timeout_s: Budget for the whole check; sentences not judged in time are unjudged.
    """

    def __init__(
        self,
        judge: Judge | str = "local",
        *,
        threshold: float | None = None,
        on_fail: OnFail = "flag",
        on_error: OnError = "closed",
        timeout_s: float | None = 10.0,
    ) -> None:
        if on_fail not in ("raise", "flag", "filter"):
            raise ConfigurationError("on_fail must be 'raise', 'flag' or 'filter'")
        if on_error not in ("open", "closed"):
            raise ConfigurationError("on_error must be 'open' or 'closed'")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("threshold must lie in [0, 1]")
        self.judge = judge if isinstance(judge, Judge) else Judge(judge)
        self.threshold = self.judge.threshold if threshold is None else threshold
        self.on_fail: OnFail = on_fail
        self.on_error: OnError = on_error
        self.timeout_s = timeout_s

    def check(self, context: str, answer: str) -> GuardResult:
        """Check an answer. Sync twin of :meth:`acheck`."""
        return run_sync(self.acheck(context, answer), async_name="guard.acheck")

    @_observe.observed("guard_check")
    async def acheck(self, context: str, answer: str) -> GuardResult:
        """Check every sentence of ``answer`` against ``context``.

        Args:
            context: The retrieved documents or source the answer must rest on.
            answer: The model's answer to check.

        Returns:
            The result; with ``on_fail="filter"``, ``answer`` holds the supported sentences.

        Raises:
            HallucinationError: With ``on_fail="raise"``, when the check does not pass.
            ConfigurationError: If ``context`` or ``answer`` is not a string.
        """
        if not isinstance(context, str) or not isinstance(answer, str):
            raise ConfigurationError("context and answer must both be strings")
        sentences = split_sentences(answer)
        tasks = [
            asyncio.ensure_future(self.judge.ajudge(Example(document=context, summary=answer[a:b])))
            for a, b in sentences
        ]
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout_s)
        verdicts: list[Verdict] = []
        for task in tasks:
            if task.done() and not task.cancelled():
                verdicts.append(task.result())
            else:
                task.cancel()
                verdicts.append(
                    Verdict.unscored(f"the guard's timeout of {self.timeout_s:g} s ran out")
                )
        unsupported: list[Span] = []
        unjudged: list[Span] = []
        for (a, b), verdict in zip(sentences, verdicts, strict=True):
            span = Span(start=a, end=b, text=answer[a:b], note=verdict.reason or "")
            if not verdict.scored:
                unjudged.append(span.model_copy(update={"note": verdict.error or "unjudged"}))
            elif self._unsupported(verdict):
                unsupported.append(span)
        errors = sorted({s.note for s in unjudged})
        failing = unsupported + (unjudged if self.on_error == "closed" else [])
        passed = not failing and bool(answer.strip() or not sentences)
        if passed:
            action: Literal["pass", "flag", "filter", "raise"] = "pass"
            kept = answer
        else:
            action = self.on_fail
            kept = _without(answer, failing) if self.on_fail == "filter" else answer
        result = GuardResult(
            passed=passed,
            answer=kept,
            original=answer,
            unsupported=tuple(unsupported),
            unjudged=tuple(unjudged),
            verdicts=tuple(verdicts),
            error="; ".join(errors) or None,
            action=action,
        )
        if action == "raise":
            listed = "; ".join(repr(s.text) for s in failing[:3])
            raise HallucinationError(
                f"{len(failing)} of {len(sentences)} sentences are not supported by the context: "
                f"{listed}",
                result=result,
            )
        return result

    def _unsupported(self, verdict: Verdict) -> bool:
        if verdict.score is not None:
            return verdict.score < self.threshold
        return verdict.label == "inconsistent"


def _without(text: str, spans: list[Span]) -> str:
    """``text`` with the given spans removed and the whitespace between what is left tidied."""
    kept: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        kept.append(text[position : span.start])
        position = span.end
    kept.append(text[position:])
    return " ".join(piece.strip() for piece in kept if piece.strip())
