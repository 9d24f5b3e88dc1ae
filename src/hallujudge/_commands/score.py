"""``hallujudge score``: judge one (document, summary) pair from the command line.

Exit codes make it usable in shell scripts and CI: 0 consistent, 1 inconsistent, 2 unscored or
an error (the reason goes to stderr, or into the JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _advice
from .._errors import ConfigurationError
from . import KEY_WORDS, LIMIT_WORDS, fraction, limit_arguments, limit_options

if TYPE_CHECKING:
    from .._types import Verdict

__all__ = ["EXIT_CODES", "format_verdict", "register"]

EXIT_CODES = {"consistent": 0, "inconsistent": 1, "unscored": 2}
"""Exit code per verdict label."""

_WORDS = {
    **KEY_WORDS,
    **LIMIT_WORDS,
    "server_url": "",  # MISTRAL_SERVER_URL, which the messages name beside it
    "base_url": "--base-url",
    "threshold": "--threshold",
    "prompt": "--prompt",
    "claims": "--claims",
}

_EPILOG = """\
examples:
  hallujudge score --doc article.txt --summary "The council closed the library."
  cat article.txt | hallujudge score --doc - --summary-file summary.txt --json
  hallujudge score --doc article.txt --summary "..." --model mistral:open-mistral-7b
  hallujudge score --doc article.txt --summary-file summary.txt --claims sentence

exit codes: 0 consistent, 1 inconsistent, 2 unscored or error
"""


def register(subparsers: Any) -> None:
    """Add the ``score`` subcommand."""
    parser = subparsers.add_parser(
        "score",
        help="judge whether one summary is consistent with one document",
        description="Judge whether a summary is factually consistent with a document.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[limit_arguments()],
    )
    parser.add_argument(
        "--doc",
        required=True,
        metavar="FILE",
        help="the document: a UTF-8 text file, or - for stdin",
    )
    summary = parser.add_mutually_exclusive_group(required=True)
    summary.add_argument("--summary", metavar="TEXT", help="the summary to check, as text")
    summary.add_argument(
        "--summary-file", metavar="FILE", help="the summary: a UTF-8 text file, or - for stdin"
    )
    parser.add_argument(
        "--model",
        default="local",
        help="model string: local (default, offline), mistral:NAME, ft:..., openai:NAME, ...",
    )
    parser.add_argument(
        "--prompt", default=None, help="prompt strategy (default: the model's own choice)"
    )
    parser.add_argument(
        "--claims",
        choices=("summary", "sentence"),
        default="summary",
        help="judge the summary whole (default) or each sentence, listing unsupported ones",
    )
    parser.add_argument(
        "--threshold",
        type=fraction,
        default=0.5,
        help="p(consistent) at or above which a scored pair is consistent (default: 0.5)",
    )
    parser.add_argument("--base-url", help="server URL for openai: models (else OPENAI_BASE_URL)")
    parser.add_argument(
        "--json", action="store_true", help="print the verdict as one JSON object on stdout"
    )
    parser.set_defaults(handler=_run, words=_WORDS)


def _read(path: str, what: str) -> str:
    """Read a text argument's file (``-`` is stdin), with an error that says what to fix."""
    if path == "-":
        # Bytes, decoded strictly: the text stream would mangle non-UTF-8 input silently.
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # already text (a replaced sys.stdin)
            return sys.stdin.read()
        try:
            return bytes(raw.read()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"{what} on stdin is not UTF-8 text; convert it (e.g. with iconv) first"
            ) from exc
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{what} file not found: {path!r}") from exc
    except IsADirectoryError as exc:
        raise ConfigurationError(f"{what} path is a directory, not a file: {path!r}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{what} file {path!r} is not UTF-8 text; convert it (e.g. with iconv) first"
        ) from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} file {path!r}: {exc.strerror}") from exc


def format_verdict(verdict: Verdict, *, words: Mapping[str, str] | None = None) -> str:
    """A short human-readable rendering of a verdict (label, score, reason, spans, error).

    Args:
        verdict: The verdict to show.
        words: Keyword -> flag of the interface showing it: an unscored verdict's advice
            (``raise max_input_chars=``) is said in those words (see :mod:`hallujudge._advice`).

    Returns:
        Several lines of text, without a trailing newline.
    """
    head = verdict.label.upper()
    if verdict.score is not None:
        head += f"  p(consistent)={verdict.score:.3f}"
    lines = [head]
    details = [f"model: {verdict.model}", f"prompt: {verdict.prompt}"]
    if verdict.latency_s is not None:
        details.append(f"latency: {verdict.latency_s:.2f} s")
    if verdict.usage is not None and verdict.usage.total_tokens:
        details.append(f"tokens: {verdict.usage.total_tokens}")
    lines.append("  ".join(details))
    if verdict.reason:
        lines.append(f"reason: {verdict.reason}")
    if verdict.spans:
        lines.append("unsupported:")
        for span in verdict.spans:
            note = f"  ({span.note})" if span.note else ""
            lines.append(f"  [{span.start}:{span.end}] {span.text!r}{note}")
    if verdict.error:
        error = _advice.reword(verdict.error, words) if words else verdict.error
        lines.append(f"unscored: {error}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    if args.doc == "-" and args.summary_file == "-":
        raise ConfigurationError("only one of --doc and --summary-file can be - (stdin)")
    document = _read(args.doc, "document")
    summary = args.summary if args.summary is not None else _read(args.summary_file, "summary")

    from .._judge import Judge

    options: dict[str, Any] = {"base_url": args.base_url} if args.base_url else {}
    options.update(limit_options(args))
    judge = Judge(
        args.model, prompt=args.prompt, claims=args.claims, threshold=args.threshold, **options
    )
    with judge:
        verdict = judge.score(document, summary)
    if args.json:
        print(json.dumps(verdict.model_dump(mode="json"), ensure_ascii=False))
    else:
        print(format_verdict(verdict, words=args.words))
    return EXIT_CODES[verdict.label]
