"""The one immutable record of everything that can change a judge's answers.

A :class:`JudgeSettings` is built once, when the :class:`~hallujudge.Judge` is made, and never
changes after. Every consumer reads this same object: the cache key
(:func:`hallujudge._cache.cache_key` over :meth:`JudgeSettings.as_dict`), the Evaluator's
reports, traces (Weave, OpenTelemetry) and fine-tuning lineage. A new option that can change an
answer is added here as a field, and from then on it is in every cache key and trace; the test
``tests/test_settings.py`` iterates over the fields, so a field that does not reach the cache key
fails it.

Options that change how a judgment is *run* but not what it answers (retries, timeouts,
concurrency, rate limits, transport) do not belong here: changing them must keep the cache.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Claims", "JudgeSettings", "LongDocuments"]

LongDocuments = Literal["chunk", "unscored"]
Claims = Literal["summary", "sentence"]


class JudgeSettings(BaseModel):
    """Everything that can change a judge's answers (frozen; one per Judge).

    Attributes:
        backend: The backend's identity (:meth:`Backend.cache_identity`: class, model name,
            server, input template...; never a credential).
        prompt: The prompt strategy as ``name@version`` (or a scoring backend's input format).
        temperature: Sampling temperature.
        seed: Random seed sent to servers that accept one.
        max_tokens: Cap on the answer's length.
        samples: Number of sampled answers whose share of "consistent" is the score.
        threshold: ``score >= threshold`` means consistent.
        logprobs: Whether token log-probabilities are asked for (they make the score).
        long_documents: What happens to a document over the input budget.
        max_input_tokens: The input budget in tokens.
        claims: Judge the summary whole, or sentence by sentence.
        repair: Whether an unreadable answer gets one more, reminded, attempt.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: dict[str, Any] = Field(default_factory=dict)
    prompt: str
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int | None = None
    samples: int | None = None
    threshold: float = 0.5
    logprobs: bool = False
    long_documents: LongDocuments = "chunk"
    max_input_tokens: int | None = None
    claims: Claims = "summary"
    repair: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The settings as flat JSON-ready data (the backend's identity merged in).

        This is the form cache keys hash and traces show; it is a fresh copy each time.

        Returns:
            ``{**backend, "prompt": ..., "temperature": ..., ...}``.
        """
        data = self.model_dump(mode="json")
        backend = data.pop("backend")
        return {**backend, **data}

    @property
    def model(self) -> str | None:
        """The backend's model name, when its identity names one."""
        name = self.backend.get("name")
        return name if isinstance(name, str) else None
