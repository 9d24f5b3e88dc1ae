"""The values that flow through a judge: :class:`Example` in, :class:`Verdict` out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Example", "Label", "Span", "Usage", "Verdict"]

Label = Literal["consistent", "inconsistent", "unscored"]


class Example(BaseModel):
    """One (document, summary) pair, optionally labelled.

    Attributes:
        document: The source text (premise).
        summary: The text to check against it (hypothesis, answer).
        label: 1 = consistent, 0 = inconsistent (hallucinated), None = unlabelled.
        id: A stable id, when the data has one.
        source: Where the row came from (``fib-xsum``, ``usb-wiki``, ...).
        meta: Anything else the row carried.
    """

    model_config = ConfigDict(frozen=True)

    document: str
    summary: str
    label: Literal[0, 1] | None = None
    id: str | None = None
    source: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    """Tokens one judgment used (summed over retries that reached the model, samples, chunks)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Span(BaseModel):
    """A piece of evidence: characters ``[start, end)`` of the summary (or the document).

    Attributes:
        start: Offset of the first character.
        end: Offset one past the last character.
        text: The characters themselves, for reading without the source.
        note: Why this span matters (for example ``"number not in document"``).
        target: Which text the offsets point into.
    """

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    text: str
    note: str = ""
    target: Literal["summary", "document"] = "summary"


class Verdict(BaseModel):
    """What a judge decided about one (document, summary) pair.

    Attributes:
        label: ``consistent``, ``inconsistent``, or ``unscored`` when the judge could not decide
            (see ``error``). An unscored verdict is never silently counted as a label.
        score: Probability that the summary is consistent with the document (1.0 = fully
            supported), or None when the judge gives no probability.
        reason: The judge's short explanation, when it gave one.
        model: The model that answered (for example ``mistral:open-mistral-7b``).
        prompt: The prompt strategy as ``name@version``.
        raw: The model's text, exactly as received.
        error: Why the verdict is unscored, or None.
        latency_s: Wall time of the judgment, retries included.
        usage: Tokens used, when the backend reports them.
        spans: Evidence: unsupported parts of the summary with character offsets.
        meta: Extra facts (``chunks`` when the document was split, ``samples``, ...).
    """

    model_config = ConfigDict(frozen=True)

    label: Label
    score: float | None = None
    reason: str | None = None
    model: str | None = None
    prompt: str | None = None
    raw: str | None = None
    error: str | None = None
    latency_s: float | None = None
    usage: Usage | None = None
    spans: tuple[Span, ...] = ()
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def hallucinated(self) -> bool | None:
        """True when inconsistent, False when consistent, None when unscored."""
        if self.label == "unscored":
            return None
        return self.label == "inconsistent"

    @property
    def scored(self) -> bool:
        """Whether the judge reached a label."""
        return self.label != "unscored"

    @classmethod
    def unscored(cls, error: str, **fields: Any) -> Verdict:
        """Build an unscored verdict that says why.

        Args:
            error: Why no label could be given; say what the user can do.
            **fields: Any other Verdict field (``raw``, ``model``, ...).

        Returns:
            The verdict.
        """
        return cls(label="unscored", error=error, **fields)
