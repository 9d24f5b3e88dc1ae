"""``hallujudge eval``: evaluate one or several judges on a labelled dataset.

Prints a Markdown summary (one judge: its metrics; several: a side-by-side table with paired
tests) and writes JSON / HTML / Markdown reports on request. Verdicts go to a SQLite cache that
doubles as a checkpoint: running the same command again after an interruption judges only the
rows that had not finished.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import _advice
from . import (
    COLUMN_WORDS,
    KEY_WORDS,
    LIMIT_WORDS,
    column_arguments,
    column_mapping,
    fraction,
    limit_arguments,
    limit_options,
    non_negative_int,
    positive_int,
)

__all__ = ["register"]

_WORDS = {
    **KEY_WORDS,
    **COLUMN_WORDS,
    **LIMIT_WORDS,
    "server_url": "",  # MISTRAL_SERVER_URL, which the messages name beside it
    "base_url": "--base-url",
    "concurrency": "--concurrency",
    "bootstrap": "--bootstrap",
    "threshold": "--threshold",
    "price": "--price",
    "prompt": "--prompt",
    "cache": "--cache",
    "limit": "--limit",
}

EPILOG = """\
examples:
  hallujudge eval minimal-pairs                       # the built-in sample, offline judge
  hallujudge eval minimal-pairs --html report.html --json report.json
  hallujudge eval data.jsonl --model local --model mistral:open-mistral-7b   # compare
  hallujudge eval data.csv --model openai:my-model --base-url http://localhost:8000/v1
  hallujudge eval r-three/fib --limit 200 --model local   # from the hub (online, data extra)

data: premise/hypothesis/target rows (1 = consistent, 0 = inconsistent), or FIB/USB rows.

exit codes: 0 evaluated, 2 usage, data or configuration error, 130 interrupted
(run the same command again to resume: finished rows come from the cache)"""


def _price(text: str) -> tuple[float, float]:
    try:
        prompt, completion = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            "--price takes USD per million tokens as PROMPT,COMPLETION, e.g. 0.25,0.25"
        ) from exc
    return prompt, completion


def _check_output(path: Path | None, flag: str) -> None:
    # Checked before the run: a paid run must not die at the end for want of a directory.
    if path is None:
        return
    from .._errors import ConfigurationError

    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigurationError(f"{flag} {path} is a directory; give a file path")
    if not parent.is_dir():
        raise ConfigurationError(
            f"{flag} {path}: the directory {parent} does not exist; create it or pick another path"
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigurationError(f"{flag} {path} cannot be written; pick another path")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[list[int]]:
    """Treat SIGTERM (a CI timeout, ``docker stop``) like Ctrl-C: stop cleanly, keep the cache."""
    received: list[int] = []

    def on_term(signum: int, frame: object) -> None:
        received.append(signum)
        signal.raise_signal(signal.SIGINT)  # the running loop's own graceful Ctrl-C path

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: leave signals alone
        yield received
        return
    # A shell starts background jobs (`cmd &`) with SIGINT ignored, and asyncio installs its
    # graceful Ctrl-C path only over the default handler: without it the SIGTERM is lost.
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def register(subparsers: Any) -> None:
    """Add the ``eval`` subcommand."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate judges on labelled data (metrics with CIs, reports, cache, resume)",
        description=(
            "Evaluate one or several judges on a labelled dataset. The positive class is "
            "INCONSISTENT (a hallucination): recall is the share of hallucinations caught."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[column_arguments(), limit_arguments()],
    )
    parser.add_argument(
        "data",
        help="dataset file (.jsonl/.json/.csv/.parquet), a built-in sample "
        "(minimal-pairs) or a hub name (owner/name, online)",
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="M",
        help="model string, repeat to compare judges: local (default, offline), "
        "mistral:NAME, ft:..., openai:NAME, local:DIR",
    )
    parser.add_argument("--prompt", help="prompt strategy (default: the backend's)")
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="evaluate the first N rows only"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=32,
        metavar="C",
        help="rows judged at the same time, per judge (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report")
    parser.add_argument("--html", type=Path, metavar="PATH", help="write the HTML report")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="write the Markdown")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        type=Path,
        metavar="PATH",
        help="SQLite cache and checkpoint (default: .hallujudge/cache.sqlite)",
    )
    cache.add_argument("--no-cache", action="store_true", help="call the model for every row")
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="B",
        help="resamples for 95%% CIs",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument(
        "--threshold",
        type=fraction,
        metavar="T",
        help="label rows with a score consistent when score >= T (overrides the judge's labels)",
    )
    parser.add_argument(
        "--price",
        type=_price,
        metavar="IN,OUT",
        help="USD per million prompt,completion tokens, for the cost",
    )
    parser.add_argument("--base-url", help="server URL for openai: models (else OPENAI_BASE_URL)")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show the progress bar even when stderr is not a terminal",
    )
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (default: a bar when stderr is a terminal)",
    )
    parser.set_defaults(handler=_run, words=_WORDS)


