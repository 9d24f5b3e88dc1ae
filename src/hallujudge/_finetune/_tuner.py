"""FineTuner: from a Dataset to a fine-tuned model id that works as a drop-in Judge."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .._backends._resolver import split_model
from .._errors import ConfigurationError, DataError
from .._prompts import PromptStrategy, get_prompt
from .._sync import run_sync
from .._types import Example
from ._data import (
    CLASSIFIER_LABELS,
    CLASSIFIER_TARGET,
    JobType,
    Limits,
    PreparedData,
    content_hash,
    document_split,
    prepare,
    to_examples,
)
from ._job import FineTuneJob
from ._lineage import Lineage
from ._mistral import Estimate, JobInfo, jobs_client, wandb_integration

if TYPE_CHECKING:
    from .._backends.mistral._jobs import MistralJobsClient
    from .._judge import Judge

__all__ = ["FineTuner", "ajudge_from_job", "judge_from_job"]

_MISTRAL_PREFIXES = {"mistral": "completion", "mistral-classifier": "classifier"}


def _parse_model(model: str, job_type: str | None) -> tuple[str, str, JobType | None]:
    """Split a model string into (backend, base model, job type) by the Judge's resolver."""
    prefix, name = split_model(model)
    if prefix == "local":
        return "local", model.strip(), None
    if prefix not in _MISTRAL_PREFIXES:
        raise ConfigurationError(
            f"cannot fine-tune {model!r}: use 'mistral:NAME' (completion), "
            "'mistral-classifier:NAME' (classifier), a bare Mistral name, or 'local'"
        )
    kind = job_type or _MISTRAL_PREFIXES[prefix]
    if kind not in ("completion", "classifier"):
        raise ConfigurationError(f"job_type must be 'completion' or 'classifier', not {kind!r}")
    if not name.strip():
        raise ConfigurationError(f"{model!r} names no base model, e.g. 'mistral:open-mistral-7b'")
    return "mistral", name.strip(), cast(JobType, kind)


