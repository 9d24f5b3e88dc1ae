"""What makes a judge: the :class:`JudgeProtocol`, and the methods every judge shares.

The Evaluator, the Guard, the Weave and Ray helpers need only what :class:`JudgeProtocol`
names: a ``model`` and ``prompt`` for reports and traces, the ``settings()`` that change answers
(the cache key), a default ``concurrency``, and ``ajudge(example) -> Verdict``. A model-backed
:class:`~hallujudge.Judge`, a :class:`~hallujudge.Cascade` of judges and a plain function
wrapped as a judge each implement it; :class:`JudgeMethods` gives any of them ``score``,
``score_many``, ``aiter_scores`` and their sync twins on top of ``ajudge``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol, Self, cast, runtime_checkable

from . import _tracing
from ._errors import ConfigurationError, InvalidInputError
from ._sync import run_sync
from ._types import Example, Verdict

__all__ = [
    "JudgeMethods",
    "JudgeProtocol",
    "PairLike",
    "check_text",
    "encodable",
    "iter_scores",
    "to_example",
]


@runtime_checkable
class JudgeProtocol(Protocol):
    """What the Evaluator, Guard, Weave and Ray helpers need of a judge.

    Attributes:
        concurrency: Default number of judgments in flight in ``score_many``.
    """

    concurrency: int

    @property
    def model(self) -> str:
        """The judge's name, as written into verdicts and reports."""
        ...

    @property
    def prompt(self) -> str:
        """The prompt strategy as ``name@version`` (or what stands in for one)."""
        ...

    def settings(self) -> dict[str, Any]:
        """Everything that changes the judge's answers (the cache key reads it)."""
        ...

    async def ajudge(self, example: Example) -> Verdict:
        """Judge one example; failures give an ``unscored`` verdict, never an exception."""
        ...

    async def aclose(self) -> None:
        """Release connections and workers."""
        ...


PairLike = Example | tuple[str, str] | dict[str, Any]
"""What ``score_many`` accepts per item: an Example, a (document, summary) tuple, or a dict."""


def to_example(item: PairLike) -> Example:
    """Normalise one input of ``score_many`` into an :class:`Example`.

    Args:
        item: An Example, a ``(document, summary)`` tuple, or a dict with ``document`` and
            ``summary`` (or ``premise`` and ``hypothesis``) keys.

    Returns:
        The example.

    Raises:
        ConfigurationError: For any other shape.
    """
    if isinstance(item, Example):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        check_text("document", item[0])
        check_text("summary", item[1])
        return Example(document=item[0], summary=item[1])
    if isinstance(item, dict):
        doc = item.get("document", item.get("premise"))
        summ = item.get("summary", item.get("hypothesis"))
        if doc is not None and summ is not None:
            check_text("document", doc)
            check_text("summary", summ)
            return Example(document=doc, summary=summ)
    raise ConfigurationError(
        "each item must be an Example, a (document, summary) tuple, or a dict with "
        f"'document' and 'summary' keys; got {type(item).__name__}"
    )


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(example: Example) -> Example:
    r"""``example`` with each lone surrogate in its texts as U+FFFD (one character for one).

    Lone surrogates come from ``surrogateescape`` decoding or JSON such as ``"\ud800"``; UTF-8
    cannot carry them, so an HTTP body or a tokenizer would fail on them. Offsets are unchanged.
    """
    texts = {"document": example.document, "summary": example.summary}
    bad = {  # isascii() is a flag lookup: the usual text skips the scan
        k: _LONE_SURROGATE.sub("\ufffd", v)
        for k, v in texts.items()
        if not v.isascii() and _LONE_SURROGATE.search(v)
    }
    return example.model_copy(update=bad) if bad else example


