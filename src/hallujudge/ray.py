"""Judge datasets on a Ray cluster (``hallujudge[ray]``) and report without collecting the rows.

>>> from hallujudge import ray as hj_ray
>>> judged = hj_ray.judge_dataset(ds, "local:gbm", workers=4)  # doctest: +SKIP
>>> report = hj_ray.report(judged, "local:gbm")  # doctest: +SKIP

* :class:`JudgeBatches` is a callable class for ``Dataset.map_batches`` with an actor pool: each
  actor builds its Judge once, then judges batch after batch and adds the verdict columns
  ``verdict_label``, ``verdict_score`` (P(consistent), NaN when none), ``verdict_reason``,
  ``verdict_error`` and ``verdict_latency_s``, ``verdict_prompt_tokens``,
  ``verdict_completion_tokens``. Rows whose texts are missing or not strings are kept, unscored,
  with the reason. :func:`judge_dataset` wires it up.
* :class:`RateBudget` is a Ray actor that hands out request slots at ``rpm`` per minute to every
  worker in the cluster, so API judges respect one account-wide limit whatever the pool size.
* :func:`report` builds an :class:`~hallujudge.EvalReport` from the verdict columns: each block
  is reduced where it lives to a few counts, and only those counts travel (see
  :class:`DatasetReport` for what is exact).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import math
import pickle
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import ray

from . import _metrics as mt
from ._judge import Judge
from ._judging import JudgeProtocol
from ._report import Columns, EvalReport, Price, build_report, count_metrics
from ._types import Example, Verdict

if TYPE_CHECKING:
    import ray.data

__all__ = [
    "COLUMNS",
    "DatasetReport",
    "JudgeBatches",
    "RateBudget",
    "judge_dataset",
    "report",
]

COLUMNS = ("label", "score", "reason", "error", "latency_s", "prompt_tokens", "completion_tokens")
"""The verdict columns :class:`JudgeBatches` adds (each with the ``verdict_`` prefix)."""

JudgeSpec = str | Callable[[], Judge]


@ray.remote(num_cpus=0)
class RateBudget:
    """A cluster-wide requests-per-minute budget, shared by every worker holding its handle.

    Slots are spaced ``60 / rpm`` seconds apart in request order. The actor answers how long the
    caller must wait (not a wall-clock time), so clock differences between nodes do not matter.

    Args:
        rpm: Requests per minute for the whole cluster.
    """

    def __init__(self, rpm: float) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.interval = 60.0 / rpm
        self._next = 0.0
        self.granted = 0

    def acquire(self) -> float:
        """Reserve the next slot; returns the seconds to wait before using it."""
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        self.granted += 1
        return slot - now

    def count(self) -> int:
        """Slots granted so far."""
        return self.granted


class _SharedLimiter:
    """A :class:`~hallujudge._ratelimit.CallLimiter` whose slots a :class:`RateBudget` hands out."""

    def __init__(self, budget: Any) -> None:  # no local interval: the actor spaces the slots
        self.budget = budget

    async def acquire(self) -> None:
        wait = await self.budget.acquire.remote()
        if wait > 0:
            await asyncio.sleep(wait)


def _build_judge(model: JudgeSpec, options: Mapping[str, Any], budget: Any) -> Judge:
    judge = model() if callable(model) else Judge(model, **options)
    if budget is not None:
        judge = judge.with_rate_limiter(_SharedLimiter(budget))  # every call waits its turn
    return judge


class JudgeBatches:
    """A callable class for ``ray.data.Dataset.map_batches`` (``batch_format="numpy"``).

    Args:
        model: A model string, or a zero-argument callable that builds the Judge on the worker
            (for backend objects, which need not be picklable).
        document_column: Column with the source texts.
        summary_column: Column with the texts to check.
        prefix: Prefix of the added columns.
        concurrency: Judgments in flight per worker (API judges: raise it).
        rate_budget: A :class:`RateBudget` handle shared by all workers (API judges).
        judge_options: Options for ``Judge(model, ...)`` (ignored when ``model`` is callable).
    """

    def __init__(
        self,
        model: JudgeSpec = "local",
        *,
        document_column: str = "document",
        summary_column: str = "summary",
        prefix: str = "verdict_",
        concurrency: int | None = None,
        rate_budget: Any = None,
        judge_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.judge = _build_judge(model, judge_options or {}, rate_budget)
        self.document_column = document_column
        self.summary_column = summary_column
        self.prefix = prefix
        self.concurrency = concurrency

    def __call__(self, batch: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        """Judge one batch and return it with the verdict columns added."""
        for column in (self.document_column, self.summary_column):
            if column not in batch:
                from ._errors import ConfigurationError

                raise ConfigurationError(
                    f"the dataset has no column {column!r} (it has {sorted(batch)}); pass "
                    "document_column= and summary_column= to name the text columns"
                )
        documents = batch[self.document_column]
        summaries = batch[self.summary_column]
        verdicts = _judge_rows(self.judge, documents, summaries, self.concurrency)
        out = dict(batch)
        for name, values in _verdict_columns(verdicts).items():
            out[self.prefix + name] = values
        return out


def _judge_rows(
    judge: Judge, documents: npt.NDArray[Any], summaries: npt.NDArray[Any], concurrency: int | None
) -> list[Verdict]:
    """One verdict per row, in order; rows without two texts are unscored, never dropped."""
    verdicts: list[Verdict | None] = [None] * len(documents)
    valid: list[int] = []
    for i, (doc, summ) in enumerate(zip(documents, summaries, strict=True)):
        problem = _not_text(doc, "document") or _not_text(summ, "summary")
        if problem:
            verdicts[i] = Verdict.unscored(problem, model=judge.model, prompt=judge.prompt)
        else:
            valid.append(i)
    scored = judge.score_many(
        [Example(document=str(documents[i]), summary=str(summaries[i])) for i in valid],
        concurrency=concurrency,
    )
    for i, verdict in zip(valid, scored, strict=True):
        verdicts[i] = verdict
    return [v for v in verdicts if v is not None]


def _not_text(value: Any, name: str) -> str | None:
    if isinstance(value, str | np.str_):
        return None
    shown = (
        "missing"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"a {type(value).__name__}")
    )
    return f"the {name} is {shown}, not text: this row was not judged"


def _verdict_columns(verdicts: list[Verdict]) -> dict[str, npt.NDArray[Any]]:
    nan = float("nan")
    return {
        "label": np.array([v.label for v in verdicts], dtype=object),
        "score": np.array([nan if v.score is None else v.score for v in verdicts], dtype=float),
        "reason": np.array([v.reason or "" for v in verdicts], dtype=object),
        "error": np.array([v.error or "" for v in verdicts], dtype=object),
        "latency_s": np.array(
            [nan if v.latency_s is None else v.latency_s for v in verdicts], dtype=float
        ),
        "prompt_tokens": np.array(
            [-1 if v.usage is None else v.usage.prompt_tokens for v in verdicts], dtype=np.int64
        ),
        "completion_tokens": np.array(
            [-1 if v.usage is None else v.usage.completion_tokens for v in verdicts],
            dtype=np.int64,
        ),
    }


def judge_dataset(
    ds: ray.data.Dataset,
    model: JudgeSpec = "local",
    *,
    workers: int = 2,
    batch_size: int = 256,
    num_cpus: float = 1.0,
    **options: Any,
) -> ray.data.Dataset:
    """Add verdict columns to a Ray dataset with a pool of judging actors.

    Args:
        ds: Rows with ``document`` and ``summary`` columns (or name them, see ``options``).
        model: A model string, or a callable that builds the Judge on each worker.
        workers: Actors in the pool; each builds its judge once.
        batch_size: Rows per call of an actor.
        num_cpus: CPUs each actor reserves (lower it for API judges, which mostly wait).
        **options: :class:`JudgeBatches` options (``document_column``, ``rate_budget``,
            ``concurrency``, ``judge_options``, ...).

    Returns:
        The lazy dataset with the ``verdict_*`` columns; nothing runs until it is consumed.
    """
    import ray.data

    return ds.map_batches(
        JudgeBatches,
        fn_constructor_args=(model,),
        fn_constructor_kwargs=options,
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=num_cpus,
    )


# -- reports from per-block counts ---------------------------------------------------------

_GRID = 1_000_000  # ROC/PR tie grid: scores equal to 6 decimals count as tied
_BOOT_GRID = 1000  # bootstrap of score metrics resamples scores on a 0.001 grid
_LAT_EDGES = np.logspace(-6, 4, 2001)  # 1 µs .. 10^4 s, about 1.2% per bin
_CODES = {"consistent": 1, "inconsistent": 0, "unscored": -1}


@dataclasses.dataclass
class _Stats:
    """What a block contributes to a report (sums of counts; merging is addition)."""

    categories: npt.NDArray[np.int64]  # y_pos * 3 + (0 consistent, 1 inconsistent, 2 unscored)
    grid: dict[int, tuple[int, int]]  # score bin -> (inconsistent rows, consistent rows)
    ece: npt.NDArray[np.float64]  # 10 bins x (count, sum of scores, consistent rows)
    latency: npt.NDArray[np.int64]  # log-spaced histogram
    latency_sum: float
    latency_n: int
    prompt_tokens: int
    completion_tokens: int
    usage_rows: int
    sample: list[tuple[float, dict[str, Any]]]  # (random key, row) with the smallest keys

    def merge(self, other: _Stats, sample_size: int) -> _Stats:
        grid = dict(self.grid)
        for key, (pos, neg) in other.grid.items():
            old = grid.get(key, (0, 0))
            grid[key] = (old[0] + pos, old[1] + neg)
        return _Stats(
            categories=self.categories + other.categories,
            grid=grid,
            ece=self.ece + other.ece,
            latency=self.latency + other.latency,
            latency_sum=self.latency_sum + other.latency_sum,
            latency_n=self.latency_n + other.latency_n,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            usage_rows=self.usage_rows + other.usage_rows,
            sample=sorted(self.sample + other.sample, key=lambda kv: kv[0])[:sample_size],
        )


def _stats_batch(
    batch: dict[str, npt.NDArray[Any]],
    label_column: str,
    prefix: str,
    id_column: str | None,
    sample: int,
) -> dict[str, npt.NDArray[Any]]:
    """One block's statistics, pickled into a one-row batch (only this leaves the worker)."""
    stats = _block_stats(batch, label_column, prefix, id_column, sample)
    return {"stats": np.array([pickle.dumps(stats)], dtype=object)}


