"""The Evaluator: run judges over labelled data, streamed, cached, resumable; build reports.

One judge gives an :class:`~hallujudge._report.EvalReport`; several give a
:class:`~hallujudge._report.Comparison` with paired tests on the rows every judge scored.

Rows stream through :meth:`Judge.aiter_scores` with bounded concurrency; each finished verdict is
committed to the SQLite cache (see :mod:`hallujudge._cache`) before it is reported to anyone (the
report, callbacks, the progress bar), so the cache doubles as the checkpoint: re-running a killed
evaluation takes finished rows from the cache without calling the model and sends again only the
calls that were in flight. Per row the evaluator keeps a few numbers (label, prediction,
score, latency), not the verdict objects, so 100,000-row runs stay small in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import itertools
import math
import sys
import time
import typing
import warnings
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from . import _metrics as mt
from . import _tracing
from ._cache import DEFAULT_CACHE_PATH, VerdictCache, cache_key, cacheable
from ._callbacks import EvalCallback
from ._errors import CacheError, ConfigurationError, DataError
from ._judge import Judge
from ._judging import JudgeMethods, JudgeProtocol, iter_scores
from ._report import Columns, Comparison, EvalReport, Price, build_report
from ._sync import run_sync
from ._types import Example, Verdict

__all__ = [
    "CallableJudge",
    "CustomMetric",
    "EvalCallback",
    "Evaluator",
    "JudgeLike",
    "Objective",
    "afit_threshold",
    "aggregate_metric",
    "as_judge",
    "fit_threshold",
    "row_metric",
]

JudgeFn = Callable[[str, str], Verdict | Awaitable[Verdict]]
JudgeLike = JudgeProtocol | JudgeFn
"""A judge (a :class:`Judge`, a :class:`Cascade`, anything implementing
:class:`~hallujudge.JudgeProtocol`), or a plain sync/async ``(document, summary) -> Verdict``."""

Objective = Literal["balanced_accuracy", "f1"] | tuple[Literal["recall"], float]
"""What :func:`fit_threshold` optimises: a metric to maximise, or a recall to reach."""

_LOOKUP_CHUNK = 512  # rows looked up in the cache per query
_AUTO_PROGRESS_ROWS = 200  # "long run": the auto progress bar appears from this many rows


# -- custom metrics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomMetric:
    """A user metric shown in reports beside the built-in ones.

    Attributes:
        name: Its name in reports.
        fn: ``(Example, Verdict) -> float | None`` per row (averaged over rows that return a
            number), or ``(Sequence[Example], Sequence[Verdict]) -> float | None`` over all rows.
        kind: ``"row"`` or ``"aggregate"``.
    """

    name: str
    fn: Callable[..., float | None]
    kind: Literal["row", "aggregate"]


def row_metric(
    fn: Callable[[Example, Verdict], float | None], *, name: str | None = None
) -> CustomMetric:
    """Declare a per-row metric ``(example, verdict) -> float | None``, averaged over rows.

    Rows where it returns None are left out of the mean; the report gives a 95% bootstrap
    interval of the mean.
    """
    return CustomMetric(str(name or getattr(fn, "__name__", "metric")), fn, "row")


def aggregate_metric(
    fn: Callable[[Sequence[Example], Sequence[Verdict]], float | None], *, name: str | None = None
) -> CustomMetric:
    """Declare a metric over all rows ``(examples, verdicts) -> float | None``.

    The evaluator keeps every example and verdict in memory for it (not only a few numbers per
    row), so use row metrics on very large datasets.
    """
    return CustomMetric(str(name or getattr(fn, "__name__", "metric")), fn, "aggregate")


def _as_metric(item: CustomMetric | Callable[..., Any]) -> CustomMetric:
    if isinstance(item, CustomMetric):
        return item
    if not callable(item):
        raise ConfigurationError(
            f"metrics must be callables or row_metric()/aggregate_metric(), not {item!r}"
        )
    # A plain function is per-row unless its first parameter is annotated as a sequence.
    try:
        hints = typing.get_type_hints(item)
        params = list(inspect.signature(item).parameters)
    except (TypeError, ValueError, NameError):
        return row_metric(item)
    first = hints.get(params[0]) if params else None
    origin = typing.get_origin(first)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Sequence | list):
        return aggregate_metric(item)
    return row_metric(item)


# -- plain callables as judges ---------------------------------------------------------------


class CallableJudge(JudgeMethods):
    """A plain function ``(document, summary) -> Verdict`` (sync or async) used as a Judge.

    Sync functions run in worker threads so several rows can be in flight. An exception becomes
    an unscored verdict marked retryable (so it is not cached and a re-run tries again).

    Args:
        fn: The function.
        name: The judge's name in reports (default: the function's qualified name).
    """

    def __init__(self, fn: JudgeFn, *, name: str | None = None, concurrency: int = 16) -> None:
        label = name or getattr(fn, "__qualname__", None) or type(fn).__name__
        self._model = f"callable:{label}"
        self.concurrency = concurrency
        self.fn = fn
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = repr(fn)
        # Part of the cache key: editing the function's code invalidates its cached verdicts.
        self._source_sha = hashlib.sha256(source.encode()).hexdigest()[:16]

    @property
    def model(self) -> str:
        """``callable:NAME``, as written into verdicts and reports."""
        return self._model

    @property
    def prompt(self) -> str:
        """Callables have no prompt strategy."""
        return "callable"

    def settings(self) -> dict[str, Any]:
        """The function's name and a hash of its source code."""
        return {"backend": "callable", "name": self.model, "source_sha256": self._source_sha}

    async def ajudge(self, example: Example) -> Verdict:
        """Call the function on one example."""
        started = time.perf_counter()
        try:
            if self._is_async:
                out: Any = await self.fn(example.document, example.summary)  # type: ignore[misc]
            else:
                out = await asyncio.to_thread(self.fn, example.document, example.summary)
                if inspect.isawaitable(out):
                    out = await out
        except Exception as exc:  # the user's code: report, don't sink the run
            out = Verdict.unscored(
                f"the judge function raised {type(exc).__name__}: {exc}",
                meta={"error_type": type(exc).__name__, "retryable": True},
            )
        if not isinstance(out, Verdict):
            out = Verdict.unscored(
                f"the judge function returned {type(out).__name__}, not a Verdict; return "
                "Verdict(label=..., score=...)"
            )
        verdict: Verdict = out
        update: dict[str, Any] = {}
        if verdict.model is None:
            update["model"] = self.model
        if verdict.latency_s is None:
            update["latency_s"] = time.perf_counter() - started
        return verdict.model_copy(update=update) if update else verdict


