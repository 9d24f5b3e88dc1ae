"""W&B Weave helpers: judges inside ``weave.Evaluation``, scorers that hide no failure, publishing.

Importing this module imports ``weave``; ``import hallujudge`` alone never does. Tracing itself
needs nothing from here: once you call ``weave.init(...)``, every judgment is traced as
``hallujudge.Judge.score`` with its prompt rendering, backend calls and parsing as children.

Example::

    import asyncio, weave
    from hallujudge import Judge
    from hallujudge.weave import as_model, scorers, to_rows

    weave.init("my-team/hallucination")
    evaluation = weave.Evaluation(dataset=to_rows(examples), scorers=scorers())
    summary = asyncio.run(evaluation.evaluate(as_model(Judge("mistral:open-mistral-7b"))))
    summary["accuracy"]  # {"accuracy": 0.8, "judged": 98, "unscored": 1, "failed": 1, ...}

Metric conventions are the library's: the positive class is **inconsistent** (a hallucination),
``label`` 1 = consistent and 0 = inconsistent. ``weave.Evaluation`` swallows errors raised by a
prediction (the row's scores come back empty); these scorers count such rows as ``failed``, and
unscored verdicts as ``unscored``, in every summary, next to the metrics computed on the rows
that were judged.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from typing import Any, ClassVar, cast

from pydantic import BaseModel, PrivateAttr

from ._callbacks import EvalCallback
from ._errors import ConfigurationError
from ._extras import import_extra
from ._judge import PairLike, to_example
from ._judging import JudgeProtocol
from ._metrics import POSITIVE_CLASS, classification_from_counts
from ._tracing import backend_secrets, is_tracing, scrub, verdict_to_dict
from ._types import Example, Verdict

import_extra("weave", feature="import hallujudge.weave")  # names the extra when weave is missing
import weave  # noqa: E402

logger = logging.getLogger("hallujudge")

__all__ = [
    "AccuracyScorer",
    "BalancedAccuracyScorer",
    "HallucinationScorer",
    "InconsistentPRFScorer",
    "JudgeModel",
    "UnscoredScorer",
    "WeaveCallback",
    "as_model",
    "log_report",
    "publish_lineage",
    "report_summary",
    "scorers",
    "to_rows",
]


# -- the judge as a weave.Model -------------------------------------------------------------


class JudgeModel(weave.Model):
    """A :class:`~hallujudge.Judge` as a ``weave.Model`` (build it with :func:`as_model`).

    ``predict`` takes the dataset's columns ``document`` and ``summary`` (or the notebook's
    ``premise`` and ``hypothesis``) and returns the verdict as a dict. The model's attributes,
    which Weave versions, are the judge's model, prompt ``name@version`` and scrubbed settings.

    Attributes:
        judge_model: The judge's model string.
        prompt: The prompt strategy as ``name@version``.
        settings: Everything that changes the judge's answers (no secrets).
    """

    judge_model: str
    prompt: str
    settings: dict[str, Any]
    _judge: JudgeProtocol | None = PrivateAttr(default=None)

    @property
    def judge(self) -> JudgeProtocol:
        """The wrapped judge.

        Raises:
            ConfigurationError: When the model was not built with :func:`as_model` (for
                example, loaded back from Weave, which stores its attributes, not the judge).
        """
        if self._judge is None:
            raise ConfigurationError(
                "this JudgeModel has no judge attached; build it with "
                "hallujudge.weave.as_model(Judge(...))"
            )
        return self._judge

    @weave.op(name="hallujudge.JudgeModel.predict", enable_code_capture=False)
    async def predict(
        self,
        document: str | None = None,
        summary: str | None = None,
        premise: str | None = None,
        hypothesis: str | None = None,
    ) -> dict[str, Any]:
        """Judge one row.

        Args:
            document: The source text.
            summary: The text to check.
            premise: Alias of ``document`` (the notebook's JSONL).
            hypothesis: Alias of ``summary``.

        Returns:
            The verdict as a dict (``label``, ``score``, ``hallucinated``, ``error``, ...).

        Raises:
            ConfigurationError: When the row has no document or no summary column, or they are
                not strings. ``weave.Evaluation`` swallows it; :func:`scorers` count the row as
                failed.
        """
        doc = document if document is not None else premise
        summ = summary if summary is not None else hypothesis
        if doc is None or summ is None:
            raise ConfigurationError(
                "each row needs 'document' and 'summary' columns (or 'premise' and "
                "'hypothesis'); rename the columns or pass preprocess_model_input= to "
                "weave.Evaluation"
            )
        verdict = await self.judge.ajudge(to_example((doc, summ)))
        return verdict_to_dict(verdict)


def as_model(judge: JudgeProtocol, *, name: str | None = None) -> JudgeModel:
    """Wrap a judge as a ``weave.Model`` for ``weave.Evaluation``.

    Args:
        judge: The judge.
        name: The model's name in Weave (default: from the judge's model and prompt).

    Returns:
        The model; ``await model.predict(document=..., summary=...)`` returns a verdict dict.

    Raises:
        ConfigurationError: If ``judge`` is not a Judge.
    """
    if not isinstance(judge, JudgeProtocol):
        raise ConfigurationError(
            f"as_model() takes a hallujudge judge (Judge, Cascade, ...), not "
            f"{type(judge).__name__}; build one with Judge('model-name')"
        )
    secrets = backend_secrets(getattr(judge, "backend", None))
    settings = cast(dict[str, Any], scrub(judge.settings(), secrets))
    default_name = re.sub(r"[^\w.-]+", "-", f"{judge.model}-{judge.prompt}").strip("-")
    model = JudgeModel(
        name=name or default_name, judge_model=judge.model, prompt=judge.prompt, settings=settings
    )
    model._judge = judge
    return model


# -- scorers ---------------------------------------------------------------------------------

_LABELS: dict[object, str] = {
    1: "consistent",
    0: "inconsistent",
    "1": "consistent",
    "0": "inconsistent",
    "consistent": "consistent",
    "inconsistent": "inconsistent",
}


def _expected(label: Any) -> tuple[str | None, str | None]:
    """The true class of a row and an error when the label is unreadable."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return None, None
    if isinstance(label, bool):
        label = int(label)
    if isinstance(label, float) and label in (0.0, 1.0):
        label = int(label)
    key = label.strip().lower() if isinstance(label, str) else label
    try:
        found = _LABELS.get(key)
    except TypeError:  # unhashable
        found = None
    if found is None:
        return None, (
            f"label must be 1 (consistent) or 0 (inconsistent), got {label!r}; fix the row "
            "or map the right column with column_map={'label': 'your_column'}"
        )
    return found, None


