"""The ``hallujudge`` command line: ``score``, ``eval``, ``finetune``, ``datasets``, ``demo``.

Each subcommand lives in ``hallujudge._commands.<name>`` and exposes
``register(subparsers) -> None``, which adds its parser and sets ``handler(args) -> int`` (the
exit code) with ``parser.set_defaults(handler=...)``. Modules are imported only to build the
parser, so a missing optional dependency affects only its own subcommand.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
import warnings
from collections.abc import Callable, Sequence

from ._advice import reword
from ._errors import HallujudgeError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = ("demo", "score", "eval", "finetune", "datasets")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="hallujudge",
        description="Judge whether summaries are factually consistent with their documents.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"hallujudge._commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"hallujudge._commands.{name}":
                continue  # not built into this version
            raise
        module.register(subparsers)
    return parser


def _version() -> str:
    from . import __version__

    return f"hallujudge {__version__}"


def _show_warning(words: dict[str, str], message: Warning | str, *_: object) -> None:
    print(f"hallujudge: warning: {reword(str(message), words)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit code: the subcommand's own, 2 for usage and configuration errors.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    # Messages name Python keywords (``out_dir=``); each command says its flags for them.
    words: dict[str, str] = getattr(args, "words", {})
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_show_warning, words)
            return handler(args)
    except HallujudgeError as exc:
        print(f"hallujudge: error: {reword(str(exc), words)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hallujudge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
