"""Weave instrumentation that costs nothing when nobody is tracing.

:func:`traced` turns a function (sync or async) into a ``weave.op`` with a stable, readable name
(``hallujudge.Judge.score``, ``hallujudge.Judge.score_many``, ``hallujudge.backend.complete``,
``hallujudge.prompt.render``, ``hallujudge.prompt.parse``, ``hallujudge.Evaluator.run``), but only
while a Weave client is initialised. The check per call is a dictionary lookup and a function
call: is ``weave`` already imported (we never import it here) and does its client getter return
a client? Otherwise the function runs directly. So ``import hallujudge`` never imports Weave,
and a user who never calls ``weave.init(...)`` pays a few hundred nanoseconds per call.

What a trace shows is chosen here, not by Weave's default capture of every argument: pairs,
model, prompt ``name@version`` and scrubbed settings go in; verdicts (label, score, latency,
token usage) come out. :func:`scrub` removes API keys and authorization headers by key name and
by value (the keys found in the environment, given to a backend as ``api_key=`` and found on
backend objects), so no secret reaches a trace even if it is passed under an unexpected name.
By value means whole tokens only (:func:`redact`): a key is never cut out of a longer word, so
text that does not hold the key comes back unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._types import Example, Verdict

if TYPE_CHECKING:
    from ._backends._base import Backend, Request, Response
    from ._prompts import PromptStrategy

__all__ = [
    "REDACTED",
    "Cancelled",
    "backend_secrets",
    "complete",
    "evaluator_inputs",
    "is_tracing",
    "judge_inputs",
    "many_inputs",
    "many_output",
    "parse",
    "redact",
    "remember_secret",
    "render",
    "report_output",
    "response_to_dict",
    "scrub",
    "scrub_exception",
    "traced",
    "verdict_to_dict",
]

F = TypeVar("F", bound=Callable[..., Any])

REDACTED = "[redacted]"

# The module that holds Weave's global client; present in sys.modules once weave is imported.
_CLIENT_MODULE = "weave.trace.context.weave_client_context"

# Key names whose values are secrets wherever they appear (settings, headers, options).
_SECRET_KEY = re.compile(
    r"(api[_-]?key|apikey|secret|token(?!s)|password|passwd|authorization|auth[_-]?header|"
    r"bearer|credential|cookie|^key$)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_SECRET_ENV = ("MISTRAL_API_KEY", "OPENAI_API_KEY", "WANDB_API_KEY", "HF_TOKEN")


def is_tracing() -> bool:
    """Whether a Weave client is initialised in this process (cheap; never imports weave).

    Returns:
        True after ``weave.init(...)`` (and before ``weave.finish()``).
    """
    module = sys.modules.get(_CLIENT_MODULE)
    return module is not None and module.get_weave_client() is not None


# Characters that continue a key: a key's value is redacted only where neither neighbour is one,
# so a short key ("e") never cuts into words ("exceeded").
_TOKEN_CHAR = r"[A-Za-z0-9_\-]"
# Shorter values are not secrets worth the name and would match ordinary words.
_MIN_SECRET_CHARS = 4
# Keys handed to backends as api_key= (not only from the environment), scrubbed like env keys.
_remembered: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Treat ``value`` as a secret in every later :func:`scrub` / :func:`redact` of this process.

    Backends call this with the key they were given (``api_key=``), so traces and error
    messages are scrubbed of it even where the backend object is not at hand.

    Args:
        value: A key or password; None and values under 4 characters are ignored.
    """
    if value and len(value) >= _MIN_SECRET_CHARS:
        _remembered.add(value)


def _known_secrets(extra: Iterable[object] = ()) -> tuple[str, ...]:
    values = [os.environ.get(name) for name in _SECRET_ENV]
    values.extend(_remembered)
    values.extend(v for v in extra if isinstance(v, str))
    found = {v for v in values if v and len(v) >= _MIN_SECRET_CHARS}
    return tuple(sorted(found, key=lambda v: (-len(v), v)))


@functools.lru_cache(maxsize=64)
def _secret_pattern(known: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(v) for v in known)  # longest first: a key inside another
    return re.compile(f"(?<!{_TOKEN_CHAR})(?:{alternatives})(?!{_TOKEN_CHAR})")