def as_judge(judge: JudgeLike) -> JudgeProtocol:
    """Accept a judge as is, and wrap a plain callable in a :class:`CallableJudge`.

    Raises:
        ConfigurationError: For anything else.
    """
    if isinstance(judge, JudgeProtocol):
        return judge
    if callable(judge):
        return CallableJudge(judge)
    raise ConfigurationError(
        f"expected a Judge or a function (document, summary) -> Verdict, not "
        f"{type(judge).__name__}; for a model string use Judge({judge!r})"
    )


# -- the evaluator -----------------------------------------------------------------------------


class _Collector:
    """Per-row numbers in compact arrays, filled out of order as verdicts finish."""

    def __init__(self, row_metrics: Sequence[CustomMetric], keep_all: bool) -> None:
        self.ids: list[str] = []
        self.labels = array("b")
        self.preds = array("b")  # -2 = not yet judged
        self.scores = array("d")
        self.latency = array("d")
        self.cached = array("b")
        self.errors: dict[int, str] = {}
        self.row_metrics = row_metrics
        self.row_values = [array("d") for _ in row_metrics]
        self.row_failures: list[str | None] = [None] * len(row_metrics)
        self.keep_all = keep_all
        self.examples: list[Example | None] = []
        self.verdicts: list[Verdict | None] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.has_usage = False

    def add(self, index: int, example: Example) -> None:
        if index != len(self.ids):  # pragma: no cover - rows arrive in order
            raise AssertionError("rows must be added in order")
        self.ids.append(example.id if example.id is not None else str(index))
        self.labels.append(int(example.label or 0))
        self.preds.append(-2)
        self.scores.append(math.nan)
        self.latency.append(math.nan)
        self.cached.append(0)
        for values in self.row_values:
            values.append(math.nan)
        if self.keep_all:
            self.examples.append(example)
            self.verdicts.append(None)

    def set(self, index: int, example: Example, verdict: Verdict, pred: int, cached: bool) -> None:
        if self.preds[index] != -2:  # pragma: no cover - each row is judged exactly once
            raise AssertionError(f"row {index} was recorded twice")
        self.preds[index] = pred
        if verdict.score is not None and verdict.scored:
            self.scores[index] = float(verdict.score)
        if verdict.latency_s is not None:
            self.latency[index] = float(verdict.latency_s)
        self.cached[index] = int(cached)
        if not verdict.scored:
            self.errors[index] = verdict.error or "unscored (no reason given)"
        if verdict.usage is not None:
            self.has_usage = True
            self.prompt_tokens += verdict.usage.prompt_tokens
            self.completion_tokens += verdict.usage.completion_tokens
        for k, metric in enumerate(self.row_metrics):
            try:
                value = metric.fn(example, verdict)
            except Exception as exc:  # a broken metric must not lose the run's verdicts
                if self.row_failures[k] is None:
                    self.row_failures[k] = f"raised {type(exc).__name__}: {exc} (row {index})"
                continue
            if value is not None:
                self.row_values[k][index] = float(value)
        if self.keep_all:
            self.verdicts[index] = verdict

    def columns(self) -> Columns:
        preds = np.array(self.preds, dtype=np.int8)
        missing = np.flatnonzero(preds == -2)
        if missing.size:  # pragma: no cover - aiter_scores yields every row exactly once
            raise AssertionError(f"rows {missing[:5].tolist()} were never judged")
        return Columns(
            ids=self.ids,
            labels=np.array(self.labels, dtype=np.int8),
            preds=preds,
            scores=np.array(self.scores, dtype=np.float64),
            latency_s=np.array(self.latency, dtype=np.float64),
            cached=np.array(self.cached, dtype=bool),
            errors=self.errors,
        )


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, total: int | None, label: str) -> None:
        self._bar: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:  # rich is optional: no bar without it
            return
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[cached]} cached"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, cached=0)
        self._cached = 0

    def advance(self, cached: bool) -> None:
        if self._bar is not None:
            self._cached += cached
            self._bar.update(self._task, advance=1, cached=self._cached)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _default_name(dataset: object) -> str:
    name = getattr(dataset, "name", None)
    return str(name) if name else type(dataset).__name__


