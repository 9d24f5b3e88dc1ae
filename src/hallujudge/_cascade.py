"""Cascades: answer with a cheap judge when it is sure, escalate the rest to a stronger one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from ._errors import ConfigurationError
from ._judging import JudgeMethods, JudgeProtocol
from ._types import Example, Verdict

__all__ = ["Cascade"]


class Cascade(JudgeMethods):
    """A chain of judges, cheapest first.

    A judge's verdict is final when its score lies outside the uncertain ``band`` (or, for the
    last judge, always). Verdicts without a score, and unscored ones, escalate too. The final
    verdict's ``meta["cascade"]`` records which judge answered and the scores seen on the way.

    Args:
        judges: Two or more judges, cheapest first.
        band: ``(low, high)``: a score with ``low <= score <= high`` is uncertain.
        concurrency: Default number of pairs in flight in ``score_many``.

    Example:
        >>> cascade = Cascade([Judge("local"), Judge("mistral-large-latest")], band=(0.2, 0.8))
    """

    def __init__(
        self,
        judges: Sequence[JudgeProtocol],
        *,
        band: tuple[float, float] = (0.2, 0.8),
        concurrency: int = 16,
    ) -> None:
        if len(judges) < 2 or not all(isinstance(j, JudgeProtocol) for j in judges):
            raise ConfigurationError("a Cascade needs two or more judges, cheapest first")
        low, high = band
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigurationError("band must be (low, high) with 0 <= low <= high <= 1")
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self.judges = list(judges)
        self.concurrency = concurrency
        self.band = (low, high)

    @property
    def model(self) -> str:
        """``cascade(a>b>...)`` with each judge's model."""
        return "cascade(" + ">".join(j.model for j in self.judges) + ")"

    @property
    def prompt(self) -> str:
        """Each judge's prompt, in order."""
        return ">".join(j.prompt for j in self.judges)

    def settings(self) -> dict[str, Any]:
        """Every judge's settings and the band: all of it changes the answers."""
        return {"cascade": [j.settings() for j in self.judges], "band": list(self.band)}

    async def ajudge(self, example: Example) -> Verdict:
        """Judge with each judge in turn until one is confident."""
        low, high = self.band
        started = time.perf_counter()
        trail: list[dict[str, Any]] = []
        verdict: Verdict | None = None
        for level, judge in enumerate(self.judges):
            verdict = await judge.ajudge(example)
            trail.append({"model": judge.model, "label": verdict.label, "score": verdict.score})
            confident = verdict.score is not None and not low <= verdict.score <= high
            if verdict.scored and confident:
                break
            if level == len(self.judges) - 1:
                break
        assert verdict is not None  # the loop runs at least once: there are two or more judges
        return verdict.model_copy(
            update={
                "meta": {**verdict.meta, "cascade": trail, "answered_by": len(trail) - 1},
                "latency_s": time.perf_counter() - started,  # every level it went through
            }
        )

    async def aclose(self) -> None:
        """Close every judge of the chain."""
        await asyncio.gather(*(judge.aclose() for judge in self.judges))
