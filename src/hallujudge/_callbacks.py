"""The evaluation callback protocol, in a module of its own.

:class:`EvalCallback` is what the Evaluator calls and what integrations (``hallujudge.weave``'s
``WeaveCallback``, a user's dashboard) implement. Living here, it lets an integration depend on
the protocol without importing the Evaluator, and the Evaluator import an integration (lazily)
without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._judging import JudgeProtocol
    from ._report import EvalReport
    from ._types import Example, Verdict

__all__ = ["EvalCallback"]


class EvalCallback:
    """Hooks into an evaluation (tracing, logging, live dashboards). Override what you need.

    Methods are called on the event loop; keep them quick.
    """

    def on_start(self, judge: JudgeProtocol, dataset_info: dict[str, Any]) -> None:
        """Before the first row of a judge's run."""

    def on_result(self, index: int, example: Example, verdict: Verdict, cached: bool) -> None:
        """After each row (``cached``: the verdict came from the cache, no model call)."""

    def on_end(self, judge: JudgeProtocol, report: EvalReport) -> None:
        """After the report of a judge's run is built."""
