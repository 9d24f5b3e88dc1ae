"""``hallujudge eval``: evaluate one or several judges on a labelled dataset.

Prints a Markdown summary (one judge: its metrics; several: a side-by-side table with paired
tests) and writes JSON / HTML / Markdown reports on request. Verdicts go to a SQLite cache that
doubles as a checkpoint: running the same command again after an interruption judges only the
rows that had not finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _price(text: str) -> tuple[float, float]:
    try:
        prompt, completion = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            "--price takes USD per million tokens as PROMPT,COMPLETION, e.g. 0.25,0.25"
        ) from exc
    return prompt, completion


def register(subparsers: Any) -> None:
    """Add the ``eval`` subcommand."""
    parser = subparsers.add_parser(
        "eval",
        help="evaluate judges on labelled data (metrics with CIs, reports, cache, resume)",
        description=(
            "Evaluate one or several judges on a labelled dataset. The positive class is "
            "INCONSISTENT (a hallucination): recall is the share of hallucinations caught."
        ),
    )
    parser.add_argument("data", help="dataset file (.jsonl/.json/.csv/.parquet) or hub name")
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="M",
        help="model string (repeat to compare judges): local, mistral:NAME, openai:NAME, fake",
    )
    parser.add_argument("--prompt", help="prompt strategy (default: the backend's)")
    parser.add_argument("--limit", type=int, metavar="N", help="evaluate the first N rows only")
    parser.add_argument("--concurrency", type=int, default=32, metavar="C")
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
        "--bootstrap", type=int, default=1000, metavar="B", help="resamples for 95%% CIs"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument(
        "--threshold",
        type=float,
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
        "--progress", dest="progress", action="store_true", default=None, help="force the bar"
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from .._cache import DEFAULT_CACHE_PATH
    from .._dataset import Dataset
    from .._errors import ConfigurationError
    from .._evaluator import Evaluator
    from .._judge import Judge
    from .._report import Comparison

    if args.limit is not None and args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    data = Dataset.load(args.data)
    if args.limit is not None and args.limit < len(data):
        data = data.head(args.limit)
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    judges = [Judge(m, prompt=args.prompt, **options) for m in args.model]
    evaluator = Evaluator(
        data,
        concurrency=args.concurrency,
        cache=None if args.no_cache else (args.cache or DEFAULT_CACHE_PATH),
        progress=args.progress,
        bootstrap=args.bootstrap,
        seed=args.seed,
        threshold=args.threshold,
        price=args.price,
    )
    try:
        result = evaluator.run(judges if len(judges) > 1 else judges[0])
    finally:
        for judge in judges:
            judge.close()
    print(result.to_markdown())
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