def _redact_known(text: str, known: tuple[str, ...]) -> str:
    if known and any(v in text for v in known):
        text = _secret_pattern(known).sub(REDACTED, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact(text: str, secrets: Iterable[object] = ()) -> str:
    """``text`` with every known secret, as a whole token, replaced by ``[redacted]``.

    Known secrets are the keys in ``MISTRAL_API_KEY``, ``OPENAI_API_KEY``, ``WANDB_API_KEY`` and
    ``HF_TOKEN``, keys given to backends as ``api_key=``, and ``secrets``; values under 4
    characters are ignored. A value counts only where it is not part of a longer token
    (letters, digits, ``_`` and ``-``), and ``Bearer``/``Basic`` credentials go whatever they
    hold.

    Args:
        text: Any text (an error message, a server's answer).
        secrets: Extra secret values to remove.

    Returns:
        The redacted text; unchanged when it holds no secret.
    """
    return _redact_known(text, _known_secrets(secrets))


def backend_secrets(backend: object) -> list[str]:
    """API keys a backend object holds, so they can be scrubbed by value.

    Args:
        backend: Any backend.

    Returns:
        The string values of attributes whose names look like keys.
    """
    found: list[str] = []
    for name, value in getattr(backend, "__dict__", {}).items():
        if isinstance(value, str) and _SECRET_KEY.search(name.lstrip("_")):
            found.append(value)
        elif isinstance(value, Mapping):  # e.g. prepared headers {"Authorization": "Bearer ..."}
            found.extend(
                v for k, v in value.items() if isinstance(k, str) and _SECRET_KEY.search(k)
            )
    # "Bearer <key>": the key alone must go too.
    return [*found, *(v.split(None, 1)[1] for v in found if isinstance(v, str) and " " in v)]


def scrub(value: Any, secrets: Sequence[str] | None = None) -> Any:
    """Copy ``value`` with every secret replaced by ``[redacted]``.

    Mapping entries whose key looks like a credential (``api_key``, ``Authorization``,
    ``token``, ...) are redacted whatever their value; ``Bearer ...`` strings and any known key
    value (from ``MISTRAL_API_KEY``, ``OPENAI_API_KEY``, ``WANDB_API_KEY``, ``HF_TOKEN`` and
    ``secrets``) are redacted wherever they occur in text.

    Args:
        value: JSON-like data (dicts, lists, tuples, strings, numbers).
        secrets: Extra secret values to remove.

    Returns:
        The scrubbed copy.
    """
    known = _known_secrets(secrets or ())
    return _scrub(value, known)


def _scrub(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _redact_known(value, known)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and _SECRET_KEY.search(key) and value[key] is not None
            else _scrub(value[key], known)
            for key in value
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, known) for v in value]
    return value


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    """A verdict as plain JSON data for a trace (with ``hallucinated``, tokens, latency).

    Args:
        verdict: The verdict.

    Returns:
        A dict of the verdict's fields plus ``hallucinated``; ``usage`` only when known.
    """
    data = verdict.model_dump(mode="json")
    data["hallucinated"] = verdict.hallucinated
    if verdict.usage is not None:
        data["usage"]["total_tokens"] = verdict.usage.total_tokens
    else:  # Weave reads {"model", "usage"} outputs as token usage and fails on usage=None
        del data["usage"]
    return cast(dict[str, Any], scrub(data))


def response_to_dict(response: Response) -> dict[str, Any]:
    """A backend response as plain JSON data for a trace.

    Args:
        response: What the backend returned.

    Returns:
        Its text, model, usage, probability, reason and how many log-probabilities came back.
    """
    usage = response.usage
    return cast(
        dict[str, Any],
        scrub(
            {
                "text": response.text,
                "model": response.model,
                "usage": None
                if usage is None
                else {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.total_tokens,
                },
                "p_consistent": response.p_consistent,
                "reason": response.reason,
                "logprobs": len(response.logprobs),
            }
        ),
    )


def scrub_exception(exc: BaseException, secrets: Iterable[object] = ()) -> None:
    """Redact known secrets, in place, from ``exc`` and every exception it was raised from.

    The messages (``args``) and string attributes (an SDK error's ``body`` and ``message``) of
    ``exc`` and of its ``__cause__`` / ``__context__`` chain are redacted, so a server body that
    echoes the key does not survive in a traceback or a trace.

    Args:
        exc: The exception to clean.
        secrets: Extra secret values to remove (besides the environment's and ``api_key=``).
    """
    known = _known_secrets(secrets)
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        try:
            current.args = tuple(_scrub(a, known) for a in current.args)
            for name, value in list(getattr(current, "__dict__", {}).items()):
                if isinstance(value, str):
                    object.__setattr__(current, name, _redact_known(value, known))
        except (AttributeError, TypeError):  # an exception type that forbids edits: keep going
            pass
        pending += [current.__cause__, current.__context__]


def _scrub_error(exc: BaseException, args: tuple[Any, ...]) -> None:
    """Remove known secrets from an exception (and its causes) before Weave records it.

    Backends promise messages without keys; this is the second line of defence for third-party
    backends. The exception is edited in place, so the caller's copy is clean too.
    """
    extra: list[str] = []
    for arg in args:
        extra += backend_secrets(arg) + backend_secrets(getattr(arg, "backend", None))
    scrub_exception(exc, extra)


