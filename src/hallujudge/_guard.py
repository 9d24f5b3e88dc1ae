"""Guardrails: a judge in an application's request path.

``Guard(judge, on_fail=...)`` checks an answer against its context sentence by sentence and
decides what the application gets back:

* ``"flag"`` (default): the answer unchanged, ``passed=False`` and the unsupported sentences;
* ``"filter"``: the answer without its unsupported sentences;
* ``"raise"``: :class:`~hallujudge.HallucinationError`, carrying the result.

When the judge cannot answer (timeout, outage, unreadable output) ``on_error`` decides:
``"closed"`` (default) treats the unjudged sentences as unsupported, ``"open"`` lets them through
and records the error. Either way ``GuardResult.error`` says what happened.

Bounded work: a context over ``max_context_chars`` or an answer over ``max_sentences`` is not
sent to the judge at all (its sentences are unjudged, with the limit in the error), so no single
request can occupy the judge's workers for long; a check that runs out of ``timeout_s`` cancels
its outstanding judgments. An empty context supports nothing: an answer checked against it
fails whatever ``on_error`` says. A circuit breaker stops calling a failing judge: after
``breaker_failures`` checks in a row with unjudged sentences it opens, and checks are answered
at once (by ``on_error``) for ``breaker_reset_s``; then one check is let through as a probe, and
its success closes the breaker.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict

from . import _observe
from ._claims import split_sentences
from ._errors import ConfigurationError, HallucinationError
from ._judge import Judge
from ._judging import JudgeProtocol, check_text
from ._sync import run_sync
from ._types import Example, Span, Verdict

__all__ = ["DEFAULT_MAX_CONTEXT_CHARS", "DEFAULT_MAX_SENTENCES", "Guard", "GuardResult"]

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


DEFAULT_MAX_CONTEXT_CHARS = 200_000
"""About 50,000 tokens: a generous retrieval context; the local model judges it in about 1 s."""
DEFAULT_MAX_SENTENCES = 100


class _Breaker:
    """Counts failed checks in a row; open means "do not call the judge" until a probe succeeds."""

    def __init__(self, failures: int | None, reset_s: float) -> None:
        self.failures = failures
        self.reset_s = reset_s
        self._lock = threading.Lock()  # checks may run on several threads' event loops
        self._in_a_row = 0
        self._opened_at: float | None = None
        self._probing = False

    def admit(self) -> str | None:
        """None to go ahead (maybe as the probe), or why the check must not call the judge."""
        if self.failures is None:
            return None
        with self._lock:
            if self._opened_at is None:
                return None
            wait = self._opened_at + self.reset_s - time.monotonic()
            if wait <= 0 and not self._probing:
                self._probing = True  # this check is the probe
                return None
            return (
                f"the circuit breaker is open after {self._in_a_row} failed checks in a row; "
                f"the judge is tried again in {max(wait, 0.0):.1f} s"
            )

    def record(self, ok: bool) -> None:
        if self.failures is None:
            return
        with self._lock:
            self._probing = False
            if ok:
                self._in_a_row = 0
                self._opened_at = None
                return
            self._in_a_row += 1
            if self._in_a_row >= self.failures:
                self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


class Guard:
    """Check answers against their context before they reach users.

    Args:
        judge: A Judge or a model string (default: the embedded offline judge).
        threshold: A sentence whose score is below this is unsupported (default: the judge's
            own threshold; judges without scores use their label).
        on_fail: ``"flag"``, ``"filter"`` or ``"raise"`` (see the module docstring).
        on_error: ``"closed"`` or ``"open"``: what unjudged sentences count as.
        timeout_s: Budget for the whole check; sentences not judged in time are unjudged
            (their judgments are cancelled).
        max_context_chars: Longer contexts are not judged (their sentences are unjudged, and
            ``on_error`` decides); None for no limit.
        max_sentences: Answers with more sentences are not judged (one call per sentence);
            None for no limit.
        breaker_failures: Checks in a row with unjudged sentences that open the circuit
            breaker; None for no breaker.
        breaker_reset_s: How long the breaker stays open before one probe check is let through.

    Raises:
        ConfigurationError: For an option out of range (names the keyword).
    """

    def __init__(
        self,
        judge: Judge | str = "local",
        *,
        threshold: float | None = None,
        on_fail: OnFail = "flag",
        on_error: OnError = "closed",
        timeout_s: float | None = 10.0,
        max_context_chars: int | None = DEFAULT_MAX_CONTEXT_CHARS,
        max_sentences: int | None = DEFAULT_MAX_SENTENCES,
        breaker_failures: int | None = 5,
        breaker_reset_s: float = 30.0,
    ) -> None:
        if on_fail not in ("raise", "flag", "filter"):
            raise ConfigurationError("on_fail must be 'raise', 'flag' or 'filter'")
        if on_error not in ("open", "closed"):
            raise ConfigurationError("on_error must be 'open' or 'closed'")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("threshold must lie in [0, 1]")
        if timeout_s is not None and not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ConfigurationError(
                f"timeout_s must be a positive number or None, not {timeout_s!r}"
            )
        for name, limit in (
            ("max_context_chars", max_context_chars),
            ("max_sentences", max_sentences),
            ("breaker_failures", breaker_failures),
        ):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise ConfigurationError(
                    f"{name} must be a positive integer or None, not {limit!r}"
                )
        if not (math.isfinite(breaker_reset_s) and breaker_reset_s > 0):
            raise ConfigurationError(
                f"breaker_reset_s must be a positive number, not {breaker_reset_s!r}"
            )
        self.judge = judge if isinstance(judge, JudgeProtocol) else Judge(judge)
        default = getattr(self.judge, "threshold", 0.5)  # a Judge's own; else 0.5
        self.threshold = default if threshold is None else threshold
        self.on_fail: OnFail = on_fail
        self.on_error: OnError = on_error
        self.timeout_s = timeout_s
        self.max_context_chars = max_context_chars
        self.max_sentences = max_sentences
        self._breaker = _Breaker(breaker_failures, breaker_reset_s)

    @property
    def breaker_open(self) -> bool:
        """Whether the circuit breaker is open (checks do not call the judge)."""
        return self._breaker.is_open

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
            InvalidInputError: If ``context`` or ``answer`` is not a string (a
                ``ConfigurationError`` and a ``TypeError``, as the Judge raises).
        """
        check_text("context", context)
        check_text("answer", answer)
        sentences = split_sentences(answer)
        verdicts = await self._verdicts(context, answer, sentences)
        return self._decide(answer, sentences, verdicts)

    async def _verdicts(
        self, context: str, answer: str, sentences: list[tuple[int, int]]
    ) -> list[Verdict]:
        if not sentences:
            return []
        if not context.strip():  # nothing can support a claim: a judgment, not an error
            empty = Verdict(
                label="inconsistent", score=0.0, reason="the context is empty: nothing supports it"
            )
            return [empty] * len(sentences)
        refused = self._over_limits(context, sentences) or self._breaker.admit()
        if refused is not None:
            return [Verdict.unscored(refused)] * len(sentences)
        try:
            verdicts = await self._judge_sentences(context, answer, sentences)
        except BaseException:  # cancelled: a probe must not leave the breaker half-open
            self._breaker.record(False)
            raise
        self._breaker.record(all(v.scored for v in verdicts))
        return verdicts

    def _over_limits(self, context: str, sentences: list[tuple[int, int]]) -> str | None:
        if self.max_context_chars is not None and len(context) > self.max_context_chars:
            return (
                f"the context has {len(context):,} characters, over the guard's "
                f"max_context_chars={self.max_context_chars:,}; it was not judged"
            )
        if self.max_sentences is not None and len(sentences) > self.max_sentences:
            return (
                f"the answer has {len(sentences)} sentences, over the guard's "
                f"max_sentences={self.max_sentences}; it was not judged"
            )
        return None

    async def _judge_sentences(
        self, context: str, answer: str, sentences: list[tuple[int, int]]
    ) -> list[Verdict]:
        tasks = [
            asyncio.ensure_future(self.judge.ajudge(Example(document=context, summary=answer[a:b])))
            for a, b in sentences
        ]
        await asyncio.wait(tasks, timeout=self.timeout_s)
        verdicts: list[Verdict] = []
        for task in tasks:
            if task.done() and not task.cancelled():
                verdicts.append(task.result())
            else:
                task.cancel()  # stop its backend calls: a timed-out check holds no workers
                verdicts.append(
                    Verdict.unscored(f"the guard's timeout of {self.timeout_s:g} s ran out")
                )
        return verdicts

    def _decide(
        self, answer: str, sentences: list[tuple[int, int]], verdicts: list[Verdict]
    ) -> GuardResult:
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
