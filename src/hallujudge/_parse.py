"""Read a consistency label out of whatever a model said.

Real models wrap JSON in code fences, surround it with prose, quote numbers, answer
``true``/``false`` or in words, truncate, or refuse. :func:`parse_answer` tries, in order: JSON
objects (fenced, bare, or embedded), a ``key: value`` pair in broken JSON, a bare ``0``/``1``, an
explicit ``Answer: <word>`` line, and finally unambiguous label words. When none of these decides,
it says why instead of guessing; it never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ParsedAnswer", "parse_answer"]

# Keys a model may use for the label. "hallucinat*" keys mean the opposite of consistency.
_LABEL_KEYS = (
    "consistency",
    "consistent",
    "is_consistent",
    "factually_consistent",
    "factual_consistency",
    "label",
    "answer",
    "verdict",
    "prediction",
    "result",
    "supported",
)
_INVERTED_KEYS = ("hallucination", "hallucinated", "is_hallucinated", "inconsistent")
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale", "justification", "analysis")

_POSITIVE = {
    "1", "true", "yes", "consistent", "factually consistent", "supported", "entailed",
    "entailment", "faithful", "correct", "accurate",
}  # fmt: skip
_NEGATIVE = {
    "0", "false", "no", "inconsistent", "not consistent", "factually inconsistent",
    "unsupported", "not supported", "hallucinated", "hallucination", "contradiction",
    "unfaithful", "incorrect", "inaccurate",
}  # fmt: skip

_BARE_ANSWERS = frozenset({"0", "1", "0.0", "1.0", "true", "false", "yes", "no"})

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_KEY_VALUE = re.compile(
    r"[\"']?(" + "|".join(_LABEL_KEYS + _INVERTED_KEYS) + r")[\"']?\s*[:=]\s*[\"']?"
    r"(true|false|yes|no|[01](?:\.0)?|consistent|inconsistent)\b",
    re.IGNORECASE,
)
_ANSWER_LINE = re.compile(
    # No two adjacent quantifiers may match the same characters: "answer" followed by a long
    # run of spaces must cost linear time, not cubic (a degenerate model output hung here).
    r"(?:final answer|answer|label|verdict|conclusion)(?:\**\s+is)?(?:[\s*]*[:=\-])?"
    r"[\s*\"']*"
    r"(not consistent|inconsistent|consistent|unsupported|supported|yes|no|[01])\b",
    re.IGNORECASE,
)
_NEG_WORDS = re.compile(
    r"\b(?:inconsistent|unsupported|hallucinat\w*|partially\s+(?:consistent|supported))\b"
    # "isn't consistent", "not fully supported": negated, or they would read as positive
    r"|(?:\bnot|n't|\bnever)\s+(?:(?:fully|entirely|completely|totally|wholly|factually|quite"
    r"|really|necessarily)\s+)?(?:consistent|supported)\b",
    re.IGNORECASE,
)
# "no hallucinations", "not unsupported", "free of inconsistencies": a negated negative is a
# positive claim (before this, "The summary contains no hallucinations." read as inconsistent).
_NEGATED_NEG = re.compile(
    r"\b(?:no|not|never|without|free\s+of|zero)\s+(?:\w+\s+){0,2}?"
    r"(?:hallucinat\w*|unsupported|inconsisten\w*)\b",
    re.IGNORECASE,
)
_POS_WORDS = re.compile(r"\b(consistent|supported|faithful)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.?!\n]")
_LEADING_YES_NO = re.compile(r"^[\s*\"'`]*(yes|no)[\s*]*[,.!:;\-]", re.IGNORECASE)
_REFUSAL = re.compile(
    r"\b(I can(?:not|'t)|I'm sorry|I am sorry|as an AI|I am unable|I'm unable|I won't)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """The outcome of reading one answer.

    Attributes:
        label: 1 = consistent, 0 = inconsistent, None = could not decide.
        reason: The model's explanation, when it gave one.
        error: Why no label was read (None when ``label`` is set).
        offset: Character offset of the label's value in the text, for log-probability lookup.
    """

    label: int | None
    reason: str | None = None
    error: str | None = None
    offset: int | None = None


def _value_to_label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        v = value.strip().strip(".").lower()
        if v in ("1.0",):
            return 1
        if v in ("0.0",):
            return 0
        if v in _POSITIVE:
            return 1
        if v in _NEGATIVE:
            return 0
    return None


def _json_objects(text: str) -> list[tuple[dict[str, Any], int]]:
    """Every JSON object found in ``text``, with its start offset (fenced ones first)."""
    found: list[tuple[dict[str, Any], int]] = []
    candidates: list[tuple[str, int]] = [(m.group(1), m.start(1)) for m in _FENCE.finditer(text)]
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1 and len(candidates) < 20:
        candidates.append((text[start:], start))
        start = text.find("{", start + 1)
    for chunk, base in candidates:
        brace = chunk.find("{")
        if brace == -1:
            continue
        try:
            obj, _ = decoder.raw_decode(chunk[brace:])
        except (ValueError, RecursionError):  # deeply nested input overflows the decoder
            continue
        if isinstance(obj, dict):
            found.append((obj, base + brace))
    return found


def _whole_object(stripped: str) -> dict[str, Any] | None:
    """The answer as one JSON object (optionally in a code fence), or None if it is not one."""
    fenced = _FENCE.fullmatch(stripped)
    body = fenced.group(1).strip() if fenced else stripped
    if not (body.startswith("{") and body.endswith("}")):
        return None
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):  # deeply nested input overflows the decoder
        return None
    return obj if isinstance(obj, dict) else None


def _from_object(obj: dict[str, Any], text: str, base: int) -> ParsedAnswer | None:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    reason = next(
        (str(lowered[k]) for k in _REASON_KEYS if k in lowered and lowered[k] is not None), None
    )
    for keys, inverted in ((_LABEL_KEYS, False), (_INVERTED_KEYS, True)):
        for key in keys:
            if key not in lowered:
                continue
            label = _value_to_label(lowered[key])
            if label is None:
                continue
            if inverted:
                label = 1 - label
            # The key itself, quoted as JSON keys are: not the same word inside a reason string
            # ("consistency: 0" in the reasoning would send log-probabilities to the wrong token).
            match = re.search(
                r'(?<!\\)"' + re.escape(key) + r'"\s*:\s*"?', text[base:], re.IGNORECASE
            )
            offset = base + match.end() if match else None
            return ParsedAnswer(label=label, reason=reason, offset=offset)
    return None


def _mask_questions(text: str) -> str:
    """``text`` with every sentence that ends in ``?`` blanked out (linear time)."""
    parts: list[str] = []
    start = 0
    for end_mark in _SENTENCE_END.finditer(text):
        end = end_mark.end()
        segment = text[start:end]
        parts.append(" " * len(segment) if end_mark.group() == "?" else segment)
        start = end
    parts.append(text[start:])
    return "".join(parts)


def parse_answer(text: str) -> ParsedAnswer:
    """Read a consistency label from a model's answer.

    Args:
        text: The model's raw answer.

    Returns:
        The label with its reason and offset, or ``label=None`` with an ``error`` saying why.
    """
    if not isinstance(text, str):
        return ParsedAnswer(label=None, error=f"expected text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        return ParsedAnswer(label=None, error="the model returned an empty answer")

    bare = stripped.strip("`\"' .*").lower()
    if bare in _BARE_ANSWERS:  # "1", "Yes.", "false", "1.0": a whole answer in one word
        label = _value_to_label(bare)
        match = re.search(re.escape(bare), text, re.IGNORECASE)
        return ParsedAnswer(label=label, offset=match.start() if match else None)

    whole = _whole_object(stripped)
    if whole is not None:
        # The answer is one JSON object: its own fields are the answer. Objects quoted inside
        # its strings (a reasoning that cites the summary) must not be read as the label.
        base = text.find("{")
        parsed = _from_object(whole, text, base)
        if parsed is not None:
            return parsed
        return ParsedAnswer(label=None, error="no consistency label found in the JSON answer")

    for obj, base in _json_objects(text):
        parsed = _from_object(obj, text, base)
        if parsed is not None:
            return parsed

    kv = _KEY_VALUE.search(text)
    if kv:
        label = _value_to_label(kv.group(2))
        if label is not None:
            if kv.group(1).lower() in _INVERTED_KEYS:
                label = 1 - label
            return ParsedAnswer(label=label, reason=None, offset=kv.start(2))

    answers = list(_ANSWER_LINE.finditer(text))
    if answers:
        last = answers[-1]  # "Answer:" after reasoning: the last one is the conclusion
        label = _value_to_label(last.group(1))
        if label is not None:
            reason = text[: last.start()].strip() or None
            return ParsedAnswer(label=label, reason=reason, offset=last.start(1))

    # A restated question ("Is the summary consistent with the document? No, ...") names a
    # label without asserting it: blank questions out (same length, so offsets hold).
    asserted = _mask_questions(text)
    negated = list(_NEGATED_NEG.finditer(asserted))
    asserted = _NEGATED_NEG.sub(lambda m: " " * len(m.group(0)), asserted)
    negatives = list(_NEG_WORDS.finditer(asserted))
    # "inconsistent" contains "consistent": mask negative matches before looking for positives.
    masked = _NEG_WORDS.sub(lambda m: " " * len(m.group(0)), asserted)
    positives = sorted([*_POS_WORDS.finditer(masked), *negated], key=lambda m: m.start())
    if _REFUSAL.search(text):  # "I cannot tell whether it is hallucinated" is no label either way
        return ParsedAnswer(label=None, error="the model refused to answer")
    if negatives and not positives:
        return ParsedAnswer(label=0, reason=stripped, offset=negatives[0].start())
    if positives and not negatives:
        return ParsedAnswer(label=1, reason=stripped, offset=positives[0].start())
    if negatives and positives:
        return ParsedAnswer(
            label=None, error="the answer names both labels and no final answer: ambiguous"
        )
    leading = _LEADING_YES_NO.match(asserted)  # "No, it says 1950." answers the question asked
    if leading:
        label = 1 if leading.group(1).lower() == "yes" else 0
        return ParsedAnswer(label=label, reason=stripped, offset=leading.start(1))
    if stripped.startswith("{") and not stripped.endswith("}"):
        return ParsedAnswer(label=None, error="the answer is truncated JSON with no label")
    return ParsedAnswer(label=None, error="no consistency label found in the answer")