class FineTuner:
    """Fine-tune a model into a hallucination judge.

    Example:
        >>> ft = FineTuner("mistral:open-mistral-7b")  # doctest: +SKIP
        >>> job = ft.create(train, training_steps=100, learning_rate=1e-4)  # doctest: +SKIP
        >>> judge = job.wait().judge()  # doctest: +SKIP

    Args:
        model: ``"mistral:NAME"`` for a completion fine-tune answered through chat,
            ``"mistral-classifier:NAME"`` (or ``job_type="classifier"``) for a classifier
            fine-tune answered through ``/v1/classifications``, or ``"local"`` to train the
            embedded offline model on CPU (``"local:/dir"`` or ``out_dir=`` says where).
        prompt: The prompt strategy that renders the training data; the resulting judge
            uses the same one at inference. Ignored by classifier and local jobs.
        job_type: ``completion`` or ``classifier`` (overrides the prefix).
        api_key: Mistral key (default: ``MISTRAL_API_KEY``).
        server_url: Mistral base URL without ``/v1`` (default: ``MISTRAL_SERVER_URL``).
        out_dir: Where a local job writes its model.
        val_size: When no validation data is given, this share of documents is held out for
            validation (a document-level split); 0 trains without validation.
        seed: Seed of that split (and of local training).
        limits: Data validation limits (row counts, sizes, label balance).
        max_attempts: Attempts per API call for transient failures.
        max_wait_s: Longest pause between attempts.
        timeout_s: Timeout of one API call.
    """

    def __init__(
        self,
        model: str = "mistral:open-mistral-7b",
        *,
        prompt: str | PromptStrategy = "fine-tune",
        job_type: str | None = None,
        api_key: str | None = None,
        server_url: str | None = None,
        out_dir: str | Path | None = None,
        val_size: float = 0.1,
        seed: int = 0,
        limits: Limits | None = None,
        max_attempts: int = 6,
        max_wait_s: float = 30.0,
        timeout_s: float = 60.0,
    ) -> None:
        if not isinstance(model, str):
            raise ConfigurationError(f"model must be a string, not {type(model).__name__}")
        self.backend, self.base_model, kind = _parse_model(model, job_type)
        self.job_type: str = kind or "local"
        # Local jobs render records only to validate them (duplicates, balance, sizes).
        self._render = get_prompt(prompt)
        self.strategy: PromptStrategy | None = (
            self._render if self.job_type == "completion" else None
        )
        if not 0.0 <= val_size < 1.0:
            raise ConfigurationError(f"val_size must lie in [0, 1), not {val_size!r}")
        self.val_size = val_size
        self.seed = seed
        self.limits = limits or Limits()
        self._uploaded: dict[str, str] = {}  # sha256 of the bytes -> file id
        self._judge_options: dict[str, Any] = {}
        if api_key:
            self._judge_options["api_key"] = api_key
        if server_url:
            self._judge_options["server_url"] = server_url
        self._client: MistralJobsClient | None = None
        self.out_dir: Path | None = None
        if self.backend == "local":
            if job_type is not None:
                raise ConfigurationError("job_type applies to Mistral fine-tunes, not 'local'")
            out_dir = out_dir or self.base_model.partition(":")[2] or None
            if out_dir is None:
                raise ConfigurationError(
                    "the local fine-tuner trains the embedded model on CPU and needs "
                    "out_dir= (the directory to write the model to)"
                )
            self.out_dir = Path(out_dir)
        else:
            self._client = jobs_client(
                api_key,
                server_url,
                timeout_s=timeout_s,
                max_attempts=max_attempts,
                max_wait_s=max_wait_s,
            )

    def __repr__(self) -> str:
        prompt = f", prompt={self.strategy.id!r}" if self.strategy else ""
        return f"FineTuner({self.backend}:{self.base_model!r}, job_type={self.job_type!r}{prompt})"

    @property
    def prompt(self) -> str | None:
        """The training prompt strategy as ``name@version`` (None for classifier/local)."""
        return self.strategy.id if self.strategy else None

    # -- data -----------------------------------------------------------------------------

    def prepare(self, train: Any, val: Any = None) -> tuple[PreparedData, PreparedData | None]:
        """Render and validate the data exactly as :meth:`create` would, without any upload.

        Args:
            train: A Dataset or labelled examples.
            val: Validation data; when None, ``val_size`` of the documents are held out.

        Returns:
            The training file and the validation file (None without validation).

        Raises:
            DataError: If a row is invalid (the message names it), or data leaks between
                train and validation.
        """
        train_rows = to_examples(train, name="train")
        kind: JobType = "classifier" if self.job_type == "classifier" else "completion"
        split_from: str | None = None
        val_hash: str | None = None
        if val is None and self.val_size > 0:
            split_from = content_hash(train, train_rows)
            train_rows, val_rows = document_split(train_rows, self.val_size, seed=self.seed)
            train_hash = content_hash(None, train_rows)
            if val_rows:
                val_hash = content_hash(None, val_rows)
            else:
                warnings.warn(
                    f"val_size={self.val_size:g} of so few documents holds none out; training "
                    "without validation (pass val= or a larger val_size)",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            train_hash = content_hash(train, train_rows)
            val_rows = to_examples(val, name="val") if val is not None else []
            val_hash = content_hash(val, val_rows) if val is not None else None
        _check_leaks(train_rows, val_rows)
        train_file = prepare(
            train_rows,
            data_hash=train_hash,
            job_type=kind,
            strategy=self._render,
            limits=self.limits,
            name="train",
        )
        if split_from is not None:
            train_file = _with_source(train_file, split_from)
        val_file = None
        if val_hash is not None:
            val_limits = Limits(
                min_rows=1,
                max_line_bytes=self.limits.max_line_bytes,
                max_file_bytes=self.limits.max_file_bytes,
                min_label_share=self.limits.min_label_share,
            )
            val_file = prepare(
                val_rows,
                data_hash=val_hash,
                job_type=kind,
                strategy=self._render,
                limits=val_limits,
                name="val",
                require_both_labels=False,
            )
            if split_from is not None:
                val_file = _with_source(val_file, split_from)
        return train_file, val_file

    async def _upload(self, data: PreparedData) -> str:
        client = self._mistral()
        digest = data.stats.file_sha256
        if digest not in self._uploaded:
            filename = f"hallujudge-{data.name}-{digest[:12]}.jsonl"
            self._uploaded[digest] = await client.upload(data.payload, filename)
        return self._uploaded[digest]

    def _mistral(self) -> MistralJobsClient:
        if self._client is None:
            raise ConfigurationError("local fine-tunes make no API calls")
        return self._client

    def _payload(
        self,
        train_id: str,
        val_id: str | None,
        *,
        training_steps: int | None,
        epochs: float | None,
        learning_rate: float,
        suffix: str | None = None,
        auto_start: bool = True,
        integrations: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        hyper: dict[str, Any] = {"learning_rate": learning_rate}
        if training_steps is not None:
            hyper["training_steps"] = training_steps
        if epochs is not None:
            hyper["epochs"] = epochs
        payload: dict[str, Any] = {
            "model": self.base_model,
            "job_type": self.job_type,
            "training_files": [{"file_id": train_id, "weight": 1.0}],
            "hyperparameters": hyper,
            "auto_start": auto_start,
        }
        if val_id is not None:
            payload["validation_files"] = [val_id]
        if suffix is not None:
            payload["suffix"] = suffix
        if integrations:
            payload["integrations"] = integrations
        if self.job_type == "classifier":
            payload["classifier_targets"] = [
                {
                    "name": CLASSIFIER_TARGET,
                    "labels": list(CLASSIFIER_LABELS),
                    "weight": 1.0,
                    "loss_function": "single_class",
                }
            ]
        return payload

    # -- estimate -------------------------------------------------------------------------

    async def aestimate(
        self,
        train: Any,
        val: Any = None,
        *,
        training_steps: int | None = None,
        epochs: float | None = None,
        learning_rate: float = 1e-4,
    ) -> Estimate:
        """Validate and upload the data, then ask for a dry run: tokens, epochs, duration, cost.

        The uploaded files are remembered, so a following :meth:`acreate` with the same data
        does not upload them again.

        Args:
            train: A Dataset or labelled examples.
            val: Validation data (default: a document-level split of ``train``).
            training_steps: Steps to train (give this or ``epochs``).
            epochs: Passes over the data (give this or ``training_steps``).
            learning_rate: The learning rate.

        Returns:
            The estimate, with the row counts of the files.
        """
        _check_hyper(training_steps, epochs, learning_rate)
        train_file, val_file = self.prepare(train, val)
        if self.backend == "local":
            return Estimate(
                details="local training runs on this machine's CPU at no cost",
                model="local",
                job_type="local",
                cost=0.0,
                train_rows=train_file.stats.rows,
                val_rows=val_file.stats.rows if val_file else 0,
                train_bytes=train_file.stats.bytes,
            )
        train_id = await self._upload(train_file)
        val_id = await self._upload(val_file) if val_file else None
        payload = self._payload(
            train_id, val_id, training_steps=training_steps, epochs=epochs,
            learning_rate=learning_rate,
        )  # fmt: skip
        estimate = await self._mistral().estimate(payload)
        return estimate.model_copy(
            update={
                "model": self.base_model,
                "job_type": self.job_type,
                "train_rows": train_file.stats.rows,
                "val_rows": val_file.stats.rows if val_file else 0,
                "train_bytes": train_file.stats.bytes,
            }
        )

    def estimate(
        self,
        train: Any,
        val: Any = None,
        *,
        training_steps: int | None = None,
        epochs: float | None = None,
        learning_rate: float = 1e-4,
    ) -> Estimate:
        """Sync twin of :meth:`aestimate`."""
        return run_sync(
            self.aestimate(
                train, val, training_steps=training_steps, epochs=epochs,
                learning_rate=learning_rate,
            ),
            async_name="finetuner.aestimate",
        )  # fmt: skip

    # -- create ---------------------------------------------------------------------------

    async def acreate(
        self,
        train: Any,
        val: Any = None,
        *,
        training_steps: int | None = None,
        epochs: float | None = None,
        learning_rate: float = 1e-4,
        suffix: str | None = None,
        auto_start: bool = True,
        wandb_project: str | bool | None = None,
        wandb_run_name: str | None = None,
    ) -> FineTuneJob:
        """Validate the data, upload it, and create the fine-tuning job.

        Args:
            train: A Dataset or labelled examples.
            val: Validation data (default: a document-level split of ``train``, see
                ``val_size``).
            training_steps: Steps to train (give this or ``epochs``).
            epochs: Passes over the data.
            learning_rate: The learning rate.
            suffix: Up to 18 characters added to the fine-tuned model's name.
            auto_start: Start training as soon as the data is validated; with False, call
                ``job.start()`` after checking the job.
            wandb_project: Log training to Weights & Biases: a project name, or True to use
                ``WANDB_PROJECT``. The key comes from ``WANDB_API_KEY`` and is never logged.
            wandb_run_name: A display name for the W&B run.

        Returns:
            The job (call ``wait()`` then ``judge()``).

        Raises:
            DataError: If the data is invalid (the message names the row).
            ConfigurationError: For bad hyperparameters, suffix or W&B settings.
            BackendError: If an API call fails after retries.
        """
        _check_hyper(training_steps, epochs, learning_rate)
        if suffix is not None and (not suffix or len(suffix) > 18):
            raise ConfigurationError(f"suffix must have 1 to 18 characters, not {suffix!r}")
        integrations = None
        if wandb_project:
            project = wandb_project if isinstance(wandb_project, str) else None
            integrations = [wandb_integration(project, run_name=wandb_run_name)]
        train_file, val_file = self.prepare(train, val)
        if self.backend == "local":
            return await self._create_local(train_file, val_file)
        train_id = await self._upload(train_file)
        val_id = await self._upload(val_file) if val_file else None
        payload = self._payload(
            train_id, val_id, training_steps=training_steps, epochs=epochs,
            learning_rate=learning_rate, suffix=suffix, auto_start=auto_start,
            integrations=integrations,
        )  # fmt: skip
        info = await self._mistral().create(payload)
        lineage = Lineage(
            base_model=self.base_model,
            job_id=info.id,
            job_type=self.job_type,
            backend="mistral",
            prompt=self.prompt,
            train=train_file.stats.model_copy(update={"file_id": train_id}),
            val=val_file.stats.model_copy(update={"file_id": val_id}) if val_file else None,
            hyperparameters=payload["hyperparameters"],
        )
        return FineTuneJob(
            info,
            client=self._client,
            lineage=lineage,
            prompt=self.strategy,
            judge_options=self._judge_options,
        )

    def create(
        self,
        train: Any,
        val: Any = None,
        *,
        training_steps: int | None = None,
        epochs: float | None = None,
        learning_rate: float = 1e-4,
        suffix: str | None = None,
        auto_start: bool = True,
        wandb_project: str | bool | None = None,
        wandb_run_name: str | None = None,
    ) -> FineTuneJob:
        """Sync twin of :meth:`acreate`."""
        return run_sync(
            self.acreate(
                train, val, training_steps=training_steps, epochs=epochs,
                learning_rate=learning_rate, suffix=suffix, auto_start=auto_start,
                wandb_project=wandb_project, wandb_run_name=wandb_run_name,
            ),
            async_name="finetuner.acreate",
        )  # fmt: skip

    async def _create_local(
        self, train_file: PreparedData, val_file: PreparedData | None
    ) -> FineTuneJob:
        try:
            from .._local import train_local_model
        except ImportError as exc:  # pragma: no cover - ships with the package
            raise ConfigurationError(
                "FineTuner('local') needs hallujudge's embedded model package "
                "(hallujudge._local), which this installation lacks"
            ) from exc
        assert self.out_dir is not None
        train_rows = _rows_of(train_file)
        val_rows = _rows_of(val_file) if val_file else None
        started = int(time.time())
        try:
            metadata = await asyncio.to_thread(
                train_local_model, train_rows, self.out_dir, val=val_rows, seed=self.seed
            )
        except ValueError as exc:
            raise DataError(f"local training rejected the data: {exc}") from exc
        job_id = "local-" + train_file.stats.file_sha256[:12]
        info = JobInfo(
            id=job_id,
            status="SUCCESS",
            model="local",
            job_type="local",
            created_at=started,
            modified_at=int(time.time()),
            fine_tuned_model=str(self.out_dir),
        )
        metrics = metadata.get("val_metrics") or metadata.get("metrics") or {}
        lineage = Lineage(
            base_model="local",
            fine_tuned_model=str(self.out_dir),
            job_id=job_id,
            job_type="local",
            backend="local",
            train=train_file.stats,
            val=val_file.stats if val_file else None,
            hyperparameters={"seed": self.seed},
            metrics=metrics if isinstance(metrics, dict) else {},
            created_at=started,
        )
        return FineTuneJob(info, client=None, lineage=lineage)

    # -- resume ---------------------------------------------------------------------------

    @classmethod
    async def aget_job(
        cls,
        job_id: str,
        *,
        prompt: str | None = None,
        lineage: str | Path | Lineage | None = None,
        api_key: str | None = None,
        server_url: str | None = None,
    ) -> FineTuneJob:
        """Resume tracking a job, for example from another process.

        Args:
            job_id: The job's id.
            prompt: The prompt strategy the data was rendered with (default: the lineage's,
                else ``fine-tune``).
            lineage: The lineage saved at creation (a path or a Lineage), to keep data hashes.
            api_key: Mistral key (default: ``MISTRAL_API_KEY``).
            server_url: Mistral base URL (default: ``MISTRAL_SERVER_URL``).

        Returns:
            The job, refreshed.
        """
        client = jobs_client(api_key, server_url)
        info = await client.get(job_id)
        record = Lineage.from_json(lineage) if isinstance(lineage, str | Path) else lineage
        if record is None:
            record = Lineage(base_model=info.model, job_id=info.id, job_type=info.job_type)
        elif record.job_id not in (None, info.id):
            raise ConfigurationError(f"the lineage given is for job {record.job_id}, not {info.id}")
        name = prompt or (record.prompt.partition("@")[0] if record.prompt else None)
        strategy: PromptStrategy | None = None
        if info.job_type == "completion":
            strategy = get_prompt(name or "fine-tune")
            if record.prompt and record.prompt != strategy.id:
                warnings.warn(
                    f"job {info.id} was trained with the prompt {record.prompt} but its judge "
                    f"will use {strategy.id}: its scores may suffer",
                    UserWarning,
                    stacklevel=2,
                )
            record = record.model_copy(update={"prompt": record.prompt or strategy.id})
        options = {k: v for k, v in (("api_key", api_key), ("server_url", server_url)) if v}
        return FineTuneJob(
            info, client=client, lineage=record, prompt=strategy, judge_options=options
        )

    @classmethod
    def get_job(
        cls,
        job_id: str,
        *,
        prompt: str | None = None,
        lineage: str | Path | Lineage | None = None,
        api_key: str | None = None,
        server_url: str | None = None,
    ) -> FineTuneJob:
        """Sync twin of :meth:`aget_job`."""
        return run_sync(
            cls.aget_job(
                job_id, prompt=prompt, lineage=lineage, api_key=api_key, server_url=server_url
            ),
            async_name="FineTuner.aget_job",
        )

    async def alist_jobs(self, **filters: Any) -> list[JobInfo]:
        """List jobs (filters as in the API: ``model``, ``status``, ``suffix``, ...)."""
        return await self._mistral().list(**filters)

    def list_jobs(self, **filters: Any) -> list[JobInfo]:
        """Sync twin of :meth:`alist_jobs`."""
        return run_sync(self.alist_jobs(**filters), async_name="finetuner.alist_jobs")


async def ajudge_from_job(
    job_id: str,
    *,
    prompt: str | None = None,
    lineage: str | Path | Lineage | None = None,
    api_key: str | None = None,
    server_url: str | None = None,
    **judge_options: Any,
) -> Judge:
    """The drop-in Judge of a finished job (meant for ``Judge.from_job``).

    Args:
        job_id: The job's id.
        prompt: The prompt strategy it was trained with (default: the lineage's, else
            ``fine-tune``).
        lineage: The lineage saved at creation, if any.
        api_key: Mistral key (default: ``MISTRAL_API_KEY``).
        server_url: Mistral base URL (default: ``MISTRAL_SERVER_URL``).
        **judge_options: Any Judge option.

    Returns:
        The judge.

    Raises:
        FineTuneError: If the job failed, was cancelled, or has not finished.
    """
    job = await FineTuner.aget_job(
        job_id, prompt=prompt, lineage=lineage, api_key=api_key, server_url=server_url
    )
    return job.judge(**judge_options)


def judge_from_job(
    job_id: str,
    *,
    prompt: str | None = None,
    lineage: str | Path | Lineage | None = None,
    api_key: str | None = None,
    server_url: str | None = None,
    **judge_options: Any,
) -> Judge:
    """Sync twin of :func:`ajudge_from_job`."""
    return run_sync(
        ajudge_from_job(
            job_id, prompt=prompt, lineage=lineage, api_key=api_key, server_url=server_url,
            **judge_options,
        ),
        async_name="ajudge_from_job",
    )  # fmt: skip


def _check_hyper(training_steps: int | None, epochs: float | None, learning_rate: float) -> None:
    if training_steps is not None and epochs is not None:
        raise ConfigurationError("give training_steps or epochs, not both")
    if training_steps is not None and (not isinstance(training_steps, int) or training_steps < 1):
        raise ConfigurationError(
            f"training_steps must be a positive integer, not {training_steps!r}"
        )
    if epochs is not None and epochs <= 0:
        raise ConfigurationError(f"epochs must be positive, not {epochs!r}")
    if not 1e-8 <= learning_rate <= 1.0:
        raise ConfigurationError(f"learning_rate must lie in [1e-8, 1], not {learning_rate!r}")


def _check_leaks(train: Sequence[Example], val: Sequence[Example]) -> None:
    if not val:
        return
    pairs = {(e.document, e.summary): i for i, e in enumerate(train)}
    for j, e in enumerate(val):
        if (e.document, e.summary) in pairs:
            raise DataError(
                f"val row {j} is the same pair as train row {pairs[(e.document, e.summary)]}; "
                "a pair in both splits inflates validation metrics (split by document)",
                row=j,
            )
    shared = {e.document for e in train} & {e.document for e in val}
    if shared:
        warnings.warn(
            f"{len(shared)} documents appear in both train and val; split by document "
            "(Dataset.split or val=None) for an honest validation loss",
            UserWarning,
            stacklevel=3,
        )


def _with_source(data: PreparedData, split_from: str) -> PreparedData:
    return dataclasses.replace(data, stats=data.stats.model_copy(update={"split_from": split_from}))


def _rows_of(data: PreparedData) -> list[tuple[str, str, int]]:
    return [(e.document, e.summary, int(e.label)) for e in data.examples if e.label is not None]