def _block_stats(
    batch: Mapping[str, npt.NDArray[Any]],
    label_column: str,
    prefix: str,
    id_column: str | None,
    sample_size: int,
) -> _Stats:
    labels = np.asarray(batch[label_column], dtype=np.int64)
    preds = np.array([_CODES[str(x)] for x in batch[prefix + "label"]], dtype=np.int64)
    scores = np.asarray(batch[prefix + "score"], dtype=np.float64)
    latency = np.asarray(batch[prefix + "latency_s"], dtype=np.float64)
    p_tok = np.asarray(batch[prefix + "prompt_tokens"], dtype=np.int64)
    c_tok = np.asarray(batch[prefix + "completion_tokens"], dtype=np.int64)
    y_pos = labels == 0
    categories = np.bincount(y_pos * 3 + np.where(preds < 0, 2, 1 - preds), minlength=6)
    has = (preds >= 0) & ~np.isnan(scores)
    bins = np.rint(np.clip(scores[has], 0.0, 1.0) * _GRID).astype(np.int64)
    grid: dict[int, tuple[int, int]] = {}
    for key, pos in zip(bins.tolist(), y_pos[has].tolist(), strict=True):
        old = grid.get(key, (0, 0))
        grid[key] = (old[0] + pos, old[1] + (not pos))
    p = np.clip(scores[has], 0.0, 1.0)
    ece_bin = np.minimum((p * 10).astype(np.int64), 9)
    ece = np.stack(
        [
            np.bincount(ece_bin, minlength=10),
            np.bincount(ece_bin, weights=p, minlength=10),
            np.bincount(ece_bin, weights=(~y_pos[has]).astype(float), minlength=10),
        ],
        axis=1,
    ).astype(np.float64)
    lat = latency[~np.isnan(latency)]
    hist = np.bincount(
        np.clip(np.searchsorted(_LAT_EDGES, lat), 0, len(_LAT_EDGES)), minlength=len(_LAT_EDGES) + 1
    )
    usage = p_tok >= 0
    keys = np.random.default_rng().random(len(labels))
    chosen = np.argsort(keys)[:sample_size]
    sample = [
        (float(keys[i]), _sample_row(batch, int(i), label_column, prefix, id_column))
        for i in chosen
    ]
    return _Stats(
        categories=categories.astype(np.int64),
        grid=grid,
        ece=ece,
        latency=hist.astype(np.int64),
        latency_sum=float(lat.sum()),
        latency_n=int(lat.size),
        prompt_tokens=int(p_tok[usage].sum()),
        completion_tokens=int(c_tok[usage].sum()),
        usage_rows=int(usage.sum()),
        sample=sample,
    )


