"""Claim-level checking: split a summary into sentences, judge each, aggregate by a declared rule.

The rule: the summary is consistent only if every sentence is; its score is the lowest sentence
score; it is unscored if no sentence is inconsistent but some could not be judged. The verdict's
``spans`` are the failed sentences, with offsets into the summary, and ``meta["claims"]`` lists
every sentence with its own label and score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._types import Span, Verdict

__all__ = ["combine_claims", "split_sentences"]

# A sentence ends at . ! ? (with closing quotes/brackets) before whitespace and a capital, digit
# or quote, or at a line break. Common abbreviations and initials do not end sentences.
_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n+")
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Gov|Sen|Rep|Inc|Ltd|Co|Corp|vs|etc|e\.g|i\.e|U\.S|"
    r"No|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z])\.$"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into sentences, as ``(start, end)`` offsets with surrounding space trimmed.

    Args:
        text: The summary or answer.

    Returns:
        Offsets of each non-empty sentence, in order; the whole text if it has one sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if "\n" in match.group(0) or not _ABBREVIATIONS.search(text[start:end]):
            spans.append((start, end))
            start = end
    spans.append((start, len(text)))
    trimmed: list[tuple[int, int]] = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            trimmed.append((a, b))
    return trimmed


def combine_claims(
    summary: str, sentences: Sequence[tuple[int, int]], verdicts: Sequence[Verdict]
) -> Verdict:
    """Aggregate per-sentence verdicts into one verdict for the whole summary.

    Args:
        summary: The full summary.
        sentences: Offsets of each judged sentence.
        verdicts: One verdict per sentence, in the same order.

    Returns:
        The summary's verdict (see the module docstring for the rule).
    """
    claims = [
        {
            "start": a,
            "end": b,
            "text": summary[a:b],
            "label": v.label,
            "score": v.score,
            "reason": v.reason,
            "error": v.error,
        }
        for (a, b), v in zip(sentences, verdicts, strict=True)
    ]
    failed = [
        Span(start=a, end=b, text=summary[a:b], note=v.reason or "sentence not supported")
        for (a, b), v in zip(sentences, verdicts, strict=True)
        if v.label == "inconsistent"
    ]
    scores = [v.score for v in verdicts if v.score is not None]
    usage = None
    for v in verdicts:
        if v.usage is not None:
            usage = v.usage if usage is None else usage + v.usage
    base = {"usage": usage, "score": min(scores) if scores else None, "spans": tuple(failed)}
    meta = {"claims": claims}
    if failed:
        reasons = "; ".join(f"{s.text!r}: {s.note}" for s in failed)
        return Verdict(label="inconsistent", reason=f"Unsupported: {reasons}", meta=meta, **base)
    unjudged = [v for v in verdicts if not v.scored]
    if unjudged:
        return Verdict(
            label="unscored",
            error=f"{len(unjudged)} of {len(verdicts)} sentences could not be judged: "
            f"{unjudged[0].error}",
            meta=meta,
            **base,
        )
    return Verdict(
        label="consistent", reason="Every sentence is supported by the document.", meta=meta, **base
    )