def _num(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else round(number, 6)


class HallucinationScorer(weave.Scorer):
    """Base of hallujudge's scorers: one row in, one summary that counts every failure.

    ``score`` reads the model's verdict dict and the row's ``label`` (or ``target``, the
    notebook's column; 1 = consistent, 0 = inconsistent) and records what was predicted and
    expected. ``summarize`` reports the subclass's metrics over the rows that were judged, and
    always: ``rows``, ``judged`` (a label predicted and a label known), ``unscored`` (the judge
    answered but gave no label), ``failed`` (no prediction reached the scorer: it raised, and
    ``weave.Evaluation`` hid the error), ``unlabelled`` and ``invalid_label``.
    """

    metrics: ClassVar[tuple[str, ...]] = ()

    @weave.op(enable_code_capture=False)
    def score(  # type: ignore[override]  # named columns, not **kwargs: see the docstring
        self, *, output: Any, label: Any = None, target: Any = None
    ) -> dict[str, Any]:
        """Compare one verdict with the row's label.

        Args:
            output: What the model returned (a verdict dict from :class:`JudgeModel`).
            label: The true label: 1 / "consistent" or 0 / "inconsistent".
            target: Alias of ``label`` (the notebook's JSONL).

        Returns:
            ``predicted``, ``expected``, ``correct`` (None unless both are known) and
            ``error`` (why the row is unscored, failed, or has an unreadable label).
        """
        expected, label_error = _expected(label if label is not None else target)
        if not isinstance(output, Mapping) or output.get("label") not in (
            "consistent",
            "inconsistent",
            "unscored",
        ):
            return {
                "predicted": None,
                "expected": expected,
                "correct": None,
                "error": f"the model returned no verdict: {output!r:.200}",
            }
        predicted = str(output["label"])
        error = label_error or (str(output.get("error")) if predicted == "unscored" else None)
        correct = None
        if predicted != "unscored" and expected is not None:
            correct = predicted == expected
        return {"predicted": predicted, "expected": expected, "correct": correct, "error": error}

    @weave.op(enable_code_capture=False)
    def summarize(self, score_rows: list[Any]) -> dict[str, Any]:  # type: ignore[override]
        """Metrics over the judged rows, with every unjudged row counted.

        Args:
            score_rows: One ``score`` result per row; an empty or missing entry is a row whose
                prediction failed.

        Returns:
            This scorer's metrics plus the counts (see the class docstring).
        """
        return summarize_rows(score_rows, self.metrics)


def summarize_rows(score_rows: Iterable[Any], metrics: Iterable[str]) -> dict[str, Any]:
    """Summarise per-row score dicts into metrics and explicit failure counts.

    Args:
        score_rows: ``HallucinationScorer.score`` results; anything else counts as failed.
        metrics: Which metrics to include (``accuracy``, ``balanced_accuracy``,
            ``precision``, ``recall``, ``f1``, ``specificity``).

    Returns:
        The metrics (None when undefined) and ``rows``, ``judged``, ``unscored``, ``failed``,
        ``unlabelled``, ``invalid_label`` and ``positive_class``.
    """
    counts = Counter[str]()
    tp = fp = fn = tn = 0
    errors = Counter[str]()
    for row in score_rows:
        counts["rows"] += 1
        if not isinstance(row, Mapping) or not row or row.get("predicted") is None:
            counts["failed"] += 1
            if isinstance(row, Mapping) and row.get("error"):
                errors[str(row["error"])[:120]] += 1
            continue
        if row["predicted"] == "unscored":
            counts["unscored"] += 1
            errors[str(row.get("error"))[:120]] += 1
            continue
        if row.get("expected") is None:
            counts["invalid_label" if row.get("error") else "unlabelled"] += 1
            continue
        counts["judged"] += 1
        pred_pos = row["predicted"] == POSITIVE_CLASS
        true_pos = row["expected"] == POSITIVE_CLASS
        tp += pred_pos and true_pos
        fp += pred_pos and not true_pos
        fn += true_pos and not pred_pos
        tn += not pred_pos and not true_pos
    values = classification_from_counts(tp, fp, fn, tn)
    summary: dict[str, Any] = {name: _num(values[name]) for name in metrics}
    for key in ("rows", "judged", "unscored", "failed", "unlabelled", "invalid_label"):
        summary[key] = counts[key]
    summary["positive_class"] = POSITIVE_CLASS
    if errors:
        summary["top_errors"] = dict(errors.most_common(3))
    return summary


class AccuracyScorer(HallucinationScorer):
    """Accuracy over judged rows (failures and unscored rows are counted, not hidden)."""

    name: str | None = "accuracy"
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)


