"""Assertions for test suites: is this output supported by its source?

>>> from hallujudge.testing import assert_consistent
>>> assert_consistent("Paris is the capital of France.", "Paris is France's capital.")

:func:`assert_consistent` and :func:`assert_hallucinated` judge one pair and raise an
``AssertionError`` whose message shows the verdict, the score against the threshold, the reason,
and the unsupported claims with their character offsets in the summary. An ``unscored`` verdict
(the judge could not decide: timeout, unreadable answer, empty text) fails either assertion with
its reason unless the call passes ``allow_unscored=True``.

Without ``judge=``, the assertions use the judge of the running pytest session (see
``--hallujudge-model`` in the plugin, :mod:`hallujudge._pytest_plugin`), or outside pytest one
offline ``Judge("local")`` built on first use. Every judgment is counted in the session's
:class:`Tally`, which the plugin prints at the end of the run.

This module imports nothing heavy at import time: the pytest plugin imports it in every test run
of every project that has hallujudge installed.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._judge import Judge
    from ._types import Verdict

__all__ = [
    "Tally",
    "assert_consistent",
    "assert_hallucinated",
    "format_verdict",
    "pop_context",
    "push_context",
]

_SHOWN = 200  # characters of the summary quoted in a failure message


@dataclass
class Tally:
    """What a test session's assertions judged, for the end-of-run summary.

    Attributes:
        pairs: Pairs judged through :func:`assert_consistent` / :func:`assert_hallucinated`.
        failures: Assertions that failed (unscored ones included).
        unscored: Verdicts the judge could not decide.
        latency_s: Judgment wall times, in order.
        prompt_tokens: Prompt tokens summed over verdicts that reported usage.
        completion_tokens: Completion tokens, likewise.
        models: The judges' model names, in order of first use.
    """

    pairs: int = 0
    failures: int = 0
    unscored: int = 0
    latency_s: list[float] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    models: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, verdict: Verdict, *, failed: bool) -> None:
        """Count one judgment (thread-safe: tests may judge from threads).

        Args:
            verdict: The verdict.
            failed: Whether the assertion failed.
        """
        with self._lock:
            self.pairs += 1
            self.failures += failed
            self.unscored += not verdict.scored
            if verdict.latency_s is not None:
                self.latency_s.append(verdict.latency_s)
            if verdict.usage is not None:
                self.prompt_tokens += verdict.usage.prompt_tokens
                self.completion_tokens += verdict.usage.completion_tokens
            if verdict.model and verdict.model not in self.models:
                self.models.append(verdict.model)

    def cost_usd(self, price: tuple[float, float] | None) -> float | None:
        """The tokens' cost at ``price`` (USD per million prompt, completion tokens)."""
        if price is None:
            return None
        return (self.prompt_tokens * price[0] + self.completion_tokens * price[1]) / 1e6


@dataclass
class _Context:
    tally: Tally
    judge: Callable[[], Judge]


def _default_judge() -> Judge:
    global _fallback_judge
    with _build_lock:
        if _fallback_judge is None:
            from ._judge import Judge

            _fallback_judge = Judge("local")
        return _fallback_judge


_build_lock = threading.Lock()
_fallback_judge: Judge | None = None
_by_name: dict[str, Judge] = {}
# The innermost pytest session's context last; the bottom one serves code outside pytest.
_contexts: list[_Context] = [_Context(Tally(), _default_judge)]


def push_context(tally: Tally, judge: Callable[[], Judge]) -> None:
    """Make ``tally`` and ``judge`` the ones assertions use (the plugin, per pytest session)."""
    _contexts.append(_Context(tally, judge))


def pop_context(tally: Tally) -> None:
    """Undo the :func:`push_context` that installed ``tally``."""
    for i in range(len(_contexts) - 1, 0, -1):
        if _contexts[i].tally is tally:
            del _contexts[i]
            return


def _resolve(judge: Judge | str | None) -> Judge:
    if judge is None:
        return _contexts[-1].judge()
    if isinstance(judge, str):
        with _build_lock:
            if judge not in _by_name:  # one judge per model string, not one per assertion
                from ._judge import Judge

                _by_name[judge] = Judge(judge)
            return _by_name[judge]
    return judge


def _is_consistent(verdict: Verdict, threshold: float | None) -> bool:
    if threshold is not None and verdict.score is not None:
        return verdict.score >= threshold
    return verdict.label == "consistent"