class Cancelled(Exception):  # noqa: N818 - named for what the trace shows
    """Carries a cancellation through Weave's op wrapper, then is turned back into it.

    Weave ends a call only when its function returns or raises an ``Exception``; an
    ``asyncio.CancelledError`` (a timeout, a guard's deadline, shutdown) would leave the call
    open, and ``flush()`` would then wait minutes for it. Inside the op the cancellation becomes
    this exception, so the call ends with it; outside, the original ``CancelledError`` is
    raised again, so ``asyncio.timeout`` and task cancellation behave as without tracing.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__("cancelled (a timeout, a deadline or shutdown)")
        self.original = original


def _scrubbing_errors(fn: F) -> F:
    """``fn``, but an exception it raises has known secrets removed from its message."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except asyncio.CancelledError as exc:
                raise Cancelled(exc) from None
            except Exception as exc:
                _scrub_error(exc, args)
                raise

        return cast(F, async_call)

    @functools.wraps(fn)
    def sync_call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            _scrub_error(exc, args)
            raise

    return cast(F, sync_call)


def _output_to_trace(value: Any) -> Any:
    if isinstance(value, Verdict):
        return verdict_to_dict(value)
    if isinstance(value, Example):
        return scrub(value.model_dump(mode="json"))
    return scrub(value)


def traced(
    name: str,
    *,
    inputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    output: Callable[[Any], Any] | None = None,
) -> Callable[[F], F]:
    """Make a function a ``weave.op`` named ``name`` while a Weave client is initialised.

    Without a client (weave not imported, or no ``weave.init``), the function is called
    directly: the only cost is :func:`is_tracing`.

    Args:
        name: The op's stable name, e.g. ``hallujudge.Judge.score``.
        inputs: Maps the call's bound arguments (by parameter name, ``self`` included) to what
            the trace shows. The result is scrubbed of secrets. Default: every argument except
            ``self``, scrubbed.
        output: Maps the return value to what the trace shows (scrubbed). Default: verdicts
            and examples as dicts, anything else scrubbed.

    Returns:
        A decorator that keeps the function's signature and sync/async nature.
    """

    # Weave calls these inside the traced call: they must never raise, or tracing would break
    # the judgment it observes. A failed op's output is None.
    def shown_inputs(bound: dict[str, Any]) -> dict[str, Any]:
        try:
            if inputs is not None:
                return cast(dict[str, Any], scrub(inputs(bound)))
            return cast(
                dict[str, Any],
                scrub(
                    {k: _output_to_trace(v) for k, v in bound.items() if k not in ("self", "cls")}
                ),
            )
        except Exception as exc:
            return {"trace_error": f"inputs not shown: {type(exc).__name__}"}

    def shown_output(value: Any) -> Any:
        if value is None:
            return None
        try:
            return scrub(output(value)) if output is not None else _output_to_trace(value)
        except Exception as exc:
            return {"trace_error": f"output not shown: {type(exc).__name__}"}

    def decorate(fn: F) -> F:
        ops: list[Callable[..., Any]] = []

        def weave_op() -> Callable[..., Any]:
            # Built on first traced call, so weave is imported only by code that traces.
            if not ops:
                import weave

                ops.append(
                    weave.op(
                        _scrubbing_errors(fn),
                        name=name,
                        postprocess_inputs=shown_inputs,
                        postprocess_output=shown_output,
                        enable_code_capture=False,
                    )
                )
            return ops[0]

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not is_tracing():
                    return await fn(*args, **kwargs)
                try:
                    return await weave_op()(*args, **kwargs)
                except Cancelled as exc:
                    raise exc.original from None

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not is_tracing():
                return fn(*args, **kwargs)
            return weave_op()(*args, **kwargs)

        return cast(F, sync_wrapper)

    return decorate


# -- the core's ops ------------------------------------------------------------------------


def _render_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    strategy: PromptStrategy = bound["strategy"]
    example: Example = bound["example"]
    return {"prompt": strategy.id, "document": example.document, "summary": example.summary}


@traced("hallujudge.prompt.render", inputs=_render_inputs, output=list)
def render(strategy: PromptStrategy, example: Example) -> list[Any]:
    """Render a pair into chat messages with ``strategy`` (a traced step).

    Args:
        strategy: The prompt strategy.
        example: The pair.

    Returns:
        The messages.
    """
    return list(strategy.render(example))


def _parse_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    strategy: PromptStrategy = bound["strategy"]
    return {"prompt": strategy.id, "text": bound["text"]}