class BalancedAccuracyScorer(HallucinationScorer):
    """Mean of recall on inconsistent and recall on consistent rows, over judged rows."""

    name: str | None = "balanced_accuracy"
    metrics: ClassVar[tuple[str, ...]] = ("balanced_accuracy",)


class InconsistentPRFScorer(HallucinationScorer):
    """Precision, recall and F1 of the inconsistent class (hallucinations caught)."""

    name: str | None = "inconsistent_prf"
    metrics: ClassVar[tuple[str, ...]] = ("precision", "recall", "f1")


class UnscoredScorer(HallucinationScorer):
    """How many rows got no label: unscored verdicts and failed predictions, with reasons."""

    name: str | None = "unscored"

    @weave.op(enable_code_capture=False)
    def summarize(self, score_rows: list[Any]) -> dict[str, Any]:  # type: ignore[override]
        """Counts of unjudged rows and their share.

        Args:
            score_rows: One ``score`` result per row.

        Returns:
            ``unscored``, ``failed``, ``unjudged`` (their sum), ``unjudged_rate``, ``rows``
            and the most common reasons.
        """
        summary = summarize_rows(score_rows, ())
        unjudged = summary["unscored"] + summary["failed"]
        summary["unjudged"] = unjudged
        summary["unjudged_rate"] = round(unjudged / summary["rows"], 6) if summary["rows"] else None
        return summary


def scorers() -> list[HallucinationScorer]:
    """The scorers for ``weave.Evaluation(scorers=...)``.

    Returns:
        Accuracy, balanced accuracy, precision/recall/F1 on the inconsistent class, and the
        unscored count. Each summary also counts failed, unscored and unlabelled rows.
    """
    return [AccuracyScorer(), BalancedAccuracyScorer(), InconsistentPRFScorer(), UnscoredScorer()]