def check_text(name: str, value: object) -> None:
    """Refuse a document or summary that is not a string (an ``InvalidInputError``)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be str, not {type(value).__name__}")


async def iter_scores(
    judge: JudgeProtocol, examples: Iterable[PairLike], *, concurrency: int | None = None
) -> AsyncIterator[tuple[int, Verdict]]:
    """Yield ``(index, verdict)`` of ``judge`` as judgments finish, with bounded concurrency.

    What :meth:`JudgeMethods.aiter_scores` does, for any :class:`JudgeProtocol`: at most
    ``concurrency`` examples are held at once, so the input may stream millions of rows.

    Args:
        judge: The judge.
        examples: Examples, ``(document, summary)`` tuples or dicts.
        concurrency: Judgments in flight at once (default: the judge's ``concurrency``).

    Yields:
        The input position and its verdict, in completion order.
    """
    limit = judge.concurrency if concurrency is None else concurrency
    if limit < 1:
        raise ConfigurationError("concurrency must be at least 1")
    source = iter(enumerate(examples))
    pending: set[asyncio.Task[tuple[int, Verdict]]] = set()

    async def run(index: int, item: PairLike) -> tuple[int, Verdict]:
        # a tuple here used to fail with AttributeError; a bad shape is ConfigurationError
        return index, await judge.ajudge(to_example(item))

    def refill() -> None:
        while len(pending) < limit:
            nxt = next(source, None)
            if nxt is None:
                return
            pending.add(asyncio.ensure_future(run(*nxt)))

    refill()
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                pending.discard(task)
                yield task.result()
            refill()
    finally:
        for task in pending:
            task.cancel()


class JudgeMethods:
    """``score``, ``score_many``, ``aiter_scores``, their sync twins and context managers.

    Built on the subclass's ``ajudge`` and ``concurrency``; ``aclose`` does nothing unless the
    subclass holds something to release.
    """

    concurrency: int = 16

    async def ajudge(self, example: Example) -> Verdict:  # pragma: no cover - abstract
        """Judge one example (every judge implements this)."""
        raise NotImplementedError

    def score(self, document: str, summary: str) -> Verdict:
        """Judge one pair. Sync twin of :meth:`ascore`."""
        return run_sync(self.ascore(document, summary), async_name="judge.ascore")

    async def ascore(self, document: str, summary: str) -> Verdict:
        """Judge one pair.

        Args:
            document: The source text.
            summary: The text to check against it.

        Returns:
            The verdict. Failures (after retries) and unreadable answers give an ``unscored``
            verdict with ``error`` set; they never raise.

        Raises:
            ConfigurationError: If ``document`` or ``summary`` is not a string.
        """
        check_text("document", document)
        check_text("summary", summary)
        return await self.ajudge(Example(document=document, summary=summary))

    def score_many(
        self, items: Iterable[PairLike], *, concurrency: int | None = None
    ) -> list[Verdict]:
        """Judge many pairs. Sync twin of :meth:`ascore_many`."""
        return run_sync(
            self.ascore_many(items, concurrency=concurrency), async_name="judge.ascore_many"
        )

    @_tracing.traced(
        "hallujudge.Judge.score_many", inputs=_tracing.many_inputs, output=_tracing.many_output
    )
    async def ascore_many(
        self, items: Iterable[PairLike], *, concurrency: int | None = None
    ) -> list[Verdict]:
        """Judge many pairs with bounded concurrency.

        Args:
            items: Pairs, Examples, dicts, or a Dataset.
            concurrency: Judgments in flight at once (default: the judge's ``concurrency``).

        Returns:
            Exactly one Verdict per input, in input order.
        """
        examples = [to_example(item) for item in items]
        results: list[Verdict | None] = [None] * len(examples)
        async for index, verdict in self.aiter_scores(examples, concurrency=concurrency):
            results[index] = verdict
        missing = [i for i, v in enumerate(results) if v is None]
        if missing:  # pragma: no cover - aiter_scores yields every index exactly once
            raise AssertionError(f"rows {missing[:5]} were not judged")
        return [v for v in results if v is not None]

    def aiter_scores(
        self, examples: Iterable[PairLike], *, concurrency: int | None = None
    ) -> AsyncIterator[tuple[int, Verdict]]:
        """Yield ``(index, verdict)`` as judgments finish, with bounded concurrency.

        Streams: at most ``concurrency`` examples are held at once, so the input may be a
        generator over millions of rows.

        Args:
            examples: The pairs to judge: Examples, ``(document, summary)`` tuples or dicts.
            concurrency: Judgments in flight at once.

        Yields:
            The input position and its verdict, in completion order.
        """
        return iter_scores(cast(JudgeProtocol, self), examples, concurrency=concurrency)

    async def aclose(self) -> None:
        """Release connections and workers (nothing, unless the judge holds some)."""

    def close(self) -> None:
        """Sync twin of :meth:`aclose`."""
        run_sync(self.aclose(), async_name="judge.aclose")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