@traced("hallujudge.prompt.parse", inputs=_parse_inputs)
def parse(strategy: PromptStrategy, text: str) -> Verdict:
    """Read a verdict from the model's answer with ``strategy`` (a traced step).

    Args:
        strategy: The prompt strategy.
        text: The model's answer.

    Returns:
        The verdict (unscored with the reason if unreadable).
    """
    return strategy.parse(text)


def _complete_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    backend: Backend = bound["backend"]
    request: Request = bound["request"]
    shown: dict[str, Any] = {
        "backend": type(backend).__name__,
        "model": backend.name,
        "temperature": request.temperature,
        "seed": request.seed,
        "max_tokens": request.max_tokens,
        "response_format": request.response_format,
        "logprobs": request.logprobs,
        "timeout_s": request.timeout_s,
    }
    if request.messages:
        shown["messages"] = [dict(m) for m in request.messages]
    else:  # scoring backends read the pair itself
        shown["document"] = request.example.document
        shown["summary"] = request.example.summary
    return cast(dict[str, Any], scrub(shown, backend_secrets(backend)))


@traced("hallujudge.backend.complete", inputs=_complete_inputs, output=response_to_dict)
async def complete(backend: Backend, request: Request) -> Response:
    """Make one backend call (a traced step; one per attempt).

    Args:
        backend: The backend.
        request: What to send.

    Returns:
        The backend's response.
    """
    return await backend.complete(request)


def judge_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    """What a ``hallujudge.Judge.score`` trace shows as inputs.

    Args:
        bound: The call's arguments: ``self`` (the Judge) and ``example``.

    Returns:
        Document, summary, model, prompt ``name@version``, scrubbed settings (and the
        example's id and source when it has them).
    """
    judge = bound["self"]
    example: Example = bound["example"]
    shown: dict[str, Any] = {
        "document": example.document,
        "summary": example.summary,
        "model": judge.model,
        "prompt": judge.prompt,
        "settings": judge.settings(),
    }
    if example.id is not None:
        shown["example_id"] = example.id
    if example.source is not None:
        shown["source"] = example.source
    return cast(dict[str, Any], scrub(shown, backend_secrets(getattr(judge, "backend", None))))


def evaluator_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    """What a ``hallujudge.Evaluator.run`` trace shows as inputs (one call per judge).

    Args:
        bound: The call's arguments: ``self`` (the Evaluator) and ``judge``.

    Returns:
        The dataset's name (and content hash when known), the judge's model, prompt and
        scrubbed settings, and the evaluation's options.
    """
    evaluator = bound["self"]
    judge = bound["judge"]
    dataset: dict[str, Any] = {"name": getattr(evaluator, "name", None)}
    content_hash = getattr(getattr(evaluator, "dataset", None), "content_hash", None)
    if callable(content_hash):
        dataset["content_hash"] = str(content_hash())
    shown = {
        "dataset": dataset,
        "model": judge.model,
        "prompt": judge.prompt,
        "settings": judge.settings(),
        "options": {
            name: getattr(evaluator, name, None)
            for name in ("concurrency", "bootstrap", "seed", "threshold")
        },
    }
    return cast(dict[str, Any], scrub(shown, backend_secrets(getattr(judge, "backend", None))))


def report_output(report: Any) -> Any:
    """An EvalReport as a trace output: its dict without the per-row predictions.

    Args:
        report: The report.

    Returns:
        ``report.to_dict(predictions=False)`` (metrics with intervals, counts, confusion,
        latency, tokens, cost).
    """
    return report.to_dict(predictions=False)


def many_inputs(bound: dict[str, Any]) -> dict[str, Any]:
    """What a ``hallujudge.Judge.score_many`` trace shows: the judge and the batch's size.

    The pairs themselves are in the child ``hallujudge.Judge.score`` calls, and the input may
    be a one-pass generator, so it is not read here.

    Args:
        bound: The call's arguments: ``self`` (the Judge), ``items``, ``concurrency``.

    Returns:
        Model, prompt, scrubbed settings, concurrency, and the number of items when known.
    """
    judge = bound["self"]
    items = bound.get("items")
    shown = {
        "model": judge.model,
        "prompt": judge.prompt,
        "settings": judge.settings(),
        "concurrency": bound.get("concurrency") or judge.concurrency,
        "items": len(items) if isinstance(items, Sized) else None,
    }
    return cast(dict[str, Any], scrub(shown, backend_secrets(getattr(judge, "backend", None))))


def many_output(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """A ``score_many`` result as counts by label (each verdict is in its own child call).

    Args:
        verdicts: The verdicts, one per input.

    Returns:
        ``n`` and the count of each label.
    """
    counts = {"n": len(verdicts), "consistent": 0, "inconsistent": 0, "unscored": 0}
    for verdict in verdicts:
        counts[verdict.label] += 1
    return counts