def _run(args: argparse.Namespace) -> int:
    from .._cache import DEFAULT_CACHE_PATH
    from .._dataset import Dataset
    from .._errors import DataError
    from .._evaluator import Evaluator
    from .._judge import Judge
    from .._report import Comparison

    for path, flag in ((args.json, "--json"), (args.html, "--html"), (args.markdown, "--markdown")):
        _check_output(path, flag)
    data = Dataset.load(args.data, **column_mapping(args))
    if len(data) == 0:
        raise DataError(
            f"{args.data} has no rows to evaluate: give a file with one labelled pair per "
            "row (premise, hypothesis, target), or try: hallujudge eval minimal-pairs"
        )
    if args.limit is not None and args.limit < len(data):
        data = data.head(args.limit)
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    options.update(limit_options(args))
    judges = [Judge(m, prompt=args.prompt, **options) for m in args.model or ["local"]]
    cache_path = None if args.no_cache else (args.cache or DEFAULT_CACHE_PATH)
    evaluator = Evaluator(
        data,
        concurrency=args.concurrency,
        cache=cache_path,
        progress=args.progress,
        bootstrap=args.bootstrap,
        seed=args.seed,
        threshold=args.threshold,
        price=args.price,
    )
    with _sigterm_as_interrupt() as received:
        try:
            result = evaluator.run(judges if len(judges) > 1 else judges[0])
        except KeyboardInterrupt:
            how = "stopped by SIGTERM" if received else "interrupted"
            if cache_path is None:
                print(f"hallujudge eval: {how}; nothing was saved (--no-cache)", file=sys.stderr)
            else:
                print(
                    f"hallujudge eval: {how}; every finished row is saved in {cache_path}: run "
                    "the same command again to resume (only unfinished rows are judged)",
                    file=sys.stderr,
                )
            if received:
                return 128 + signal.SIGTERM
            raise
        finally:
            for judge in judges:
                judge.close()
    print(result.to_markdown())
    _say_why_unscored(result, args.words)
    written = []
    if args.json:
        result.to_json(args.json)
        written.append(str(args.json))
    if args.html:
        result.to_html(args.html)
        written.append(str(args.html))
    if args.markdown:
        args.markdown.write_text(result.to_markdown() + "\n", encoding="utf-8")
        written.append(str(args.markdown))
    reports = result.reports if isinstance(result, Comparison) else [result]
    cached = sum(int(r.run.get("n_cached") or 0) for r in reports)
    called = sum(int(r.run.get("n_called") or 0) for r in reports)
    note = f"hallujudge eval: {called} rows judged, {cached} from the cache"
    if written:
        note += "; wrote " + ", ".join(written)
    print(note, file=sys.stderr)
    return 0


def _say_why_unscored(result: Any, words: dict[str, str]) -> None:
    """On stderr: how many rows each judge left unscored and the commonest reasons, in flags."""
    for report in getattr(result, "reports", [result]):
        reasons = Counter(report.columns.errors.values())
        if not reasons:
            continue
        print(
            f"hallujudge eval: {report.judge}: {report.n_unscored} of {report.n} rows unscored "
            "(kept in the report, counted as errors in the strict metrics):",
            file=sys.stderr,
        )
        for reason, count in reasons.most_common(3):
            print(f"  {count} x {_advice.reword(reason, words)}", file=sys.stderr)