def to_rows(items: Iterable[PairLike]) -> list[dict[str, Any]]:
    """Turn a Dataset, Examples, pairs or dicts into ``weave.Evaluation`` rows.

    Args:
        items: What ``Judge.score_many`` accepts.

    Returns:
        Rows with ``document``, ``summary``, ``label`` (None when unlabelled) and, when known,
        ``id`` and ``source``.
    """
    rows: list[dict[str, Any]] = []
    for item in items:
        example: Example = to_example(item)
        row: dict[str, Any] = {
            "document": example.document,
            "summary": example.summary,
            "label": example.label,
        }
        if example.id is not None:
            row["id"] = example.id
        if example.source is not None:
            row["source"] = example.source
        rows.append(row)
    return rows


# -- publishing -------------------------------------------------------------------------------


def _require_client(what: str) -> None:
    if not is_tracing():
        raise ConfigurationError(
            f"{what} needs a Weave project: call weave.init('entity/project') first"
        )


def _as_data(obj: Any, what: str) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        data: Any = dict(obj)
    elif hasattr(obj, "to_dict"):
        data = obj.to_dict()
    elif isinstance(obj, BaseModel):
        data = obj.model_dump(mode="json")
    elif is_dataclass(obj) and not isinstance(obj, type):
        data = asdict(obj)
    else:
        raise ConfigurationError(
            f"{what} must be a mapping, a pydantic model, a dataclass or have to_dict(); "
            f"got {type(obj).__name__}"
        )
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{what}.to_dict() must return a mapping")
    return cast(dict[str, Any], scrub(dict(data)))


def _object_name(prefix: str, *parts: Any) -> str:
    text = "-".join(str(p) for p in (prefix, *parts) if p)
    return re.sub(r"[^\w.-]+", "-", text).strip("-")[:120]


def log_report(report: Any, *, name: str | None = None) -> str:
    """Publish an :class:`~hallujudge.EvalReport` to Weave.

    The report's dict (metrics with their intervals, counts, confusion matrix, per-judge
    results) is published as a versioned object, and its headline metrics are logged as a Weave
    evaluation so it appears next to ``weave.Evaluation`` runs.

    Args:
        report: An EvalReport (anything with ``to_dict()``, or a mapping).
        name: The object's name in Weave (default ``hallujudge-eval-report``).

    Returns:
        The published object's ``weave:///`` URI.

    Raises:
        ConfigurationError: Without ``weave.init(...)``, or when ``report`` has no dict form.
    """
    _require_client("log_report()")
    data = _as_data(report, "report")
    ref = weave.publish(data, name=name or "hallujudge-eval-report")
    return str(ref.uri())


def publish_lineage(lineage: Any, *, name: str | None = None) -> str:
    """Publish a fine-tuned judge's lineage (base model, dataset hashes, hyperparameters, job).

    Args:
        lineage: The lineage: ``FineTuneJob.lineage``, ``Judge.lineage``, a mapping, a pydantic
            model, a dataclass, or anything with ``to_dict()``.
        name: The object's name in Weave (default from the job id or fine-tuned model).

    Returns:
        The published object's ``weave:///`` URI.

    Raises:
        ConfigurationError: Without ``weave.init(...)``, or for an empty or unreadable lineage.
    """
    _require_client("publish_lineage()")
    data = _as_data(lineage, "lineage")
    if not data:
        raise ConfigurationError(
            "the lineage is empty: pass FineTuneJob.lineage or the fine-tuned judge's .lineage"
        )
    default = _object_name(
        "hallujudge-lineage", data.get("job_id") or data.get("fine_tuned_model") or ""
    )
    ref = weave.publish(data, name=name or default)
    return str(ref.uri())


# -- Evaluator runs ----------------------------------------------------------------------------


def report_summary(report: Any) -> dict[str, Any]:
    """The headline of an EvalReport as a Weave evaluation summary (the report's own numbers).

    Args:
        report: An EvalReport.

    Returns:
        Its metrics (over scored rows, with unscored rows as errors, score metrics, custom;
        each with value and 95% interval), row counts, confusion, latency, tokens and cost.
    """
    data = _as_data(report.to_dict(predictions=False), "report")
    keys = (
        "positive_class",
        "n",
        "n_scored",
        "n_unscored",
        "unscored_share",
        "n_with_score",
        "metrics",
        "confusion",
        "latency_s",
        "tokens",
        "cost_usd",
    )
    return {k: data[k] for k in keys if k in data}