def _sample_row(
    batch: Mapping[str, npt.NDArray[Any]],
    i: int,
    label_column: str,
    prefix: str,
    id_column: str | None,
) -> dict[str, Any]:
    score = float(batch[prefix + "score"][i])
    latency = float(batch[prefix + "latency_s"][i])
    return {
        "id": str(batch[id_column][i]) if id_column else "",
        "label": int(batch[label_column][i]),
        "prediction": str(batch[prefix + "label"][i]),
        "score": None if math.isnan(score) else score,
        "error": str(batch[prefix + "error"][i]) or None,
        "latency_s": None if math.isnan(latency) else latency,
    }


@dataclasses.dataclass(eq=False)
class DatasetReport(EvalReport):
    """An :class:`~hallujudge.EvalReport` computed from per-block counts of a Ray dataset.

    Exact (equal to ``build_report`` over all the rows): row counts, the confusion matrix, every
    count metric (accuracy, balanced accuracy, precision, recall, F1, specificity, both over
    scored rows and with unscored rows as errors) **and their bootstrap intervals** (which depend
    on the rows only through six category counts), ECE, mean latency, tokens and cost.

    Approximate: ROC-AUC and PR-AUC treat scores equal to 6 decimals as tied (off by at most
    the ties this creates); their and ECE's intervals resample scores on a 0.001 grid (same
    method, other random draws than the in-memory report); latency percentiles come from a
    log-spaced histogram (within about 1.2%).

    ``columns`` holds a uniform random sample of at most ``sample`` rows (for the HTML plots and
    for reading examples), not every row; ``n``, ``n_scored`` and ``n_with_score`` count every
    row. ``to_dict`` writes that sample under ``prediction_sample``.
    """

    counts: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def n(self) -> int:
        """Rows evaluated (every row, not the sample)."""
        return self.counts.get("n", 0)

    @property
    def n_scored(self) -> int:
        """Rows the judge gave a label."""
        return self.counts.get("n_scored", 0)

    @property
    def n_with_score(self) -> int:
        """Scored rows that also have a probability."""
        return self.counts.get("n_with_score", 0)

    def to_dict(self, *, predictions: bool = True) -> dict[str, Any]:
        """As :meth:`EvalReport.to_dict`, with the row sample as ``prediction_sample``."""
        out = super().to_dict(predictions=False)
        if predictions:
            out["prediction_sample"] = self.columns.rows()
        return out


