"""The Judge: policy around one backend (prompting, retries, rate limits, concurrency)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from . import _observe, _tracing
from ._backends._base import Backend, Request, Response
from ._backends._resolver import resolve_backend, resolve_job
from ._chunking import CHARS_PER_TOKEN, estimate_tokens, split_windows
from ._claims import combine_claims, split_sentences
from ._errors import (
    BackendError,
    BackendTimeoutError,
    ConfigurationError,
    InvalidInputError,
    JudgeOutputError,
    RateLimitError,
)
from ._judging import JudgeMethods, PairLike, encodable, to_example
from ._prompts import PromptStrategy, get_prompt
from ._ratelimit import CallLimiter, RateLimiter
from ._retry import RetryPolicy
from ._settings import Claims, JudgeSettings, LongDocuments
from ._sync import run_sync
from ._types import Example, Usage, Verdict
from ._validate import check_fraction, check_non_negative, check_positive

__all__ = ["Judge", "PairLike", "to_example"]

DEFAULT_MAX_INPUT_CHARS = 500_000
"""Default ``max_input_chars``: about 125,000 tokens, a 250-page book."""
DEFAULT_MAX_CALLS_PER_PAIR = 32
"""Default ``max_calls_per_pair``: the most model calls one judgment may make."""
_MIN_ROOM = 64  # tokens: less room than this for the document and a pair cannot be judged

logger = logging.getLogger("hallujudge")


class Judge(JudgeMethods):
    """A hallucination judge: is this summary factually consistent with this document?

    Args:
        model: A model string (``"local"``, ``"mistral:open-mistral-7b"``, a bare Mistral name,
            ``"ft:..."``, ``"openai:NAME"``, ...) or a :class:`Backend`. Defaults to the embedded
            offline model.
        prompt: Prompt strategy name or instance. Defaults to the backend's choice:
            ``zero-shot`` for chat models, ``fine-tune`` for ``ft:`` ids.
        temperature: Sampling temperature. Defaults to 0 (a classifier should not sample), or
            0.7 with ``samples``.
        seed: Random seed sent to servers that accept one (``random_seed`` on Mistral).
        max_tokens: Cap on the answer's length (None: the strategy's needs decide).
        samples: Opt-in: ask ``samples`` times and report the share of "consistent" answers as
            ``score``. Costs ``samples`` times the tokens of one judgment.
        threshold: When a score exists, ``score >= threshold`` means consistent.
        logprobs: Ask for token log-probabilities to compute ``score``. Defaults to True where
            the backend supports them.
        max_attempts: Attempts per call, first one included, for retryable failures.
        deadline_s: Overall time budget of one judgment across retries (None: no deadline).
        timeout_s: Timeout of one backend call.
        max_wait_s: Longest pause between attempts (caps ``Retry-After``).
        rpm: Requests-per-minute limit shared by all calls of this judge (None: no limit).
        max_calls: Backend calls in flight at once across all of this judge's work, chunks,
            samples and sentences included (``concurrency`` counts pairs, and one pair may fan
            out into many calls).
        concurrency: Default number of judgments in flight in ``score_many``.
        long_documents: ``"chunk"`` (default): a document over the input budget is judged in
            overlapping windows, and the summary is consistent if some window supports it;
            ``"unscored"``: such pairs are unscored with the reason.
        max_input_tokens: The input budget in tokens (estimated at 4 characters a token).
            Defaults to the backend's context size.
        repair: After an unreadable answer, ask once more with the answer and a reminder of the
            format (off by default: it doubles the cost of bad answers).
        claims: ``"summary"`` (default) judges the summary as a whole; ``"sentence"`` judges each
            sentence on its own and reports the unsupported ones as spans (one call per
            sentence; see ``hallujudge._claims`` for the rule).
        max_input_chars: The longest document (or summary) accepted, in characters (default
            500,000, about 125,000 tokens); a longer one gets an ``unscored`` verdict naming the
            limit, before any call. None: no limit.
        max_calls_per_pair: The most backend calls one judgment may make (windows of a long
            document x sentences x samples; default 32). A pair that would need more gets an
            ``unscored`` verdict with the count, before any call. None: no limit.
        **backend_options: Passed to the backend (``api_key``, ``base_url``, ...).
    """

    def __init__(
        self,
        model: str | Backend = "local",
        *,
        prompt: str | PromptStrategy | None = None,
        temperature: float | None = None,
        seed: int | None = 0,
        max_tokens: int | None = None,
        samples: int | None = None,
        threshold: float = 0.5,
        logprobs: bool | None = None,
        max_attempts: int = 5,
        deadline_s: float | None = 120.0,
        timeout_s: float = 60.0,
        max_wait_s: float = 30.0,
        rpm: float | None = None,
        max_calls: int = 64,
        concurrency: int = 16,
        long_documents: LongDocuments = "chunk",
        max_input_tokens: int | None = None,
        repair: bool = False,
        claims: Claims = "summary",
        max_input_chars: int | None = DEFAULT_MAX_INPUT_CHARS,
        max_calls_per_pair: int | None = DEFAULT_MAX_CALLS_PER_PAIR,
        **backend_options: Any,
    ) -> None:
        if samples is not None and samples < 1:
            raise ConfigurationError("samples must be a positive integer or None")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("threshold must lie in [0, 1]")
        if max_attempts < 1 or concurrency < 1 or max_calls < 1:
            raise ConfigurationError("max_attempts, max_calls and concurrency must be at least 1")
        if long_documents not in ("chunk", "unscored"):
            raise ConfigurationError("long_documents must be 'chunk' or 'unscored'")
        if claims not in ("summary", "sentence"):
            raise ConfigurationError("claims must be 'summary' or 'sentence'")
        # Zero, negative or non-finite limits used to be ignored silently (rpm=0 or nan: no
        # limit) or to fail every call (timeout_s=0 or nan): refuse them up front.
        for option, value in (
            ("rpm", rpm),
            ("timeout_s", timeout_s),
            ("deadline_s", deadline_s),
        ):
            check_positive(option, value)
        for option, value in (
            ("max_input_tokens", max_input_tokens),
            ("max_tokens", max_tokens),
            ("samples", samples),
            ("max_input_chars", max_input_chars),
            ("max_calls_per_pair", max_calls_per_pair),
        ):
            check_positive(option, value, integer=True)
        check_non_negative("max_wait_s", max_wait_s)
        check_non_negative("temperature", temperature)
        check_fraction("threshold", threshold)
        self.backend: Backend = resolve_backend(model, **backend_options)
        self.strategy: PromptStrategy = get_prompt(prompt or self.backend.default_prompt)
        self.config: JudgeSettings = JudgeSettings(
            backend=self.backend.cache_identity(),
            prompt=self.strategy.id if self.backend.uses_prompt else self.backend.input_format,
            temperature=temperature if temperature is not None else (0.7 if samples else 0.0),
            seed=seed,
            max_tokens=max_tokens,
            samples=samples,
            threshold=threshold,
            logprobs=self.backend.supports_logprobs if logprobs is None else logprobs,
            long_documents=long_documents,
            max_input_tokens=max_input_tokens or self.backend.max_input_tokens,
            claims=claims,
            repair=repair,
        )
        self.max_attempts = max_attempts
        self.deadline_s = deadline_s
        self.timeout_s = timeout_s
        self.max_wait_s = max_wait_s
        self.retry_policy = RetryPolicy(
            max_attempts=max_attempts, deadline_s=deadline_s, max_wait_s=max_wait_s
        )
        self.concurrency = concurrency
        self._limiter: CallLimiter | None = RateLimiter(rpm) if rpm else None
        self.max_calls = max_calls
        self.max_input_chars = max_input_chars
        self.max_calls_per_pair = max_calls_per_pair
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
        self.lineage: dict[str, Any] = {}

    @property
    def model(self) -> str:
        """The backend's name, as written into every Verdict."""
        return self.backend.name

    @property
    def prompt(self) -> str:
        """The prompt strategy as ``name@version`` (a scoring backend's input format)."""
        return self.config.prompt

    # Read-only views of the settings: a judge's answers cannot change after it is made.

    @property
    def temperature(self) -> float:
        """``temperature`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.temperature

    @property
    def seed(self) -> int | None:
        """``seed`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.seed

    @property
    def max_tokens(self) -> int | None:
        """``max_tokens`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.max_tokens

    @property
    def samples(self) -> int | None:
        """``samples`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.samples

    @property
    def threshold(self) -> float:
        """``threshold`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.threshold

    @property
    def logprobs(self) -> bool:
        """``logprobs`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.logprobs

    @property
    def long_documents(self) -> LongDocuments:
        """``long_documents`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.long_documents

    @property
    def max_input_tokens(self) -> int | None:
        """``max_input_tokens`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.max_input_tokens

    @property
    def claims(self) -> Claims:
        """``claims`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.claims

    @property
    def repair(self) -> bool:
        """``repair`` of :attr:`config` (see :class:`JudgeSettings`)."""
        return self.config.repair

    def __repr__(self) -> str:
        return f"Judge({self.model!r}, prompt={self.prompt!r})"

    def settings(self) -> dict[str, Any]:
        """Everything that changes this judge's answers, as JSON-ready data.

        A fresh copy of :attr:`config` (the judge's one immutable :class:`JudgeSettings`) in
        the flat form that cache keys hash and traces, reports and lineage show.
        """
        return self.config.as_dict()

    def with_settings(self, **changes: Any) -> Judge:
        """A copy of this judge with some answer-changing settings replaced.

        The copy shares the backend (and its connections) and the call limits; its settings,
        and so its cache keys, are new.

        Args:
            **changes: :class:`JudgeSettings` fields and their new values (``threshold=0.6``).

        Returns:
            The new judge.

        Raises:
            ConfigurationError: For an unknown field or an invalid value.
        """
        try:
            config = JudgeSettings.model_validate({**dict(self.config), **changes})
        except ValueError as exc:
            raise ConfigurationError(f"invalid judge settings {sorted(changes)}: {exc}") from exc
        clone = copy.copy(self)
        clone.config = config
        return clone

    def with_rate_limiter(self, limiter: CallLimiter) -> Judge:
        """A copy of this judge whose model calls each wait for ``await limiter.acquire()``.

        Share one limiter between judges that spend one quota (two prompts on one API key), or
        pass a cluster-wide one (:mod:`hallujudge.ray` does). It replaces the ``rpm=`` spacing;
        the copy shares the backend, the settings and so the cache keys: a limit changes when
        calls start, never their answers.

        Args:
            limiter: Any object with an ``async acquire()`` method
                (:class:`hallujudge.RateLimiter` is one).

        Returns:
            The new judge.

        Raises:
            InvalidInputError: If ``limiter`` has no ``acquire`` method.
        """
        if not isinstance(limiter, CallLimiter):
            raise InvalidInputError(
                f"with_rate_limiter() needs an object with an async acquire() method, got"
                f" {type(limiter).__name__}"
            )
        clone = copy.copy(self)
        clone._limiter = limiter
        return clone

    # -- one pair -------------------------------------------------------------------------

    @_observe.observed("judgment")
    @_tracing.traced("hallujudge.Judge.score", inputs=_tracing.judge_inputs)
    async def ajudge(self, example: Example) -> Verdict:
        """Judge one :class:`Example` (the core every other method goes through)."""
        started = time.perf_counter()
        example = encodable(example)
        if not example.document.strip():
            verdict = Verdict.unscored(
                "the document is empty: nothing to check the summary against"
            )
        elif not example.summary.strip():
            verdict = Verdict.unscored("the summary is empty: there is no claim to check")
        elif (too_long := self._over_input_limit(example)) is not None:
            verdict = too_long
        else:
            try:
                verdict = await self._judge_claims(example)
            except ConfigurationError:
                raise
            except Exception as exc:  # one broken row must not sink a whole score_many
                logger.exception("hallujudge: unexpected error while judging")
                # retryable: a bug or glitch, not the model's answer; caches must not keep it.
                verdict = Verdict.unscored(
                    f"unexpected error: {type(exc).__name__}: {exc}",
                    meta={"error_type": type(exc).__name__, "retryable": True},
                )
        return verdict.model_copy(
            update={
                "model": self.model,
                "prompt": self.prompt,
                "latency_s": time.perf_counter() - started,
            }
        )

    def _over_input_limit(self, example: Example) -> Verdict | None:
        """The unscored verdict for a document or summary over ``max_input_chars`` (else None)."""
        limit = self.max_input_chars
        for name, text in (("document", example.document), ("summary", example.summary)):
            if limit is not None and len(text) > limit:
                return _refused(
                    f"the {name} is {len(text):,} characters (about {estimate_tokens(text):,} "
                    f"tokens), over max_input_chars={limit:,}: split it, or raise "
                    "max_input_chars= (max_input_chars=None: no limit)"
                )
        return None

    async def _judge_claims(self, example: Example) -> Verdict:
        sentences = split_sentences(example.summary) if self.claims == "sentence" else []
        parts = [example.model_copy(update={"summary": example.summary[a:b]}) for a, b in sentences]
        parts = parts if len(parts) > 1 else [example]
        rooms = [self._document_room(part) for part in parts]  # one prompt render per claim
        calls = self._planned_calls(parts, rooms)
        if self.max_calls_per_pair is not None and calls > self.max_calls_per_pair:
            return _refused(
                f"judging this pair would take {calls} model calls, over "
                f"max_calls_per_pair={self.max_calls_per_pair} (windows of the long document x "
                "sentences x samples): shorten the document, or raise max_calls_per_pair= "
                "(max_calls_per_pair=None: no limit)"
            )
        if len(parts) == 1:
            return await self._judge_long_or_short(example, rooms[0])
        judged = zip(parts, rooms, strict=True)
        verdicts = await asyncio.gather(*(self._judge_long_or_short(p, r) for p, r in judged))
        return combine_claims(example.summary, sentences, verdicts)

    def _document_room(self, example: Example) -> int | None:
        """Tokens left for the document in one call (None: no input budget applies)."""
        budget = self.max_input_tokens
        if not self.backend.uses_prompt or budget is None:
            return None
        overhead = sum(
            estimate_tokens(m["content"])
            for m in self.strategy.render(Example(document="", summary=example.summary))
        )
        return budget - overhead - (self.max_tokens or 256)

    def _windows(self, document: str, room: int) -> list[tuple[int, int]]:
        chars = room * CHARS_PER_TOKEN
        return split_windows(document, chars, overlap_chars=chars // 10)

    def _planned_calls(self, parts: Sequence[Example], rooms: Sequence[int | None]) -> int:
        """Backend calls (before retries) that judging these claims will make."""
        calls = 0
        for part, room in zip(parts, rooms, strict=True):
            if room is None or estimate_tokens(part.document) <= room:
                calls += 1
            elif room >= _MIN_ROOM and self.long_documents == "chunk":
                calls += len(self._windows(part.document, room))
        return calls * (self.samples if self.samples and self.backend.uses_prompt else 1)

    def fits_input_budget(self, example: Example) -> bool:
        """Whether the pair goes to the model in one call (no windows needed)."""
        room = self._document_room(example)
        return room is None or estimate_tokens(example.document) <= room

    async def _judge_long_or_short(self, example: Example, room: int | None) -> Verdict:
        if room is None or estimate_tokens(example.document) <= room:
            return await self._judge_sampled(example)
        budget, doc_tokens = self.max_input_tokens or 0, estimate_tokens(example.document)
        if room < _MIN_ROOM:  # the instructions and the summary alone nearly fill the budget
            return Verdict.unscored(
                f"the prompt without the document (instructions and summary) takes about "
                f"{budget - room - (self.max_tokens or 256)} tokens of this model's input budget "
                f"of {budget} tokens, leaving no room for the document; shorten the summary or "
                "use a model with a larger context"
            )
        if self.long_documents == "unscored":
            return Verdict.unscored(
                f"the document is about {doc_tokens} tokens, over this model's input budget of "
                f"{budget} tokens; use long_documents='chunk' or a model with a larger context"
            )
        windows = self._windows(example.document, room)
        verdicts = await asyncio.gather(
            *(
                self._judge_sampled(example.model_copy(update={"document": example.document[a:b]}))
                for a, b in windows
            )
        )
        return _combine_windows(verdicts, windows)

    async def _judge_sampled(self, example: Example) -> Verdict:
        if not self.samples or not self.backend.uses_prompt:
            return await self._judge_once(example, self.seed)
        # Distinct seeds make the samples differ reproducibly; seed=None leaves it to the server.
        seeds = [None if self.seed is None else self.seed + i for i in range(self.samples)]
        verdicts = await asyncio.gather(*(self._judge_once(example, seed) for seed in seeds))
        scored = [v for v in verdicts if v.scored]
        usage = _sum_usage(verdicts)
        if not scored:
            return verdicts[0].model_copy(update={"usage": usage})
        share = sum(v.label == "consistent" for v in scored) / len(scored)
        first = scored[0]
        return first.model_copy(
            update={
                "label": "consistent" if share >= self.threshold else "inconsistent",
                "score": share,
                "usage": usage,
                "meta": {**first.meta, "samples": [v.label for v in verdicts]},
            }
        )

    def build_request(self, example: Example, *, seed: int | None = None) -> Request:
        """The one request builder: what this judge sends for one pair, live or in a batch.

        Args:
            example: The pair (one window or sentence of it, when chunked or split).
            seed: The seed of this call (default: the judge's ``seed``).

        Returns:
            The backend request, with every answer-changing setting applied.
        """
        strategy = self.strategy
        messages = tuple(_tracing.render(strategy, example)) if self.backend.uses_prompt else ()
        return Request(
            example=example,
            messages=messages,
            temperature=self.temperature,
            seed=self.seed if seed is None else seed,
            max_tokens=self.max_tokens,
            response_format=strategy.response_format,
            logprobs=self.logprobs,
            timeout_s=self.timeout_s,
        )

    async def _judge_once(self, example: Example, seed: int | None) -> Verdict:
        request = self.build_request(example, seed=seed)
        messages = request.messages
        try:
            response = await self._call(request)
        except BackendError as exc:
            return _failed(exc)
        verdict = self._read(response)
        if self.repair and not verdict.scored and self.backend.uses_prompt:
            retry = dataclasses.replace(
                request,
                messages=(
                    *messages,
                    {"role": "assistant", "content": response.text},
                    {
                        "role": "user",
                        "content": "Your answer could not be read. Answer again in exactly the "
                        "format asked for, and nothing else.",
                    },
                ),
            )
            try:
                second = await self._call(retry)
            except BackendError as exc:
                return verdict.model_copy(
                    update={"error": f"{verdict.error}; repair failed: {exc}"}
                )
            repaired = self._read(second)
            usage = _sum_usage([verdict, repaired])
            return repaired.model_copy(update={"usage": usage, "meta": {"repaired": True}})
        return verdict

    def _read(self, response: Response) -> Verdict:
        score = response.p_consistent
        if self.backend.uses_prompt or score is None:
            verdict = _tracing.parse(self.strategy, response.text)
            if not verdict.scored and "error_type" not in verdict.meta:  # named like the others
                verdict = verdict.model_copy(
                    update={"meta": {**verdict.meta, "error_type": JudgeOutputError.__name__}}
                )
            if score is None and response.logprobs and verdict.scored:
                score = self.strategy.score_from_logprobs(response.text, response.logprobs)
        else:  # a scoring backend (local model, classifier) answers with a probability
            verdict = Verdict(
                label="consistent", reason=response.reason, raw=response.text, spans=response.spans
            )
        if score is not None and not 0.0 <= score <= 1.0:  # NaN fails this test too
            if response.p_consistent is not None:  # never count a broken probability as a label
                return Verdict.unscored(
                    f"the backend returned an invalid probability {score!r} (not in [0, 1])",
                    raw=response.text,
                    usage=response.usage,
                )
            score = None  # broken log-probabilities: keep the parsed label, drop the score
        update: dict[str, Any] = {}
        if score is not None and verdict.scored:
            update["score"] = score
            update["label"] = "consistent" if score >= self.threshold else "inconsistent"
        if response.usage is not None:
            update["usage"] = response.usage
        return verdict.model_copy(update=update) if update else verdict

    def _call_slots(self) -> asyncio.Semaphore:
        """This loop's call slots (asyncio primitives belong to the loop that first uses them)."""
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            for closed in [other for other in self._slots if other.is_closed()]:
                del self._slots[closed]
            slots = self._slots[loop] = asyncio.Semaphore(self.max_calls)
        return slots

    async def _call(self, request: Request) -> Response:
        """One backend call under the retry policy (:mod:`hallujudge._retry`)."""
        policy = self.retry_policy
        started = time.monotonic()
        async for attempt in policy.retrying(self.backend.is_retryable):
            with attempt:
                async with self._call_slots():
                    if self._limiter is not None:
                        await self._limiter.acquire()
                    return await self._attempt(request, started)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(self, request: Request, started: float) -> Response:
        """One attempt: a slot of the connection's adaptive limit, then the call, both timed."""
        left = self.retry_policy.remaining_s(started)
        limit = self.timeout_s if left is None else max(0.0, min(self.timeout_s, left))
        hint = (
            "raise timeout_s= if the model is slow"
            if limit >= self.timeout_s
            else f"the judgment's deadline_s={self.deadline_s:g} ran out"
        )
        call_limit = self.backend.call_limit
        ticket = None
        if call_limit is not None:
            tokens = _estimated_tokens(request) if call_limit.tokens is not None else 0
            try:  # queueing for the connection's limit spends the judgment's deadline
                async with asyncio.timeout(left):
                    ticket = await call_limit.acquire(tokens)
            except TimeoutError as exc:
                raise BackendTimeoutError(
                    f"no free call slot on the connection before deadline_s={self.deadline_s:g}"
                ) from exc
        # The backend's own client timeout fires first: a call cancelled from outside can leave
        # its connection in an unusable state. The outer timeout is a backstop.
        timed = dataclasses.replace(request, timeout_s=max(limit, 1e-3))
        try:
            async with asyncio.timeout(limit * 1.1 + 0.05):
                response = await _tracing.complete(self.backend, timed)
        except TimeoutError as exc:
            if call_limit is not None and ticket is not None:
                call_limit.release(ticket)
            raise BackendTimeoutError(f"no answer within {limit:.3g} s ({hint})") from exc
        except BaseException as exc:
            if call_limit is not None and ticket is not None:
                call_limit.release(ticket, rate_limited=isinstance(exc, RateLimitError))
            raise
        if call_limit is not None and ticket is not None:
            used = response.usage.total_tokens if response.usage is not None else None
            call_limit.release(ticket, ok=True, used_tokens=used)
        return response

    # -- many pairs -----------------------------------------------------------------------

    def batch_score(self, items: Iterable[PairLike], **options: Any) -> list[Verdict]:
        """Judge many pairs through Mistral's Batch API. Sync twin of :meth:`abatch_score`."""
        return run_sync(self.abatch_score(items, **options), async_name="judge.abatch_score")

    async def abatch_score(self, items: Iterable[PairLike], **options: Any) -> list[Verdict]:
        """Judge many pairs through one batch job of the backend (cheaper, slower, resumable).

        A backend capability (:meth:`Backend.abatch_score`): Mistral chat models have it.
        Every line is the request the live path would send (:meth:`build_request`).

        Args:
            items: Pairs, Examples or a Dataset.
            **options: For Mistral: ``job_id`` (resume), ``poll_s``, ``timeout_s``,
                ``on_submit``.

        Returns:
            Exactly one Verdict per input, in order.

        Raises:
            ConfigurationError: The backend has no batch API, or a setting cannot be batched.
        """
        examples = [to_example(item) for item in items]
        return await self.backend.abatch_score(self, examples, **options)

    @classmethod
    def from_job(cls, job_id: str, **options: Any) -> Judge:
        """The drop-in judge of a finished fine-tuning job, with its lineage.

        Args:
            job_id: The fine-tuning job's id.
            **options: ``prompt=``, ``lineage=`` (a saved lineage file), ``api_key=``,
                ``server_url=``, and any Judge option.

        Returns:
            A Judge on the fine-tuned model, using the prompt strategy it was trained with.
        """
        judge: Judge = resolve_job(job_id, **options)
        return judge

    # -- lifecycle ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the backend's connections."""
        await self.backend.aclose()


def _estimated_tokens(request: Request) -> int:
    """Tokens a call may spend, for a tokens-per-minute budget.

    The prompt by the declared rule (:data:`~hallujudge._chunking.CHARS_PER_TOKEN`) plus the
    answer's cap.
    """
    chars = sum(len(m["content"]) for m in request.messages)
    if not request.messages:  # scoring backends read the pair itself
        chars = len(request.example.document) + len(request.example.summary)
    return -(-chars // CHARS_PER_TOKEN) + (request.max_tokens or 0)


def _refused(reason: str) -> Verdict:
    """The unscored verdict for a pair over one of the judge's input limits (no call made).

    Marked retryable so caches do not keep it: with a raised limit, the pair is judged.
    """
    return Verdict.unscored(reason, meta={"error_type": "InputTooLarge", "retryable": True})


def _failed(exc: BackendError) -> Verdict:
    """The unscored verdict for a call that failed after its last attempt.

    ``meta["retryable"]`` tells caches and resumable runs to try such rows again later.
    """
    return Verdict.unscored(
        f"{type(exc).__name__}: {exc}",
        meta={"error_type": type(exc).__name__, "retryable": exc.retryable},
    )


def _sum_usage(verdicts: Iterable[Verdict]) -> Usage | None:
    usages = [v.usage for v in verdicts if v.usage is not None]
    if not usages:
        return None
    total = Usage()
    for u in usages:
        total = total + u
    return total


def _combine_windows(verdicts: Sequence[Verdict], windows: Sequence[tuple[int, int]]) -> Verdict:
    """Combine per-window verdicts by the declared rule.

    Consistent if some window supports the summary; else unscored if some window could not be
    judged; else inconsistent. The score is the best window's score.
    """
    usage = _sum_usage(verdicts)
    meta = {"chunks": len(windows), "windows": [list(w) for w in windows]}
    supporting = [v for v in verdicts if v.label == "consistent"]
    scores = [v.score for v in verdicts if v.score is not None]
    best = max(scores) if scores else None
    if supporting:
        chosen = max(supporting, key=lambda v: v.score if v.score is not None else 1.0)
        label: Literal["consistent", "inconsistent"] = "consistent"
    elif any(not v.scored for v in verdicts):
        failed = next(v for v in verdicts if not v.scored)
        return failed.model_copy(
            update={
                "usage": usage,
                "meta": {**failed.meta, **meta},  # keeps "retryable" for caches and resumes
                "error": f"no window supports the summary and one could not be judged: "
                f"{failed.error}",
            }
        )
    else:
        chosen = verdicts[0]
        label = "inconsistent"
    return chosen.model_copy(
        update={"label": label, "score": best, "usage": usage, "meta": {**chosen.meta, **meta}}
    )