class WeaveCallback(EvalCallback):
    """Log each :class:`~hallujudge.Evaluator` run to Weave as an evaluation.

    Pass it to the evaluator: ``Evaluator(dataset, callbacks=[WeaveCallback()])``. For each
    judge it logs one Weave evaluation whose rows are the predictions (inputs, verdict, whether
    it was correct, whether it was unscored) and whose summary holds the EvalReport's own
    metrics, then publishes the report (see :func:`log_report`). With ``weave.init`` active, the
    run itself is also traced as ``hallujudge.Evaluator.run`` with every judgment inside.

    Args:
        predictions: Log every row (default). False logs only the summary, for large runs.
        name: The evaluation's name in Weave (default ``hallujudge-<model>``).

    Attributes:
        report_uris: The ``weave:///`` URI of each published report, in run order.
        failures: What went wrong when logging a run failed (also logged as a warning).

    Raises:
        ConfigurationError: At the start of a run, when ``weave.init(...)`` was not called.
    """

    def __init__(self, *, predictions: bool = True, name: str | None = None) -> None:
        self.predictions = predictions
        self.name = name
        self.report_uris: list[str] = []
        self.failures: list[str] = []
        self._dataset: dict[str, Any] = {}
        self._rows: dict[int, tuple[Example, Verdict]] = {}

    def on_start(self, judge: JudgeProtocol, dataset_info: dict[str, Any]) -> None:
        """Check that Weave is initialised and start collecting rows."""
        _require_client("WeaveCallback")
        self._dataset = dict(dataset_info)
        self._rows = {}

    def on_result(self, index: int, example: Example, verdict: Verdict, cached: bool) -> None:
        """Keep the row for logging at the end (cheap: no I/O on the evaluation's loop)."""
        if self.predictions:
            self._rows[index] = (example, verdict)

    def on_end(self, judge: JudgeProtocol, report: Any) -> None:
        """Log the predictions and the report's metrics as one Weave evaluation.

        A Weave failure must not cost the user the report they paid for: it is logged as a
        warning and kept in ``failures``, and the evaluation returns its report as usual.
        """
        try:
            self._log(judge, report)
        except Exception as exc:
            logger.warning("hallujudge: logging the evaluation to Weave failed: %r", exc)
            self.failures.append(f"{judge.model}: {type(exc).__name__}: {exc}")
        finally:
            self._rows = {}

    def _log(self, judge: JudgeProtocol, report: Any) -> None:
        settings = scrub(judge.settings(), backend_secrets(getattr(judge, "backend", None)))
        model = {
            "name": _object_name("hallujudge", judge.model, judge.prompt),
            "judge_model": judge.model,
            "prompt": judge.prompt,
            "settings": settings,
        }
        dataset_name = _object_name("hallujudge-data", self._dataset.get("name"))
        options: dict[str, Any] = {}
        if "trace_scores" in inspect.signature(weave.EvaluationLogger).parameters:
            # Scores live on each row; a call per score is slow (weave >= 0.54 lets us skip it).
            options["trace_scores"] = False
        evaluation = weave.EvaluationLogger(
            name=self.name or _object_name("hallujudge", judge.model),
            model=model,
            dataset=dataset_name,
            eval_attributes={"hallujudge_dataset": scrub(self._dataset)},
            **options,
        )
        for index in sorted(self._rows):
            example, verdict = self._rows[index]
            expected = "consistent" if example.label == 1 else "inconsistent"
            pred = evaluation.log_prediction(
                inputs=cast(
                    dict[str, Any],
                    scrub(
                        {
                            "document": example.document,
                            "summary": example.summary,
                            "label": example.label,
                            "id": example.id,
                        }
                    ),
                ),
                output=verdict_to_dict(verdict),
            )
            if verdict.scored:  # an unscored row is neither right nor wrong: no "correct"
                pred.log_score("correct", verdict.label == expected)
            pred.log_score("unscored", not verdict.scored)
            pred.finish()
        evaluation.log_summary(report_summary(report), auto_summarize=False)
        self.report_uris.append(
            log_report(
                report.to_dict(predictions=False), name=_object_name("hallujudge-eval", judge.model)
            )
        )