def _collect(
    ds: ray.data.Dataset, label_column: str, prefix: str, id_column: str | None, sample: int
) -> _Stats:
    blocks = ds.map_batches(
        functools.partial(
            _stats_batch,
            label_column=label_column,
            prefix=prefix,
            id_column=id_column,
            sample=sample,
        ),
        batch_size=None,
        batch_format="numpy",
    )
    total: _Stats | None = None
    for batch in blocks.iter_batches(batch_format="numpy", batch_size=64):
        for blob in batch["stats"]:
            stats: _Stats = pickle.loads(blob)
            total = stats if total is None else total.merge(stats, sample)
    if total is None:
        from ._errors import DataError

        raise DataError("the dataset has no rows to report on")
    return total


def report(
    ds: ray.data.Dataset,
    judge: JudgeProtocol | str,
    *,
    label_column: str = "label",
    prefix: str = "verdict_",
    id_column: str | None = None,
    name: str = "ray-dataset",
    bootstrap: int = 1000,
    seed: int = 0,
    price: Price | None = None,
    sample: int = 2000,
) -> DatasetReport:
    """Build an EvalReport from a judged dataset's columns, block by block.

    Args:
        ds: The output of :func:`judge_dataset` (or of ``map_batches(JudgeBatches, ...)``),
            with a gold ``label_column`` (1 = consistent, 0 = inconsistent).
        judge: The judge that produced the verdicts (for the report's model, prompt, settings).
        label_column: The gold label column.
        prefix: The verdict columns' prefix.
        id_column: Column with row ids, for the sampled rows.
        name: The dataset's name in the report.
        bootstrap: Bootstrap resamples for the 95% intervals (0: none).
        seed: Seed of the resampling.
        price: USD per million ``(prompt, completion)`` tokens, for the cost.
        sample: Rows kept (uniformly at random) in ``columns``.

    Returns:
        The report; see :class:`DatasetReport` for what is exact.
    """
    started = time.perf_counter()
    judge = judge if isinstance(judge, JudgeProtocol) else Judge(judge)
    stats = _collect(ds, label_column, prefix, id_column, sample)
    return _build(stats, judge, name, bootstrap, seed, price, time.perf_counter() - started)


