"""``hallujudge finetune estimate|create|status|wait|start|cancel``: fine-tune from the shell.

Exit codes: 0 done, 1 the job failed or was cancelled, 2 usage or configuration error (from
``_cli.main``), 3 ``wait`` timed out while the job keeps running.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._finetune import FineTuneJob, FineTuner

from .._advice import reword
from . import COLUMN_WORDS, KEY_WORDS, column_arguments, column_mapping

__all__ = ["register"]

_WORDS = {
    **KEY_WORDS,
    **COLUMN_WORDS,
    "server_url": "--server-url",
    "out_dir": "--out-dir",
    "val": "--val",
    "val_size": "--val-size",
    "seed": "--seed",
    "prompt": "--prompt",
    "job_type": "--job-type",
    "training_steps": "--training-steps",
    "epochs": "--epochs",
    "learning_rate": "--learning-rate",
    "suffix": "--suffix",
    "wandb_project": "--wandb-project",
    "timeout": "--timeout",
    "poll": "--poll",
}

EXIT_FAILED = 1
EXIT_TIMEOUT = 3


def register(subparsers: Any) -> None:
    """Add the ``finetune`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a model into a judge (Mistral, or the embedded model with 'local')",
        description=(
            "Estimate, create and track fine-tuning jobs. Training data is rendered with the "
            "prompt the resulting judge uses at inference, and validated before any upload."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    parser.set_defaults(words=_WORDS)

    for name, text in (
        ("estimate", "dry run: tokens, epochs, expected duration and cost (uploads the data)"),
        ("create", "validate, upload and create the job"),
    ):
        sub = actions.add_parser(name, help=text, description=text, parents=[column_arguments()])
        _data_arguments(sub)
        if name == "create":
            sub.add_argument("--suffix", help="up to 18 characters added to the model's name")
            sub.add_argument(
                "--no-auto-start",
                dest="auto_start",
                action="store_false",
                help="validate only; start later with `hallujudge finetune start JOB_ID`",
            )
            sub.add_argument(
                "--wandb-project",
                help="log training to this Weights & Biases project (key: WANDB_API_KEY)",
            )
            sub.add_argument(
                "--wandb",
                action="store_true",
                help="log training to W&B with WANDB_PROJECT and WANDB_API_KEY",
            )
            sub.add_argument("--wait", action="store_true", help="wait for the job to finish")
            _wait_arguments(sub)
            sub.add_argument("--lineage", help="write the lineage JSON to this path")
        sub.set_defaults(handler=_estimate if name == "estimate" else _create)

    status = actions.add_parser("status", help="show a job's status, events and metrics")
    _job_arguments(status)
    status.set_defaults(handler=_status)

    wait = actions.add_parser("wait", help="wait for a job to finish (exit 1 if it fails)")
    _job_arguments(wait)
    _wait_arguments(wait)
    wait.add_argument(
        "--lineage",
        help="lineage JSON: read it if it exists (from `create --lineage`), update it when done",
    )
    wait.set_defaults(handler=_wait)

    start = actions.add_parser("start", help="start a job created with --no-auto-start")
    _job_arguments(start)
    start.set_defaults(handler=_start)

    cancel = actions.add_parser("cancel", help="request the cancellation of a job")
    _job_arguments(cancel)
    cancel.set_defaults(handler=_cancel)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--server-url", help="Mistral base URL without /v1 (default: MISTRAL_SERVER_URL)"
    )


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("train", help="training data (JSONL, CSV, Parquet; FIB/USB rows too)")
    parser.add_argument("--val", help="validation data (default: hold out --val-size documents)")
    parser.add_argument(
        "--model",
        default="mistral:open-mistral-7b",
        help="base model: mistral:NAME, mistral-classifier:NAME, or local (default: %(default)s)",
    )
    parser.add_argument("--prompt", default="fine-tune", help="prompt strategy (completion jobs)")
    parser.add_argument(
        "--job-type", choices=("completion", "classifier"), help="override the model's prefix"
    )
    steps = parser.add_mutually_exclusive_group()
    steps.add_argument("--training-steps", type=int, help="training steps")
    steps.add_argument("--epochs", type=float, help="passes over the data")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="(default: 1e-4)")
    parser.add_argument(
        "--val-size",
        type=float,
        default=0.1,
        help="share of documents held out when --val is not given; 0 for none (default: 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the document split")
    parser.add_argument("--out-dir", help="where 'local' writes the trained model")
    _common(parser)


def _job_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job_id", help="the fine-tuning job's id")
    _common(parser)


def _wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds (default: %(default)s)"
    )
    parser.add_argument(
        "--poll", type=float, default=10.0, help="first pause between polls (default: 10)"
    )


def _tuner(args: argparse.Namespace) -> FineTuner:
    from .._finetune import FineTuner

    return FineTuner(
        args.model,
        prompt=args.prompt,
        job_type=args.job_type,
        server_url=args.server_url,
        out_dir=args.out_dir,
        val_size=args.val_size,
        seed=args.seed,
    )


def _load(path: str | None, args: argparse.Namespace) -> Any:
    if path is None:
        return None
    from .._dataset import Dataset

    return Dataset.load(path, **column_mapping(args))


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str) if args.json else text)


def _estimate(args: argparse.Namespace) -> int:
    estimate = _tuner(args).estimate(
        _load(args.train, args),
        _load(args.val, args),
        training_steps=args.training_steps,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
    )
    _emit(args, estimate.model_dump(mode="json"), f"estimate: {estimate.summary()}")
    return 0


def _create(args: argparse.Namespace) -> int:
    wandb: str | bool | None = args.wandb_project or (True if args.wandb else None)
    job = _tuner(args).create(
        _load(args.train, args),
        _load(args.val, args),
        training_steps=args.training_steps,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        suffix=args.suffix,
        auto_start=args.auto_start,
        wandb_project=wandb,
    )
    if args.lineage:
        job.save_lineage(args.lineage)
    if job.job_type == "local":  # trained in this process: nothing to wait for
        _emit(args, _describe(job), f"{_text(job)}\n{_use_it(job)}")
        return 0
    if not args.json:
        print(f"created fine-tuning job {job.id} ({job.status})")
    if args.wait:
        return _finish(args, job)
    _emit(args, _describe(job), f"track it with: hallujudge finetune wait {job.id}")
    return 0


def _use_it(job: FineTuneJob) -> str:
    """How to judge with the fine-tuned model, on the command line and in Python."""
    if job.job_type == "local":
        model = f"local:{job.fine_tuned_model}"
        return (
            f"the trained judge was written to {job.fine_tuned_model}\n"
            f"use it: hallujudge eval DATA --model {model}  (Python: Judge({model!r}))"
        )
    model = str(job.fine_tuned_model)
    return (
        f"use it: hallujudge eval DATA --model {model}  "
        f"(Python: Judge({model!r}) or Judge.from_job({job.id!r}))"
    )


def _get(args: argparse.Namespace) -> FineTuneJob:
    from pathlib import Path

    from .._errors import ConfigurationError
    from .._finetune import FineTuner

    if args.job_id.startswith("local-"):
        raise ConfigurationError(
            f"{args.job_id} is a local fine-tune: it finished when it was created and has no "
            "job to track; its model is in the --out-dir folder: use it with --model local:DIR"
        )
    # A lineage file written by `create --lineage` keeps the data hashes across processes.
    saved = getattr(args, "lineage", None)
    lineage = saved if saved and Path(saved).is_file() else None
    return FineTuner.get_job(args.job_id, server_url=args.server_url, lineage=lineage)


def _status(args: argparse.Namespace) -> int:
    job = _get(args)
    _emit(args, _describe(job), _text(job))
    return 0


def _wait(args: argparse.Namespace) -> int:
    return _finish(args, _get(args))


def _finish(args: argparse.Namespace, job: FineTuneJob) -> int:
    from .._errors import BackendTimeoutError, FineTuneError

    try:
        job.wait(timeout=args.timeout, poll=args.poll, progress=not args.json)
    except FineTuneError as exc:
        print(f"hallujudge: {reword(str(exc), _WORDS)}", file=sys.stderr)
        if args.json:
            _emit(args, _describe(job), "")
        return EXIT_FAILED
    except BackendTimeoutError as exc:
        print(f"hallujudge: {reword(str(exc), _WORDS)}", file=sys.stderr)
        return EXIT_TIMEOUT
    if args.lineage:
        job.save_lineage(args.lineage)
    _emit(args, _describe(job), f"{_text(job)}\n{_use_it(job)}")
    return 0


def _start(args: argparse.Namespace) -> int:
    job = _get(args).start()
    _emit(args, _describe(job), f"job {job.id}: {job.status}")
    return 0


def _cancel(args: argparse.Namespace) -> int:
    job = _get(args).cancel()
    _emit(args, _describe(job), f"job {job.id}: {job.status}")
    return 0


def _describe(job: FineTuneJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "job_type": job.job_type,
        "model": job.info.model,
        "fine_tuned_model": job.fine_tuned_model,
        "events": [e.model_dump(mode="json") for e in job.events],
        "lineage": job.lineage,
    }


def _metric(value: Any) -> str:
    if isinstance(value, dict):  # the local tuner's per-split metrics
        return ", ".join(f"{k}={_metric(v)}" for k, v in value.items())
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _text(job: FineTuneJob) -> str:
    lines = [
        f"job {job.id}: {job.status}",
        f"  base model: {job.info.model} ({job.job_type})",
    ]
    if job.fine_tuned_model:
        lines.append(f"  fine-tuned model: {job.fine_tuned_model}")
    metrics = job.lineage.get("metrics") or {}
    for name, value in sorted(metrics.items()):
        lines.append(f"  {name}: {_metric(value)}")
    for event in job.events[-5:]:
        detail = ", ".join(f"{k}={v}" for k, v in (event.data or {}).items())
        lines.append(f"  event {event.created_at}: {event.name} {detail}".rstrip())
    return "\n".join(lines)
