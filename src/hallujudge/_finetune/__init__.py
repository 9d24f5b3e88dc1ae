"""Fine-tuning: from a Dataset to a fine-tuned model id that works as a drop-in Judge.

``FineTuner`` validates and renders the data with the judge's own prompt strategy, uploads it,
and creates the job; ``FineTuneJob`` tracks it and returns the Judge; ``Lineage`` records where
the model came from.
"""

from ._data import Limits, PreparedData, build_records, validate_records
from ._job import FineTuneJob
from ._lineage import DataStats, Lineage
from ._mistral import Estimate, Event, JobInfo
from ._tuner import FineTuner, ajudge_from_job, judge_from_job

__all__ = [
    "DataStats",
    "Estimate",
    "Event",
    "FineTuneJob",
    "FineTuner",
    "JobInfo",
    "Limits",
    "Lineage",
    "PreparedData",
    "ajudge_from_job",
    "build_records",
    "judge_from_job",
    "validate_records",
]
