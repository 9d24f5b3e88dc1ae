"""The ``hallujudge`` command line, run in-process: for scripts and tests.

>>> from hallujudge.cli import main
>>> code = main(["score", "--doc", "article.txt", "--summary", "A cat sat."])  # doctest: +SKIP

:func:`main` takes the arguments the ``hallujudge`` command takes (without the program name),
prints what the command prints, and returns its exit code instead of exiting: for ``score``, 0
for consistent, 1 for inconsistent and 2 for unscored or an error; 2 for usage and configuration
errors. It is the function the ``hallujudge`` command and ``python -m hallujudge`` call.
:func:`build_parser` builds the argument parser alone (``--help`` text, argument checks).

``import hallujudge`` never imports this module, and importing it loads no heavy dependency:
each subcommand loads what it needs when it runs.
"""

from __future__ import annotations

from ._cli import build_parser, main

__all__ = ["build_parser", "main"]