class Evaluator:
    """Evaluate one or several judges on labelled data.

    Args:
        dataset: A ``Dataset`` or any iterable of labelled :class:`Example` (label 1 =
            consistent, 0 = inconsistent). A one-pass iterator works for one judge.
        concurrency: Judgments in flight at once.
        cache: Path of the SQLite cache and checkpoint (default ``.hallujudge/cache.sqlite`` in
            the working directory), an open :class:`VerdictCache`, or None for no cache.
        progress: Show a progress bar on stderr: None = when stderr is a terminal and the run has
            at least 200 rows; True / False to force.
        metrics: Custom metrics: :func:`row_metric`, :func:`aggregate_metric`, or plain
            functions (per-row ``(example, verdict)`` unless the first parameter is annotated
            as a sequence).
        bootstrap: Bootstrap resamples for 95% intervals (0: no intervals).
        seed: Seed of the resampling.
        threshold: If set, rows with a score are labelled ``consistent`` when
            ``score >= threshold``, overriding the judge's own labels in the metrics.
        price: USD per million ``(prompt, completion)`` tokens, or a dict of those by model
            name; the report's cost is None without it.
        callbacks: :class:`EvalCallback` hooks (for example, Weave logging).
        weave: Log each evaluation to Weave (needs ``weave.init`` first): a shorthand for
            ``callbacks=[hallujudge.weave.WeaveCallback()]``.
        mode: ``"live"`` (default) calls the judge row by row; ``"batch"`` sends every row the
            cache does not answer in one Mistral batch job (``judge.abatch_score``: cheaper,
            slower; Mistral chat judges only), with ``batch_options`` such as ``job_id`` to
            resume or ``poll_s``.
        name: The dataset's name in reports (default: its ``name`` attribute or type).

    Raises:
        ConfigurationError: For invalid options.
    """

    def __init__(
        self,
        dataset: Iterable[Example],
        *,
        concurrency: int = 32,
        cache: str | Path | VerdictCache | None = DEFAULT_CACHE_PATH,
        progress: bool | None = None,
        metrics: Iterable[CustomMetric | Callable[..., Any]] = (),
        bootstrap: int = 1000,
        seed: int = 0,
        threshold: float | None = None,
        price: Price | dict[str, Price] | None = None,
        callbacks: Iterable[EvalCallback] = (),
        name: str | None = None,
        weave: bool = False,
        mode: Literal["live", "batch"] = "live",
        batch_options: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if bootstrap < 0:
            raise ConfigurationError("bootstrap must be 0 (no intervals) or a positive count")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("threshold must lie in [0, 1] (or be None)")
        if isinstance(dataset, str | Path):
            raise ConfigurationError(
                "pass a Dataset, not a path: Evaluator(Dataset.load(path)) (or use the CLI: "
                "hallujudge eval PATH --model M)"
            )
        self.dataset = dataset
        self.concurrency = concurrency
        self.cache = cache
        self.progress = progress
        self.metrics = [_as_metric(m) for m in metrics]
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"custom metric names must be unique: {names}")
        self.bootstrap = bootstrap
        self.seed = seed
        self.threshold = threshold
        self.price = price
        self.callbacks = list(callbacks)
        if weave:
            from .weave import WeaveCallback  # imports weave: only when asked

            self.callbacks.append(WeaveCallback())
        if mode not in ("live", "batch"):
            raise ConfigurationError("mode must be 'live' or 'batch'")
        self.mode = mode
        self.batch_options = dict(batch_options or {})
        self.name = name or _default_name(dataset)
        self._hash: str | None = None
        self._one_pass = iter(dataset) is dataset
        self._consumed = False

    # -- public API ------------------------------------------------------------------------

    @overload
    def run(self, judges: JudgeLike) -> EvalReport: ...

    @overload
    def run(self, judges: Sequence[JudgeLike]) -> Comparison: ...

    def run(self, judges: JudgeLike | Sequence[JudgeLike]) -> EvalReport | Comparison:
        """Evaluate one judge (-> EvalReport) or several (-> Comparison). Sync twin of arun."""
        return run_sync(self._arun(judges), async_name="evaluator.arun")

    @overload
    async def arun(self, judges: JudgeLike) -> EvalReport: ...

    @overload
    async def arun(self, judges: Sequence[JudgeLike]) -> Comparison: ...

    async def arun(self, judges: JudgeLike | Sequence[JudgeLike]) -> EvalReport | Comparison:
        """Evaluate one judge or several on the dataset.

        Args:
            judges: A Judge, a plain ``(document, summary) -> Verdict`` function, or a list of
                those.

        Returns:
            An :class:`EvalReport` for one judge; a :class:`Comparison` (each judge's report,
            side by side, with paired tests against the first) for a list, even of one.

        Raises:
            ConfigurationError: For something that is not a judge, or several judges over a
                one-pass iterator.
            DataError: For a row without a label or that is not an Example (names the row).
        """
        return await self._arun(judges)

    async def _arun(self, judges: JudgeLike | Sequence[JudgeLike]) -> EvalReport | Comparison:
        """The untyped-overload core of :meth:`arun` and :meth:`run`."""
        if isinstance(judges, list | tuple):
            if not judges:
                raise ConfigurationError("give at least one judge")
            if self._one_pass and len(judges) > 1:
                raise ConfigurationError(
                    "the dataset is a one-pass iterator, but several judges need to read it "
                    "more than once; pass a list or a Dataset"
                )
            resolved = [as_judge(j) for j in judges]
            reports = [await self._evaluate(j) for j in resolved]
            return Comparison.build(reports, bootstrap=self.bootstrap, seed=self.seed)
        return await self._evaluate(as_judge(judges))  # type: ignore[arg-type]

    # -- internals -------------------------------------------------------------------------

    def _price_for(self, model: str) -> Price | None:
        if self.price is None or isinstance(self.price, tuple):
            return self.price
        return self.price.get(model)

    def _dataset_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.name}
        content_hash = getattr(self.dataset, "content_hash", None)
        if callable(content_hash):
            info["content_hash"] = str(content_hash())
        elif self._hash is not None:
            info["content_hash"] = self._hash
        return info

    def _rows(self) -> Iterator[tuple[int, Example]]:
        if self._one_pass:
            if self._consumed:
                raise ConfigurationError(
                    "this evaluator's dataset was a one-pass iterator and is used up; pass a "
                    "list or a Dataset to evaluate again"
                )
            self._consumed = True
        seen: set[str] = set()
        for index, example in enumerate(self.dataset):
            if not isinstance(example, Example):
                raise DataError(
                    f"row {index} is a {type(example).__name__}, not an Example; load the data "
                    "with Dataset (or build Example(document=, summary=, label=))",
                    row=index,
                )
            if example.label is None:
                raise DataError(
                    f"row {index} (id {example.id!r}) has no label; the Evaluator needs labelled "
                    "rows (1 = consistent, 0 = inconsistent); use judge.score_many for "
                    "unlabelled data",
                    row=index,
                )
            if example.id is not None:
                if example.id in seen:
                    raise DataError(
                        f"row {index} repeats the id {example.id!r}; ids must be unique (each "
                        "names one row in the report); give the rows distinct ids, or none",
                        row=index,
                    )
                seen.add(example.id)
            yield index, example

    def _check_labels_upfront(self) -> None:
        # For in-memory sequences, fail before spending anything on model calls.
        if isinstance(self.dataset, Sequence):
            for _ in self._rows():
                pass

    @_tracing.traced(
        "hallujudge.Evaluator.run",
        inputs=_tracing.evaluator_inputs,
        output=_tracing.report_output,
    )
    async def _evaluate(self, judge: JudgeProtocol) -> EvalReport:
        self._check_labels_upfront()
        run = _Run(self, judge)  # opens the cache: a bad one fails here, before any paid call
        run.start()
        started = time.perf_counter()
        try:
            await run.judge_misses()
        finally:
            run.close()
        report = run.build_report(time.perf_counter() - started)
        for cb in self.callbacks:
            cb.on_end(judge, report)
        return report

    def _custom_metrics(
        self, rows: _Collector, aggregates: Sequence[CustomMetric]
    ) -> dict[str, mt.Metric]:
        out: dict[str, mt.Metric] = {}
        for k, metric in enumerate(rows.row_metrics):
            values = np.array(rows.row_values[k], dtype=np.float64)
            failure = rows.row_failures[k]
            ok = values[~np.isnan(values)]
            if failure is None and np.isinf(ok).any():
                failure = "a row gave an infinite value"
            if failure is not None:
                out[metric.name] = mt.Metric(metric.name, None, reason=failure)
            elif ok.size == 0:
                out[metric.name] = mt.Metric(metric.name, None, reason="no row gave a value")
            else:
                low, high = mt.bootstrap_mean(ok, n_boot=self.bootstrap, seed=self.seed)
                out[metric.name] = mt.Metric(metric.name, float(ok.mean()), low, high)
        for metric in aggregates:
            verdicts = [v for v in rows.verdicts if v is not None]
            examples = [e for e in rows.examples if e is not None]
            try:
                value = metric.fn(examples, verdicts)
            except Exception as exc:  # a broken metric must not lose the run's verdicts
                out[metric.name] = mt.Metric(
                    metric.name, None, reason=f"raised {type(exc).__name__}: {exc}"
                )
                continue
            if value is None or not math.isfinite(float(value)):
                out[metric.name] = mt.Metric(
                    metric.name, None, reason=f"the metric gave no finite value ({value!r})"
                )
            else:
                out[metric.name] = mt.Metric(metric.name, float(value))
        return out


