"""OpenTelemetry evaluation events for judgments and guard checks (``hallujudge[otel]``).

>>> from hallujudge import otel
>>> otel.instrument()  # doctest: +SKIP

After :func:`instrument`, every ``Judge`` judgment and every ``Guard`` check opens a span
(``hallujudge.judge`` / ``hallujudge.guard``), a child of the caller's current span when there is
one, so a trace viewer shows the verdict beside the LLM call it judged. The span carries a
``gen_ai.evaluation.result`` event with the GenAI semantic conventions' attributes:

* ``gen_ai.evaluation.name``: ``"hallucination"`` for a judgment, ``"hallucination.guard"`` for a
  guard check (configurable);
* ``gen_ai.evaluation.score.value``: the verdict's P(consistent), or for a guard check the share
  of sentences supported;
* ``gen_ai.evaluation.score.label``: ``consistent`` / ``inconsistent``, or ``pass`` / ``fail``;
* ``gen_ai.evaluation.explanation``: the judge's reason (or why it could not decide);
* ``error.type`` when the verdict is unscored;

plus ``hallujudge.judge.model``, ``hallujudge.judge.prompt`` (``name@version``) and
``hallujudge.judge.settings_revision``, a short hash of everything that can change the judge's
answers, so two spans with the same revision came from identically configured judges.

What is never recorded unless you opt in: the document and summary texts (``capture_content=
True`` adds them) and API keys (never: explanations are scrubbed of known keys). Unsupported
claims are recorded by character offsets only. A judge's explanation is its own text, and may
quote a few words of the summary; ``explanation=False`` leaves it out.

Importing :mod:`hallujudge` never imports OpenTelemetry; this module does, and judgments are
observed only between :func:`instrument` and :meth:`Instrumentation.close`.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from . import _observe
from ._tracing import backend_secrets, scrub

__all__ = [
    "EVENT",
    "Instrumentation",
    "instrument",
    "settings_revision",
]

T = TypeVar("T")

EVENT = "gen_ai.evaluation.result"
_MAX_TEXT = 2000  # longest explanation recorded, in characters


def settings_revision(judge: Any) -> str:
    """A short, stable hash of a judge's settings (everything that can change its answers).

    Secrets are removed before hashing, so rotating an API key keeps the revision.

    Args:
        judge: A Judge (anything with ``settings()``, or a ``settings`` mapping or model).

    Returns:
        12 hex digits of the SHA-256 of the settings as sorted JSON.
    """
    settings = getattr(judge, "settings", None)
    if callable(settings):
        settings = settings()
    dump = getattr(settings, "model_dump", None)
    if callable(dump):  # a pydantic settings object
        settings = dump(mode="json")
    if not isinstance(settings, Mapping):
        return "unknown"
    clean = scrub(dict(settings), backend_secrets(getattr(judge, "backend", None)))
    text = json.dumps(clean, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Instrumentation:
    """An installed observer; :meth:`close` (or leaving a ``with`` block) removes it.

    Args:
        tracer_provider: Where spans go (default: the global provider).
        capture_content: Record the document and summary (context and answer) texts.
        explanation: Record the judge's reason as ``gen_ai.evaluation.explanation``.
        evaluation_name: ``gen_ai.evaluation.name`` of judgments; guard checks get
            ``"<name>.guard"``.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        *,
        capture_content: bool = False,
        explanation: bool = True,
        evaluation_name: str = "hallucination",
    ) -> None:
        from . import __version__

        self._tracer = trace.get_tracer("hallujudge", __version__, tracer_provider=tracer_provider)
        self.capture_content = capture_content
        self.explanation = explanation
        self.evaluation_name = evaluation_name
        self._revisions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        _observe.add_observer(self)

    def close(self) -> None:
        """Stop observing (spans already started still end normally)."""
        _observe.remove_observer(self)

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the observer protocol ----------------------------------------------------------------

    async def judgment(self, call: Callable[[], Awaitable[T]], judge: Any, example: Any) -> T:
        """Run one judgment inside a ``hallujudge.judge`` span and record its verdict."""
        with self._tracer.start_as_current_span(
            "hallujudge.judge", kind=SpanKind.INTERNAL, attributes=self._judge_attributes(judge)
        ) as span:
            if self.capture_content:
                span.set_attribute("hallujudge.document", example.document)
                span.set_attribute("hallujudge.summary", example.summary)
            verdict = await call()
            self._record_verdict(span, verdict, judge)
            return verdict

    async def guard_check(
        self, call: Callable[[], Awaitable[T]], guard: Any, context: str, answer: str
    ) -> T:
        """Run one guard check inside a ``hallujudge.guard`` span and record its outcome."""
        with self._tracer.start_as_current_span(
            "hallujudge.guard",
            kind=SpanKind.INTERNAL,
            attributes=self._judge_attributes(guard.judge),
            record_exception=False,
        ) as span:
            if self.capture_content:
                span.set_attribute("hallujudge.context", context)
                span.set_attribute("hallujudge.answer", answer)
            try:
                result = await call()
            except Exception as exc:  # on_fail="raise": the result rides on the error
                carried = getattr(exc, "result", None)
                if carried is not None:
                    self._record_guard(span, carried, guard)
                span.set_attribute("error.type", type(exc).__name__)
                raise
            self._record_guard(span, result, guard)
            return result

    # -- attributes ---------------------------------------------------------------------------

    def _revision(self, judge: Any) -> str:
        # The settings of a judge do not change after construction: hash once per judge.
        try:
            cached = self._revisions.get(judge)
        except TypeError:  # not weak-referenceable: hash every time
            return settings_revision(judge)
        if cached is None:
            cached = self._revisions[judge] = settings_revision(judge)
        return cached

    def _judge_attributes(self, judge: Any) -> dict[str, Any]:
        return {
            "hallujudge.judge.model": str(getattr(judge, "model", "")),
            "hallujudge.judge.prompt": str(getattr(judge, "prompt", "")),
            "hallujudge.judge.settings_revision": self._revision(judge),
        }

    def _text(self, text: str | None, judge: Any) -> str | None:
        if not text or not self.explanation:
            return None
        clean = str(scrub(text, backend_secrets(getattr(judge, "backend", None))))
        return clean if len(clean) <= _MAX_TEXT else clean[:_MAX_TEXT] + "..."

    def _record_verdict(self, span: Span, verdict: Any, judge: Any) -> None:
        event: dict[str, Any] = {
            "gen_ai.evaluation.name": self.evaluation_name,
            **self._judge_attributes(judge),
        }
        if verdict.scored:
            event["gen_ai.evaluation.score.label"] = verdict.label
            if verdict.score is not None:
                event["gen_ai.evaluation.score.value"] = float(verdict.score)
            explanation = self._text(verdict.reason, judge)
        else:
            event["error.type"] = str(verdict.meta.get("error_type", "unscored"))
            explanation = self._text(verdict.error, judge)
        if explanation is not None:
            event["gen_ai.evaluation.explanation"] = explanation
        offsets = [f"{s.start}:{s.end}" for s in verdict.spans if s.target == "summary"]
        details: dict[str, Any] = {"hallujudge.verdict.label": verdict.label}
        if offsets:
            details["hallujudge.verdict.unsupported_offsets"] = offsets
        if verdict.latency_s is not None:
            details["hallujudge.verdict.latency_s"] = float(verdict.latency_s)
        if verdict.usage is not None:
            details["gen_ai.usage.input_tokens"] = verdict.usage.prompt_tokens
            details["gen_ai.usage.output_tokens"] = verdict.usage.completion_tokens
        span.set_attributes({**event, **details})
        span.add_event(EVENT, event)
        if not verdict.scored:
            span.set_status(Status(StatusCode.ERROR, event["error.type"]))

    def _record_guard(self, span: Span, result: Any, guard: Any) -> None:
        total = len(result.verdicts)
        failing = len(result.unsupported) + len(result.unjudged)
        event: dict[str, Any] = {
            "gen_ai.evaluation.name": f"{self.evaluation_name}.guard",
            "gen_ai.evaluation.score.label": "pass" if result.passed else "fail",
            **self._judge_attributes(guard.judge),
        }
        if total:
            event["gen_ai.evaluation.score.value"] = (total - failing) / total
        parts = [f"{len(result.unsupported)} of {total} sentences unsupported"]
        if result.unjudged:
            parts.append(f"{len(result.unjudged)} not judged: {result.error}")
        explanation = self._text("; ".join(parts) + f"; action {result.action}", guard.judge)
        if explanation is not None:
            event["gen_ai.evaluation.explanation"] = explanation
        if result.error:
            event["error.type"] = "unjudged"
        details: dict[str, Any] = {
            "hallujudge.guard.action": result.action,
            "hallujudge.guard.passed": result.passed,
            "hallujudge.guard.sentences": total,
        }
        if result.unsupported:
            details["hallujudge.guard.unsupported_offsets"] = [
                f"{s.start}:{s.end}" for s in result.unsupported
            ]
        if result.unjudged:
            details["hallujudge.guard.unjudged_offsets"] = [
                f"{s.start}:{s.end}" for s in result.unjudged
            ]
        span.set_attributes({**event, **details})
        span.add_event(EVENT, event)


def instrument(
    tracer_provider: trace.TracerProvider | None = None,
    *,
    capture_content: bool = False,
    explanation: bool = True,
    evaluation_name: str = "hallucination",
) -> Instrumentation:
    """Emit a span with a ``gen_ai.evaluation.result`` event for every judgment and guard check.

    Args:
        tracer_provider: Where spans go (default: the global provider, as set by
            ``opentelemetry.trace.set_tracer_provider`` or auto-instrumentation).
        capture_content: Also record the document and summary texts (off: they may be private).
        explanation: Record the judge's reason (on; it may quote words of the summary).
        evaluation_name: ``gen_ai.evaluation.name`` of judgments.

    Returns:
        The installed instrumentation; call ``close()`` or use it as a context manager to stop.
    """
    return Instrumentation(
        tracer_provider,
        capture_content=capture_content,
        explanation=explanation,
        evaluation_name=evaluation_name,
    )
