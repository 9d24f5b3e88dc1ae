"""Synthetic training pairs for the offline judge (FactCC-style, Kryscinski et al. 2020).

Human-labelled news summaries (FIB/XSum) are a poor teacher for obvious fabrications: even the
*consistent* reference summaries there often mention names and numbers the document lacks, so a
model trained on them alone learns that a novel name is normal. This module makes cheap, labelled
pairs that show the model the errors a guardrail must catch, from *training* rows only:

* negatives (label 0): a consistent summary or a document sentence with one fact changed -- a
  number (other digits, or another number of the document), a name (another name of the same
  document in a different role, or a name from another document), a verb or adjective swapped for
  its antonym, an inserted or removed negation, another weekday or month, a flipped pronoun
  gender -- and the summary of an unrelated document;
* positives (label 1): a document sentence, lightly shortened (a parenthesis or a trailing clause
  dropped).

Everything is pure and seeded: the same rows, ratio and seed give the same pairs.

Example:
    >>> import random
    >>> perturb_antonym("The council approved the plan.", random.Random(0))
    'The council rejected the plan.'
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = [
    "NEGATIVE_KINDS",
    "augment_rows",
    "perturb_antonym",
    "perturb_date",
    "perturb_entity",
    "perturb_negation",
    "perturb_number",
    "perturb_pronoun",
    "positive_from_document",
]

Row = tuple[str, str, int]

# Bidirectional antonym table (inflected forms listed explicitly: no stemmer needed).
_ANTONYM_PAIRS = (
    ("approved", "rejected"),
    ("approve", "reject"),
    ("approves", "rejects"),
    ("accepted", "refused"),
    ("won", "lost"),
    ("win", "lose"),
    ("wins", "loses"),
    ("winning", "losing"),
    ("winner", "loser"),
    ("rose", "fell"),
    ("rise", "fall"),
    ("rises", "falls"),
    ("rising", "falling"),
    ("increased", "decreased"),
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("higher", "lower"),
    ("gained", "lost"),
    ("opened", "closed"),
    ("open", "closed"),
    ("allowed", "banned"),
    ("guilty", "innocent"),
    ("convicted", "acquitted"),
    ("first", "last"),
    ("before", "after"),
    ("largest", "smallest"),
    ("biggest", "smallest"),
    ("best", "worst"),
    ("supported", "opposed"),
    ("support", "oppose"),
    ("started", "ended"),
    ("began", "ended"),
    ("arrested", "released"),
    ("hired", "fired"),
    ("positive", "negative"),
    ("earlier", "later"),
    ("north", "south"),
    ("east", "west"),
    ("alive", "dead"),
    ("survived", "died"),
    ("profit", "loss"),
    ("profits", "losses"),
    ("success", "failure"),
    ("successful", "unsuccessful"),
    ("agreed", "refused"),
    ("more", "fewer"),
    ("maximum", "minimum"),
    ("young", "old"),
    ("cheaper", "dearer"),
    ("above", "below"),
    ("inside", "outside"),
)
ANTONYMS: dict[str, str] = {}
for _a, _b in _ANTONYM_PAIRS:
    ANTONYMS.setdefault(_a, _b)
    ANTONYMS.setdefault(_b, _a)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_PRONOUNS = {
    "he": "she",
    "she": "he",
    "him": "her",
    "his": "her",
    "her": "his",
    "himself": "herself",
    "herself": "himself",
    "man": "woman",
    "woman": "man",
    "men": "women",
    "women": "men",
    "mr": "ms",
    "ms": "mr",
    "mrs": "mr",
    "boy": "girl",
    "girl": "boy",
    "father": "mother",
    "mother": "father",
    "son": "daughter",
    "daughter": "son",
    "husband": "wife",
    "wife": "husband",
    "brother": "sister",
    "sister": "brother",
}
_NUMBER_WORDS = (
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
_AUX_RE = re.compile(
    r"\b(is|was|are|were|has|have|had|will|would|can|could|should|did|does|do)\b(?!\s+not\b|n't)",
    re.IGNORECASE,
)
_NOT_RE = re.compile(r"\b(is|was|are|were|has|have|had|will|would|could|should|did|does|do)"
                     r"(\s+not\b|n't)", re.IGNORECASE)  # fmt: skip
_NUM_RE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD_RE = re.compile(r"[A-Za-z]+")
# Runs of capitalised words ("Isle of Wight", "Tom Baker"); sentence starts are filtered below.
_NAME_RE = re.compile(r"\b[A-Z][a-zA-Z'’-]+(?:\s+(?:of\s+|de\s+)?[A-Z][a-zA-Z'’-]+)*")
_SENT_RE = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\n+")
_NOT_NAMES = frozenset(
    {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "We", "I", "But", "And", "This",
     "That", "There", "His", "Her", "Their", "Its", "Mr", "Mrs", "Ms", "Dr", "As", "If", "When",
     "After", "Before", "For", "From", "With", "By", "Of", "To", "Some", "All", "One", "Two",
     *_WEEKDAYS, *_MONTHS}
)  # fmt: skip


def _match_case(new: str, old: str) -> str:
    if old.isupper() and len(old) > 1:
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _replace_span(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


@lru_cache(maxsize=4096)
def _names(text: str) -> tuple[tuple[int, int, str], ...]:
    """Capitalised name runs of ``text`` that do not start a sentence, as (start, end, text)."""
    out: list[tuple[int, int, str]] = []
    for m in _NAME_RE.finditer(text):
        before = text[: m.start()].rstrip()
        if not before or before[-1] in '.!?"“\n':
            continue
        name = m.group(0)
        if name.split()[0] in _NOT_NAMES or len(name) < 3:
            continue
        out.append((m.start(), m.end(), name))
    return tuple(out)


def _mutate_number(tok: str, rng: random.Random) -> str:
    """A plausible but different number with the same shape ("3.1" -> "13", "1,000" -> "1,500")."""
    digits = tok.replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        choices = [f"{whole}{frac}", f"{int(whole) + rng.randint(1, 9)}.{frac}", f"{frac}.{whole}"]
        out = rng.choice(choices)
    else:
        n = int(digits)
        if 1900 <= n <= 2030:  # a year: move it a little
            out = str(n + rng.choice([-3, -2, -1, 1, 2, 3]))
        else:
            cands = [n + rng.randint(1, max(2, n // 2 + 1)), n * 10, max(0, n - rng.randint(1, 9))]
            if len(digits) > 1:
                cands.append(int(digits[::-1]))
            out = str(rng.choice([c for c in cands if c != n] or [n + 1]))
        if "," in tok and len(out) > 3:
            out = f"{int(out):,}"
    return out if out != tok else tok + "0"


def perturb_number(text: str, document: str, rng: random.Random) -> str | None:
    """Change one number: another number of the document (a different role) or other digits.

    Args:
        text: Sentence or summary to perturb.
        document: Its source document (supplies role-swap candidates).
        rng: Seeded random generator.

    Returns:
        The perturbed text, or ``None`` when ``text`` has no number.
    """
    nums = list(_NUM_RE.finditer(text))
    words = [m for m in _WORD_RE.finditer(text) if m.group(0).lower() in _NUMBER_WORDS]
    if not nums and not words:
        return None
    if nums and (not words or rng.random() < 0.8):
        m = rng.choice(nums)
        old = m.group(0)
        others = sorted({x.group(0) for x in _NUM_RE.finditer(document)} - {old})
        others = [o for o in others if not (len(o) == 4 and o.startswith(("19", "20")))]
        new = rng.choice(others) if others and rng.random() < 0.5 else _mutate_number(old, rng)
        return _replace_span(text, m.start(), m.end(), new)
    m = rng.choice(words)
    old = m.group(0)
    new = rng.choice([w for w in _NUMBER_WORDS if w != old.lower()])
    return _replace_span(text, m.start(), m.end(), _match_case(new, old))


def perturb_entity(
    text: str, document: str, rng: random.Random, pool: Sequence[str] = ()
) -> str | None:
    """Swap one name for another name of the same document (role swap) or a name from ``pool``.

    Args:
        text: Sentence or summary to perturb.
        document: Its source document.
        rng: Seeded random generator.
        pool: Names from *other* documents, used for novel-name swaps (and as a fallback).

    Returns:
        The perturbed text, or ``None`` when ``text`` has no name or no replacement exists.
    """
    spans = _names(text)
    if not spans:
        return None
    start, end, old = rng.choice(spans)
    n_words = len(old.split())
    old_parts = set(old.split())
    doc_names = sorted(
        {n for _, _, n in _names(document) if not old_parts & set(n.split()) and n not in text}
    )
    same_len = [n for n in doc_names if len(n.split()) == n_words] or doc_names
    use_doc = same_len and (rng.random() < 0.5 or not pool)
    if use_doc:
        new = rng.choice(same_len)
    else:
        cands = [p for p in pool if not old_parts & set(p.split()) and p not in document]
        if not cands:
            return None
        new = rng.choice(cands)
    return _replace_span(text, start, end, new)


def perturb_antonym(text: str, rng: random.Random) -> str | None:
    """Swap one word for its antonym ("approved" -> "rejected"), or ``None`` if none is known."""
    hits = [m for m in _WORD_RE.finditer(text) if m.group(0).lower() in ANTONYMS]
    if not hits:
        return None
    m = rng.choice(hits)
    return _replace_span(text, m.start(), m.end(), _match_case(ANTONYMS[m.group(0).lower()],
                                                                m.group(0)))  # fmt: skip


def perturb_negation(text: str, rng: random.Random) -> str | None:
    """Remove a negation ("was not" -> "was") or add one after an auxiliary ("has" -> "has not")."""
    nots = list(_NOT_RE.finditer(text))
    if nots and rng.random() < 0.5:
        m = rng.choice(nots)
        return _replace_span(text, m.start(), m.end(), m.group(1))
    aux = list(_AUX_RE.finditer(text))
    if not aux:
        if nots:
            m = rng.choice(nots)
            return _replace_span(text, m.start(), m.end(), m.group(1))
        return None
    m = rng.choice(aux)
    return _replace_span(text, m.end(), m.end(), " not")


def perturb_date(text: str, rng: random.Random) -> str | None:
    """Swap a weekday or month name for another one, or ``None`` if ``text`` has neither."""
    for names in (_WEEKDAYS, _MONTHS):
        hits = [m for m in re.finditer(r"\b(" + "|".join(names) + r")\b", text)]
        if hits:
            m = rng.choice(hits)
            new = rng.choice([n for n in names if n != m.group(0)])
            return _replace_span(text, m.start(), m.end(), new)
    return None


def perturb_pronoun(text: str, rng: random.Random) -> str | None:
    """Flip the gender of every gendered pronoun/noun (one referent), or ``None`` if none."""
    hits = [m for m in _WORD_RE.finditer(text) if m.group(0).lower() in _PRONOUNS]
    if not hits:
        return None
    out = text
    for m in reversed(hits):
        out = _replace_span(out, m.start(), m.end(),
                            _match_case(_PRONOUNS[m.group(0).lower()], m.group(0)))  # fmt: skip
    return out


@lru_cache(maxsize=4096)
def _sentences(document: str, min_words: int = 6, max_words: int = 60) -> tuple[str, ...]:
    out = []
    for s in _SENT_RE.split(document):
        s = s.strip()
        if min_words <= len(s.split()) <= max_words and s[:1].isalnum():
            out.append(s)
    return tuple(out)


def positive_from_document(document: str, rng: random.Random) -> str | None:
    """A document sentence, lightly shortened: consistent by construction.

    Drops a parenthesis or the clause after the last comma when that leaves at least six words.

    Returns:
        The sentence, or ``None`` when the document has no usable sentence.
    """
    sents = _sentences(document)
    if not sents:
        return None
    s = rng.choice(sents)
    r = rng.random()
    if r < 0.35 and "(" in s:
        s = re.sub(r"\s*\([^)]*\)", "", s)
    elif r < 0.5 and "," in s:
        head = s[: s.rfind(",")].rstrip()
        if len(head.split()) >= 6:
            s = head + "."
    return s


Perturb = Callable[[str, str, random.Random, Sequence[str]], "str | None"]
_PERTURBATIONS: dict[str, Perturb] = {
    "number": lambda t, d, r, p: perturb_number(t, d, r),
    "entity": perturb_entity,
    "antonym": lambda t, d, r, p: perturb_antonym(t, r),
    "negation": lambda t, d, r, p: perturb_negation(t, r),
    "date": lambda t, d, r, p: perturb_date(t, r),
    "pronoun": lambda t, d, r, p: perturb_pronoun(t, r),
}
NEGATIVE_KINDS: tuple[str, ...] = (*_PERTURBATIONS, "unrelated")


def augment_rows(
    rows: Sequence[Row],
    *,
    ratio: float = 1.0,
    seed: int = 0,
    positive_share: float = 0.25,
    unrelated_share: float = 0.1,
) -> list[tuple[Row, str]]:
    """Make about ``ratio * len(rows)`` synthetic ``(document, summary, label)`` rows.

    Negatives perturb a consistent summary (label-1 rows) or, half the time, a document sentence;
    each perturbation kind is tried in a random order until one applies. Every synthetic row keeps
    the document of the row it came from, so document-grouped folds stay leak-free.

    Args:
        rows: Training rows ``(document, summary, label)``; only their documents and their
            consistent summaries are used.
        ratio: Synthetic rows per input row (0 gives none).
        seed: Seed; the output is a pure function of the inputs.
        positive_share: Share of synthetic rows that are consistent document sentences.
        unrelated_share: Share that pair a document with another document's summary.

    Returns:
        ``((document, summary, label), kind)`` tuples; ``kind`` names the recipe ("number",
        "entity", ..., "unrelated", "positive").

    Raises:
        ValueError: If ``ratio`` is negative or a share is outside [0, 1].
    """
    if ratio < 0:
        raise ValueError("ratio must be >= 0 (synthetic rows per training row)")
    if not (0 <= positive_share <= 1 and 0 <= unrelated_share <= 1):
        raise ValueError("positive_share and unrelated_share must be in [0, 1]")
    n_out = round(ratio * len(rows))
    if n_out == 0 or not rows:
        return []
    rng = random.Random(seed)
    docs = list(dict.fromkeys(d for d, _, _ in rows))
    consistent = [(d, s) for d, s, y in rows if y == 1 and s.strip()]
    summaries = [(d, s) for d, s, _ in rows if s.strip()]
    pool = sorted({n for d in docs[:2000] for _, _, n in _names(d)})
    out: list[tuple[Row, str]] = []
    kinds = list(_PERTURBATIONS)
    attempts = 0
    while len(out) < n_out and attempts < 20 * n_out:
        attempts += 1
        u = rng.random()
        if u < positive_share:
            doc = rng.choice(docs)
            pos = positive_from_document(doc, rng)
            if pos:
                out.append(((doc, pos, 1), "positive"))
            continue
        if u < positive_share + unrelated_share:
            doc = rng.choice(docs)
            other_doc, other = rng.choice(summaries)
            if other_doc != doc:
                out.append(((doc, other, 0), "unrelated"))
            continue
        if consistent and rng.random() < 0.5:
            doc, src = rng.choice(consistent)
        else:
            doc = rng.choice(docs)
            sents = _sentences(doc)
            if not sents:
                continue
            src = rng.choice(sents)
        rng.shuffle(kinds)
        for kind in kinds:
            new = _PERTURBATIONS[kind](src, doc, rng, pool)
            if new is not None and new != src:
                out.append(((doc, new, 0), kind))
                break
    return out