def format_verdict(
    verdict: Verdict, summary: str, *, expected: str, threshold: float | None
) -> str:
    """The failure message of an assertion: verdict, score, reason and unsupported claims.

    Args:
        verdict: The judge's verdict.
        summary: The summary that was judged (the spans' offsets point into it).
        expected: ``"consistent"`` or ``"hallucinated"``.
        threshold: The threshold the assertion applied (None: the verdict's label decided).

    Returns:
        A multi-line message, shaped like pytest's report of a failed comparison.
    """
    if not verdict.scored:
        head = f"the judge could not decide (unscored): {verdict.error}"
    elif expected == "consistent":
        head = "the summary is not supported by the document (expected consistent)"
    else:
        head = "the summary is supported by the document (expected hallucinated)"
    score = "n/a" if verdict.score is None or math.isnan(verdict.score) else f"{verdict.score:.3f}"
    rule = f"score >= {threshold:g} means consistent" if threshold is not None else "label decides"
    quoted = summary if len(summary) <= _SHOWN else summary[:_SHOWN] + "..."
    lines = [
        head,
        f"  verdict: {verdict.label}",
        f"  score:   {score} (P(consistent); {rule})",
        f"  judge:   {verdict.model} ({verdict.prompt})",
    ]
    if verdict.reason:
        lines.append(f"  reason:  {verdict.reason}")
    claims = [s for s in verdict.spans if s.target == "summary"]
    if claims:
        lines.append("  unsupported claims (character offsets in the summary):")
        lines += [
            f"    [{s.start}:{s.end}] {s.text!r}" + (f": {s.note}" if s.note else "")
            for s in claims
        ]
    lines.append(f"  summary: {quoted!r}")
    if not verdict.scored:
        lines.append("  (pass allow_unscored=True to accept undecided verdicts)")
    return "\n".join(lines)


def _check(
    document: str,
    summary: str,
    *,
    judge: Judge | str | None,
    threshold: float | None,
    allow_unscored: bool,
    expected: str,
) -> Verdict:
    __tracebackhide__ = True
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        from ._errors import ConfigurationError

        raise ConfigurationError("threshold must lie in [0, 1] (or None to use the label)")
    verdict = _resolve(judge).score(document, summary)
    if not verdict.scored:
        failed = not allow_unscored
    else:
        failed = _is_consistent(verdict, threshold) != (expected == "consistent")
    _contexts[-1].tally.add(verdict, failed=failed)
    if failed:
        raise AssertionError(
            format_verdict(verdict, summary, expected=expected, threshold=threshold)
        )
    return verdict


def assert_consistent(
    document: str,
    summary: str,
    *,
    judge: Judge | str | None = None,
    threshold: float | None = None,
    allow_unscored: bool = False,
) -> Verdict:
    """Assert that ``summary`` is supported by ``document``.

    Args:
        document: The source text.
        summary: The text that must rest on it (a summary, an answer).
        judge: A Judge or a model string (default: the session's judge, see the module).
        threshold: Require ``score >= threshold`` (default: the verdict's label decides; a
            judge without scores always uses its label).
        allow_unscored: Let an undecided verdict pass instead of failing with its reason.

    Returns:
        The verdict, for further checks.

    Raises:
        AssertionError: With the verdict, score, reason and unsupported claims.
        ConfigurationError: For a threshold outside [0, 1] or a bad model string.
    """
    __tracebackhide__ = True
    return _check(
        document,
        summary,
        judge=judge,
        threshold=threshold,
        allow_unscored=allow_unscored,
        expected="consistent",
    )


def assert_hallucinated(
    document: str,
    summary: str,
    *,
    judge: Judge | str | None = None,
    threshold: float | None = None,
    allow_unscored: bool = False,
) -> Verdict:
    """Assert that ``summary`` is *not* supported by ``document`` (a known hallucination).

    Args:
        document: The source text.
        summary: The text expected to contain an unsupported claim.
        judge: A Judge or a model string (default: the session's judge, see the module).
        threshold: Require ``score < threshold`` (default: the verdict's label decides).
        allow_unscored: Let an undecided verdict pass instead of failing with its reason.

    Returns:
        The verdict, for further checks (``verdict.spans`` holds the unsupported claims).

    Raises:
        AssertionError: With the verdict, score and reason.
        ConfigurationError: For a threshold outside [0, 1] or a bad model string.
    """
    __tracebackhide__ = True
    return _check(
        document,
        summary,
        judge=judge,
        threshold=threshold,
        allow_unscored=allow_unscored,
        expected="hallucinated",
    )