class _Run:
    """One judge's pass over the dataset, in the order its steps happen.

    ``start`` opens the cache and tells the callbacks; ``judge_misses`` streams the rows the cache
    does not answer to the judge; each verdict is committed (``_commit``) before it is reported
    (``_report_row``: the collector, the callbacks, the progress bar), so a verdict anyone has seen
    survives a kill; ``close`` closes what ``start`` opened; ``build_report`` makes the report.
    """

    def __init__(self, evaluator: Evaluator, judge: JudgeProtocol) -> None:
        self.ev = evaluator
        self.judge = judge
        self.settings = judge.settings()
        row_metrics = [m for m in evaluator.metrics if m.kind == "row"]
        self.aggregates = [m for m in evaluator.metrics if m.kind == "aggregate"]
        self.rows = _Collector(row_metrics, keep_all=bool(self.aggregates))
        self.info = evaluator._dataset_info()
        need_hash = not callable(getattr(evaluator.dataset, "content_hash", None))
        self.hasher: Any = hashlib.sha256() if need_hash else None
        self.inflight: dict[int, tuple[int, str, Example]] = {}
        self.cache, self._owns_cache = self._open_cache()
        self.bar: _Progress | None = None

    def _open_cache(self) -> tuple[VerdictCache | None, bool]:
        cache = self.ev.cache
        if cache is None:
            return None, False
        if isinstance(cache, VerdictCache):
            return cache, False
        return VerdictCache(cache), True

    def start(self) -> None:
        """Show the progress bar and call the callbacks' ``on_start``."""
        dataset = self.ev.dataset
        total = len(dataset) if isinstance(dataset, Sequence) else None
        show = self.ev.progress
        if show is None:
            show = sys.stderr.isatty() and (total is None or total >= _AUTO_PROGRESS_ROWS)
        self.bar = _Progress(show, total, self.judge.model)
        for cb in self.ev.callbacks:
            cb.on_start(self.judge, self.info)

    async def judge_misses(self) -> None:
        """Judge every row the cache does not answer, committing and reporting each verdict."""
        judge, ev = self.judge, self.ev
        scores = (
            iter_scores(judge, self._feed(), concurrency=ev.concurrency)
            if ev.mode == "live"
            else _batch_scores(judge, self._feed(), ev.batch_options)
        )
        async for position, verdict in scores:
            index, key, example = self.inflight.pop(position)
            self._commit(key, verdict)
            self._report_row(index, example, verdict, cached=False)

    def _feed(self) -> Iterator[Example]:
        # Look rows up in the cache a chunk at a time; only misses go to the judge.
        position = 0
        source = self.ev._rows()
        while chunk := list(itertools.islice(source, _LOOKUP_CHUNK)):
            for (index, example), key, hit in self._lookup(chunk):
                self.rows.add(index, example)
                if self.hasher is not None:
                    _hash_row(self.hasher, example)
                if hit is not None:
                    self._report_row(index, example, hit, cached=True)
                else:
                    self.inflight[position] = (index, key, example)
                    position += 1
                    yield example

    def _lookup(
        self, chunk: list[tuple[int, Example]]
    ) -> Iterator[tuple[tuple[int, Example], str, Verdict | None]]:
        if self.cache is None:
            for item in chunk:
                yield item, "", None
            return
        keys = [cache_key(self.settings, ex.document, ex.summary) for _, ex in chunk]
        hits = self.cache.get_many(keys)
        for item, key in zip(chunk, keys, strict=True):
            yield item, key, hits.get(key)

    def _commit(self, key: str, verdict: Verdict) -> None:
        # A cache that breaks mid-run (full disk, file made read-only) must not sink a paid run:
        # warn once and finish without it.
        if self.cache is None or not cacheable(verdict):
            return
        try:
            self.cache.put(key, verdict)
        except CacheError as exc:
            warnings.warn(
                f"{exc}. Continuing without the cache: the rest of this run is not saved for "
                "resuming, but its report is complete",
                RuntimeWarning,
                stacklevel=2,
            )
            self.close_cache()
            self.cache = None

    def _report_row(self, index: int, example: Example, verdict: Verdict, cached: bool) -> None:
        threshold = self.ev.threshold
        if not verdict.scored:
            pred = -1
        elif threshold is not None and verdict.score is not None:
            pred = 1 if verdict.score >= threshold else 0
        else:
            pred = 1 if verdict.label == "consistent" else 0
        self.rows.set(index, example, verdict, pred, cached)
        for cb in self.ev.callbacks:
            cb.on_result(index, example, verdict, cached)
        if self.bar is not None:
            self.bar.advance(cached)

    def close_cache(self) -> None:
        """Close the cache if this run opened it (every write is already committed)."""
        if self.cache is not None and self._owns_cache:
            with contextlib.suppress(CacheError):
                self.cache.close()

    def close(self) -> None:
        """Close the cache and the progress bar, also when interrupted."""
        self.close_cache()
        if self.bar is not None:
            self.bar.close()

    def build_report(self, wall_s: float) -> EvalReport:
        """The report of the finished run."""
        if self.hasher is not None:
            self.ev._hash = self.hasher.hexdigest()
            self.info["content_hash"] = self.ev._hash
        self.info["n"] = len(self.rows.ids)
        rows, judge = self.rows, self.judge
        return build_report(
            rows.columns(),
            judge=judge.model,
            prompt=judge.prompt,
            settings=self.settings,
            dataset=self.info,
            custom=self.ev._custom_metrics(rows, self.aggregates),
            tokens=(rows.prompt_tokens, rows.completion_tokens) if rows.has_usage else None,
            price=self.ev._price_for(judge.model),
            wall_s=wall_s,
            bootstrap=self.ev.bootstrap,
            seed=self.ev.seed,
            threshold=self.ev.threshold,
        )