def _build(
    stats: _Stats,
    judge: JudgeProtocol,
    name: str,
    bootstrap: int,
    seed: int,
    price: Price | None,
    wall_s: float,
) -> DatasetReport:
    c = stats.categories
    neg_ok, neg_flag, neg_uns, pos_miss, pos_ok, pos_uns = (int(x) for x in c)
    n = int(c.sum())
    counts = (pos_ok, neg_flag, pos_miss, neg_ok)
    cis = mt.bootstrap_category_counts(c, n_boot=bootstrap, seed=seed)
    skeleton = build_report(
        _sample_columns(stats),
        judge=judge.model,
        prompt=judge.prompt,
        settings=judge.settings(),
        dataset={"name": name, "n": n},
        bootstrap=0,
    )
    tokens = None
    cost = None
    if stats.usage_rows:
        tokens = {
            "prompt": stats.prompt_tokens,
            "completion": stats.completion_tokens,
            "total": stats.prompt_tokens + stats.completion_tokens,
        }
        if price is not None:
            cost = (stats.prompt_tokens * price[0] + stats.completion_tokens * price[1]) / 1e6
    n_scored = n - neg_uns - pos_uns
    with_score = sum(p + q for p, q in stats.grid.values())
    fields = {f.name: getattr(skeleton, f.name) for f in dataclasses.fields(EvalReport)}
    fields.update(
        metrics=count_metrics(counts, cis["scored"]),
        metrics_strict=count_metrics(
            (pos_ok, neg_flag + neg_uns, pos_miss + pos_uns, neg_ok), cis["strict"]
        ),
        score_metrics=_score_metrics(stats, bootstrap, seed),
        confusion={
            "tp": pos_ok,
            "fp": neg_flag,
            "fn": pos_miss,
            "tn": neg_ok,
            "unscored_inconsistent": pos_uns,
            "unscored_consistent": neg_uns,
        },
        latency_s=_latency(stats),
        tokens=tokens,
        cost_usd=cost,
        run={
            **skeleton.run,
            "wall_s": wall_s,
            "n_cached": 0,
            "n_called": n,
            "rows_per_s": None,
            "bootstrap": bootstrap,
            "seed": seed,
            "price_usd_per_mtok": list(price) if price else None,
            "from_block_counts": True,
            "sample_rows": len(stats.sample),
        },
    )
    return DatasetReport(
        **fields, counts={"n": n, "n_scored": n_scored, "n_with_score": with_score}
    )


