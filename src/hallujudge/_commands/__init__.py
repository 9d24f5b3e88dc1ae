"""Subcommands of the ``hallujudge`` command line, one module each (see ``_cli.py``).

Each subcommand also says how the library's keyword advice reads on the command line
(``words``, see :mod:`hallujudge._advice`): its flags, or ``""`` where it has none.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "COLUMN_WORDS",
    "KEY_WORDS",
    "LIMIT_WORDS",
    "column_arguments",
    "column_mapping",
    "fraction",
    "limit_arguments",
    "limit_options",
    "non_negative_int",
    "positive_int",
]

KEY_WORDS = {"api_key": "", "transport": "", "service_account": ""}
"""Keys come from the environment on the command line (never a flag: shells keep history)."""

_COLUMNS = (
    ("document", "the source document"),
    ("summary", "the summary to judge"),
    ("label", "the label (1/consistent, 0/inconsistent)"),
    ("id", "the row id"),
    ("source", "where the row came from"),
)

COLUMN_WORDS = {name: f"--{name}" for name, _ in _COLUMNS}
"""The column-mapping keywords of ``Dataset.load`` as the flags of :func:`column_arguments`."""


def column_arguments() -> argparse.ArgumentParser:
    """A parent parser with the column flags (``--document COLUMN`` ...) of ``Dataset.load``."""
    columns = argparse.ArgumentParser(add_help=False)
    group = columns.add_argument_group("columns (default: the premise/hypothesis/target format)")
    for field, meaning in _COLUMNS:
        group.add_argument(f"--{field}", metavar="COLUMN", help=f"column holding {meaning}")
    return columns


def column_mapping(args: argparse.Namespace) -> dict[str, Any]:
    """The column flags that were given, as ``Dataset.load`` keywords."""
    return {name: getattr(args, name) for name, _ in _COLUMNS if getattr(args, name, None)}


def _checked(kind: Callable[[str], Any], ok: Callable[[Any], bool], what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


positive_int = _checked(int, lambda v: v >= 1, "a whole number of at least 1")
"""argparse ``type=`` for counts such as ``--concurrency``."""

non_negative_int = _checked(int, lambda v: v >= 0, "a whole number (0 or more)")
"""argparse ``type=`` for counts where 0 means none, such as ``--bootstrap``."""

fraction = _checked(float, lambda v: math.isfinite(v) and 0.0 <= v <= 1.0, "a number in [0, 1]")
"""argparse ``type=`` for probabilities such as ``--threshold``."""


_LIMITS = (
    ("max_input_chars", "the longest document or summary judged, in characters"),
    ("max_calls_per_pair", "the most model calls one pair may take (long documents, claims)"),
)

LIMIT_WORDS = {name: "--" + name.replace("_", "-") for name, _ in _LIMITS}
"""The Judge's input budgets (``max_input_chars=`` ...) as the flags of :func:`limit_arguments`."""


_budget = _checked(int, lambda v: v >= 1, "a whole number of at least 1, or none")


def _limit(text: str) -> int | None:
    return None if text.strip().lower() == "none" else int(_budget(text))


def limit_arguments() -> argparse.ArgumentParser:
    """A parent parser with the Judge's input budgets (``--max-input-chars N|none`` ...).

    A flag left out keeps the Judge's default, so ``limit_options`` passes only those given.
    """
    limits = argparse.ArgumentParser(add_help=False)
    group = limits.add_argument_group("input budgets (default: the Judge's)")
    for name, meaning in _LIMITS:
        group.add_argument(
            LIMIT_WORDS[name],
            dest=name,
            type=_limit,
            default=argparse.SUPPRESS,
            metavar="N",
            help=f"{meaning}; none: no limit",
        )
    return limits


def limit_options(args: argparse.Namespace) -> dict[str, int | None]:
    """The input-budget flags that were given, as Judge keywords."""
    return {name: getattr(args, name) for name, _ in _LIMITS if hasattr(args, name)}