def _hash_row(hasher: Any, example: Example) -> None:
    for part in (example.id or "", example.document, example.summary, str(example.label)):
        data = part.encode("utf-8", "surrogatepass")
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)


async def _batch_scores(
    judge: JudgeProtocol, examples: Iterator[Example], options: dict[str, Any]
) -> AsyncIterator[tuple[int, Verdict]]:
    """Batch mode: every cache miss in one batch job, yielded like ``aiter_scores``."""
    if not isinstance(judge, Judge):
        raise ConfigurationError(
            f"mode='batch' needs a model-backed Judge; {judge.model} has no batch API "
            "(use mode='live')"
        )
    verdicts = await judge.abatch_score(list(examples), **options)
    for position, verdict in enumerate(verdicts):
        yield position, verdict


# -- threshold fitting ---------------------------------------------------------------------------


def fit_threshold(
    judge: Judge,
    dev_dataset: Iterable[Example],
    objective: Objective = "balanced_accuracy",
    **evaluator_options: Any,
) -> Judge:
    """Choose the score threshold on a dev split. Sync twin of :func:`afit_threshold`."""
    return run_sync(
        afit_threshold(judge, dev_dataset, objective, **evaluator_options),
        async_name="afit_threshold",
    )


async def afit_threshold(
    judge: Judge,
    dev_dataset: Iterable[Example],
    objective: Objective = "balanced_accuracy",
    **evaluator_options: Any,
) -> Judge:
    """Choose the score threshold on a dev split and return a judge that uses it.

    A row is judged consistent when ``score >= threshold``. Candidates lie halfway between
    consecutive distinct dev scores. Ties in the objective go to the threshold closest to 0.5.

    Args:
        judge: A judge that gives scores (log-probabilities, the local model, ``samples``).
        dev_dataset: Labelled dev data (never the test split).
        objective: ``"balanced_accuracy"`` or ``"f1"`` (inconsistent class) to maximise, or
            ``("recall", r)``: the best specificity among thresholds that catch at least a
            share ``r`` of the hallucinations.
        **evaluator_options: Passed to :class:`Evaluator` (``cache``, ``concurrency``, ...).

    Returns:
        A shallow copy of ``judge`` (same backend and connections) with ``threshold`` set and the
        fit recorded in ``lineage["threshold_fit"]``.

    Raises:
        ConfigurationError: If the judge is not a Judge, gives no scores on the dev data, or the
            objective is unknown or cannot be reached.
    """
    if not isinstance(judge, Judge) or isinstance(judge, CallableJudge):
        raise ConfigurationError("fit_threshold needs a Judge whose verdicts carry scores")
    _check_objective(objective)
    evaluator_options.setdefault("bootstrap", 0)
    report = await Evaluator(dev_dataset, **evaluator_options).arun(judge)
    cols = report.columns
    keep = (cols.preds >= 0) & ~np.isnan(cols.scores)
    if not keep.any():
        raise ConfigurationError(
            f"{judge.model} gave no scores on the dev data, so there is no threshold to fit; "
            "use a judge with scores (logprobs=True, the local model, or samples=)"
        )
    y_pos = cols.labels[keep] == 0
    thresholds, sweep = mt.threshold_sweep(y_pos, cols.scores[keep])
    closeness = -np.abs(thresholds - 0.5)
    if isinstance(objective, tuple):
        target = float(objective[1])
        feasible = np.nan_to_num(sweep["recall"], nan=-1.0) >= target
        if not feasible.any():
            raise ConfigurationError(
                f"no threshold reaches recall {target:g} on the dev data (it has "
                f"{int(y_pos.sum())} inconsistent rows with scores)"
            )
        spec = np.where(feasible, np.nan_to_num(sweep["specificity"], nan=-1.0), -np.inf)
        best = int(np.lexsort((closeness, spec))[-1])
        value = float(spec[best])
    else:
        vals = np.nan_to_num(sweep[objective], nan=-1.0)
        best = int(np.lexsort((closeness, vals))[-1])
        value = float(vals[best])
    fitted = judge.with_settings(threshold=float(thresholds[best]))
    fitted.lineage = {
        **judge.lineage,
        "threshold_fit": {
            "threshold": fitted.threshold,
            "objective": list(objective) if isinstance(objective, tuple) else objective,
            "value": value,
            "recall": _num(sweep["recall"][best]),
            "specificity": _num(sweep["specificity"][best]),
            "dev_dataset": report.dataset,
            "dev_rows_with_score": int(keep.sum()),
        },
    }
    return fitted


def _num(x: Any) -> float | None:
    v = float(x)
    return None if math.isnan(v) else v


def _check_objective(objective: object) -> None:
    if objective in ("balanced_accuracy", "f1"):
        return
    if (
        isinstance(objective, tuple)
        and len(objective) == 2
        and objective[0] == "recall"
        and isinstance(objective[1], int | float)
        and 0.0 < float(objective[1]) <= 1.0
    ):
        return
    raise ConfigurationError(
        f"objective must be 'balanced_accuracy', 'f1' or ('recall', r) with 0 < r <= 1, not "
        f"{objective!r}"
    )