def _sample_columns(stats: _Stats) -> Columns:
    rows = [dict(row, index=i, cached=False) for i, (_, row) in enumerate(stats.sample)]
    return Columns.from_rows(rows)


def _grid_counts(
    stats: _Stats,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    keys = np.array(sorted(stats.grid), dtype=np.int64)
    pos = np.array([stats.grid[k][0] for k in keys], dtype=np.float64)
    neg = np.array([stats.grid[k][1] for k in keys], dtype=np.float64)
    return keys, pos, neg


def _score_metrics(stats: _Stats, bootstrap: int, seed: int) -> dict[str, mt.Metric]:
    if not stats.grid:
        return {}
    keys, pos, neg = _grid_counts(stats)
    # Groups ascending in the positive score 1 - P(consistent): descending in P.
    pos_d, neg_d = pos[::-1], neg[::-1]
    roc = float(mt._auc_from_group_counts(pos_d, neg_d))
    ap = float(mt._ap_from_group_counts(pos_d, neg_d))
    count, psum, ysum = stats.ece.T
    ece = float(np.abs(psum - ysum).sum() / max(count.sum(), 1.0))
    cis = _score_intervals(keys, pos, neg, bootstrap, seed)
    one_class = bool(pos.sum() == 0 or neg.sum() == 0)
    out = {}
    for metric, value in (("roc_auc", roc), ("pr_auc", ap), ("ece", ece)):
        v = None if math.isnan(value) else value
        reason = None
        if v is None:
            reason = "only one class among rows with a score" if one_class else "undefined"
        out[metric] = mt.Metric(metric, v, *cis[metric], reason)
    return out


def _score_intervals(
    keys: npt.NDArray[np.int64],
    pos: npt.NDArray[np.float64],
    neg: npt.NDArray[np.float64],
    n_boot: int,
    seed: int,
) -> dict[str, tuple[float | None, float | None]]:
    n = int(pos.sum() + neg.sum())
    if n_boot <= 0 or n == 0:
        return dict.fromkeys(mt.SCORE_METRICS, (None, None))
    coarse = np.rint(keys / (_GRID / _BOOT_GRID)).astype(np.int64)  # 0 .. 1000
    cells = np.concatenate(
        [
            np.bincount(coarse, weights=pos, minlength=_BOOT_GRID + 1),
            np.bincount(coarse, weights=neg, minlength=_BOOT_GRID + 1),
        ]
    )
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells / n, size=n_boot).astype(np.float64)
    bpos, bneg = draws[:, : _BOOT_GRID + 1], draws[:, _BOOT_GRID + 1 :]
    roc = mt._auc_from_group_counts(bpos[:, ::-1], bneg[:, ::-1])
    ap = mt._ap_from_group_counts(bpos[:, ::-1], bneg[:, ::-1])
    p = np.arange(_BOOT_GRID + 1) / _BOOT_GRID
    ece_bin = np.minimum((p * 10).astype(np.int64), 9)
    tot = bpos + bneg
    psum = np.stack([(tot * p)[:, ece_bin == b].sum(axis=1) for b in range(10)], axis=1)
    ysum = np.stack([bneg[:, ece_bin == b].sum(axis=1) for b in range(10)], axis=1)
    ece = np.abs(psum - ysum).sum(axis=1) / np.maximum(tot.sum(axis=1), 1.0)
    return {
        "roc_auc": mt._interval(roc),
        "pr_auc": mt._interval(ap),
        "ece": mt._interval(ece),
    }


def _latency(stats: _Stats) -> dict[str, float | None]:
    if stats.latency_n == 0:
        return {"p50": None, "p95": None, "mean": None}
    cum = np.cumsum(stats.latency)
    edges = np.concatenate([[_LAT_EDGES[0]], _LAT_EDGES, [_LAT_EDGES[-1]]])

    def pct(q: float) -> float:
        i = int(np.searchsorted(cum, q / 100 * stats.latency_n, side="left"))
        return float(math.sqrt(edges[i] * edges[i + 1]))  # the bin's geometric middle

    return {"p50": pct(50), "p95": pct(95), "mean": stats.latency_sum / stats.latency_n}
