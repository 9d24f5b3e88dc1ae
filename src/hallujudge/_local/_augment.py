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
    "ANTONYMS",
    "CONTRARIES",
    "NEGATIVE_KINDS",
    "POSITIVE_KINDS",
    "augment_rows",
    "compress_sentence",
    "fuse_sentences",
    "generalise_sentence",
    "perturb_antonym",
    "perturb_date",
    "perturb_entity",
    "perturb_negation",
    "perturb_number",
    "perturb_pronoun",
    "perturb_roles",
    "perturb_swap",
    "positive_from_document",
    "positive_rewrite",
    "similar_sentence",
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
    ("cheap", "expensive"),
    ("cheaper", "expensive"),
    ("beat", "lost"),
    ("defeated", "lost"),
    ("climbed", "fell"),
    ("climbed", "dropped"),
    ("rose", "dropped"),
    ("grew", "shrank"),
    ("grew", "declined"),
    ("raising", "lowering"),
    ("raise", "lower"),
    ("raised", "lowered"),
    ("admitted", "denied"),
    ("admits", "denies"),
    ("included", "excluded"),
    ("include", "exclude"),
    ("accepted", "rejected"),
    ("better", "worse"),
    ("strong", "weak"),
    ("stronger", "weaker"),
    ("paid", "owes"),
    ("closed", "reopened"),
    ("closed", "stayed"),
    ("cut", "raised"),
    ("up", "down"),
    ("gain", "loss"),
    ("buy", "sell"),
    ("bought", "sold"),
    ("sells", "buys"),
    ("entered", "left"),
    ("joined", "left"),
    ("arrived", "left"),
    ("finished", "unfinished"),
    ("easy", "difficult"),
    ("promotes", "discourages"),
    ("encourages", "discourages"),
    ("love", "hate"),
    ("loves", "hates"),
    ("always", "never"),
    ("many", "few"),
    ("large", "small"),
    ("larger", "smaller"),
    ("long", "short"),
    ("longer", "shorter"),
    ("early", "late"),
    ("happy", "sad"),
    ("true", "false"),
    ("legal", "illegal"),
    ("possible", "impossible"),
    ("above", "below"),
    ("inside", "outside"),
)
ANTONYMS: dict[str, str] = {}
"""One antonym per word, for making perturbations."""
CONTRARIES: dict[str, frozenset[str]] = {}
"""Every listed antonym of a word, for detecting them (``"fell"``: rose, climbed)."""
for _a, _b in _ANTONYM_PAIRS:
    ANTONYMS.setdefault(_a, _b)
    ANTONYMS.setdefault(_b, _a)
    CONTRARIES[_a] = CONTRARIES.get(_a, frozenset()) | {_b}
    CONTRARIES[_b] = CONTRARIES.get(_b, frozenset()) | {_a}

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


# ---- role and position changes, appended claims, other documents (hard negatives) ----

# Runs of capitalised words *including* sentence-initial ones (subjects are often there).
_RUN_RE = re.compile(r"\b[A-Z][a-zA-Z'’-]+(?:\s+(?:of\s+)?[A-Z][a-zA-Z'’-]+)*")
_CONTENT_RE = re.compile(r"[A-Za-z]{4,}")
_SWAP_STOP = frozenset(w.lower() for w in _NOT_NAMES)
# Verbs that take an agent and a patient: "A beat B" -> "B beat A" changes who did what.
_ROLE_VERBS = frozenset(
    [
        "beat",
        "beats",
        "defeated",
        "defeats",
        "bought",
        "buys",
        "acquired",
        "acquires",
        "sold",
        "sells",
        "paid",
        "pays",
        "hired",
        "hires",
        "fired",
        "fires",
        "sued",
        "sues",
        "replaced",
        "replaces",
        "identified",
        "identifies",
        "helped",
        "helps",
        "thanked",
        "thanks",
        "attacked",
        "attacks",
        "followed",
        "follows",
        "invited",
        "invites",
        "interviewed",
        "interviews",
        "supplied",
        "supplies",
        "funded",
        "funds",
        "joined",
        "joins",
        "overtook",
        "overtakes",
        "succeeded",
        "succeeds",
        "trained",
        "trains",
        "visited",
        "visits",
        "called",
        "calls",
        "met",
        "meets",
        "employed",
        "employs",
        "owns",
        "owned",
        "leads",
        "led",
        "told",
        "tells",
        "warned",
        "warns",
        "blamed",
        "blames",
        "praised",
        "praises",
        "criticised",
        "criticized",
        "criticises",
        "criticizes",
        "signed",
        "signs",
        "taught",
        "teaches",
        "asked",
        "asks",
        "chose",
        "chooses",
        "contacted",
        "contacts",
        "emailed",
        "emails",
        "texted",
        "texts",
        "phoned",
        "phones",
        "sent",
        "sends",
        "gave",
        "gives",
        "offered",
        "offers",
        "owes",
        "owed",
        "loves",
        "loved",
        "hates",
        "hated",
        "likes",
        "liked",
        "supports",
        "supported",
        "accused",
        "accuses",
        "rescued",
        "rescues",
        "saved",
        "saves",
        "treated",
        "treats",
        "examined",
        "examines",
        "managed",
        "manages",
        "coached",
        "coaches",
        "released",
        "releases",
        "appointed",
        "appoints",
        "elected",
        "elects",
        "nominated",
        "nominates",
        "endorsed",
        "endorses",
        "challenged",
        "challenges",
        "outscored",
        "trailed",
        "trails",
        "preceded",
        "precedes",
        "hosted",
        "hosts",
        "reminds",
        "reminded",
        "convinced",
        "convinces",
        "persuaded",
        "persuades",
        "teases",
        "teased",
        "congratulates",
        "congratulated",
        "questions",
        "questioned",
        "informed",
        "informs",
        "married",
        "marries",
        "killed",
        "kills",
        "arrested",
        "arrests",
        "shot",
        "shoots",
        "defends",
        "defended",
        "recommended",
        "recommends",
    ]
)
_PATIENT_STOP = frozenset(
    ("in", "on", "at", "for", "from", "to", "with", "after", "by", "and", "as", "last", "this",
     "next", "since", "before", "during", "of", "into", "over", "about", "under")
)  # fmt: skip
_DETERMINERS = ("The", "A", "An", "Its", "His", "Her", "Their", "Our", "My")
_LOWER_DETERMINERS = frozenset(("the", "a", "an", "its", "his", "her", "their", "our", "my"))
# Words that open a clause, and punctuation that closes one: a noun phrase never spans them.
_CLAUSE_WORDS = frozenset(
    ("that", "who", "which", "whose", "whom", "when", "where", "while", "if", "because", "so",
     "but", "or", "said", "says", "than", "as", "and", "not", "will", "would", "could", "should",
     "can", "may", "might", "had", "has", "have", "was", "were", "is", "are", "be", "been", "to")
)  # fmt: skip
_CLAUSE_END = frozenset(",.;:!?)")
_PERSONAL = frozenset(
    ("i", "me", "you", "he", "him", "she", "her", "it", "we", "us", "they", "them", "himself",
     "herself", "itself", "themselves", "everyone", "someone", "nobody")
)  # fmt: skip


def _runs(text: str) -> list[tuple[int, int, str]]:
    """Capitalised word runs anywhere in ``text`` (sentence starts included), minus stopwords."""
    out = []
    for m in _RUN_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(0)))
        while words and words[0].group(0).lower() in _SWAP_STOP:
            words = words[1:]
        if not words:
            continue
        start, end = m.start() + words[0].start(), m.start() + words[-1].end()
        if end - start >= 3:
            out.append((start, end, text[start:end]))
    return out


def _exchange(text: str, a: tuple[int, int, str], b: tuple[int, int, str]) -> str:
    (s1, e1, x), (s2, e2, y) = sorted((a, b))
    return text[:s1] + y + text[e1:s2] + x + text[e2:]


def perturb_swap(text: str, rng: random.Random) -> str | None:
    """Exchange two different names, or two different numbers, of ``text`` with each other.

    Every word of the result is in the source, so novelty features cannot see the change: only
    which name (or number) goes with which fact has moved.

    Returns:
        The text with two spans exchanged, or ``None`` when it has fewer than two distinct ones.
    """
    nums = [(m.start(), m.end(), m.group(0)) for m in _NUM_RE.finditer(text)]
    names = _runs(text)
    options = []
    for spans in (names, nums):
        pairs = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a[2] != b[2]]
        if pairs:
            options.append(pairs)
    if not options:
        return None
    a, b = rng.choice(rng.choice(options))
    out = _exchange(text, a, b)
    return out if out != text else None


def _plain(w: str) -> bool:
    """A lower-case word that can sit inside a noun phrase (no adverb, clause word or pronoun)."""
    core = w.rstrip(",.;:!?")
    return (
        core.isalpha()
        and core.islower()
        and not core.endswith("ly")
        and core not in _CLAUSE_WORDS
        and core not in _PATIENT_STOP
        and core not in _PERSONAL
    )


def _is_name(w: str) -> bool:
    core = w.rstrip(",.;:!?")
    return core[:1].isupper() and core.isalpha() and core not in _NOT_NAMES and not core.isupper()


def _phrase_before(words: list[re.Match[str]], i: int) -> int | None:
    """Index of the first word of the noun phrase that ends just before ``words[i]``.

    A name ("Greenway Construction", "the Met Police") or a determiner with up to three plain
    words ("the council"), so a clause or an adverb is never taken for an agent.
    """
    k = i - 1
    if _is_name(words[k].group(0)):
        while k > 0 and i - k < 4 and _is_name(words[k - 1].group(0)):
            k -= 1
    else:
        while k >= 0 and i - k <= 3 and _plain(words[k].group(0)):
            k -= 1
        if k == i - 1:
            return None
        k += 1  # the first plain word
    if k > 0 and words[k - 1].group(0).lower() in _LOWER_DETERMINERS:
        k -= 1
    first = words[k].group(0)
    if not (_is_name(first) or first.lower() in _LOWER_DETERMINERS):
        return None
    return k if k == 0 or _ends_phrase(words[k - 1].group(0)) else None


def _ends_phrase(w: str) -> bool:
    """Can a noun phrase start right after ``w`` (punctuation, a preposition, a clause word)?"""
    low = w.lower()
    opens = (low in _PATIENT_STOP or low in _CLAUSE_WORDS) and low not in ("and", "or", "of")
    return w[-1] in _CLAUSE_END or opens


def _phrase_after(words: list[re.Match[str]], i: int) -> int | None:
    """Index one past the noun phrase that starts just after ``words[i]``.

    A name, or a determiner with up to three plain words ("the site"), ending at punctuation;
    ``None`` when what follows would continue the phrase ("the Norwegian studio Artplant").
    """
    j = i + 1
    det = words[j].group(0).lower() in _LOWER_DETERMINERS
    ok = _is_name if not det or _is_name(words[min(j + 1, len(words) - 1)].group(0)) else _plain
    if det:
        if words[j].group(0)[-1] in _CLAUSE_END:
            return None
        j += 1
    start = j
    while j < len(words) and j - start < 4 and ok(words[j].group(0)):
        j += 1
        if words[j - 1].group(0)[-1] in _CLAUSE_END:
            return j
    if j == start:
        return None
    # The phrase must be complete: what follows may not continue it ("the Norwegian studio").
    nxt = words[j].group(0) if j < len(words) else ""
    done = not nxt or nxt[:1].isdigit() or (_ends_phrase(nxt) and nxt.lower() != "of")
    return j if done else None


def perturb_roles(text: str, rng: random.Random) -> str | None:
    """Reverse agent and patient around a transitive verb: "A beat B ..." -> "B beat A ...".

    The agent is the noun phrase just before the verb, the patient the one just after it (see
    :func:`_phrase_before` and :func:`_phrase_after`); everything else stays, so the result
    reads as fluently as the source and only who did what to whom has changed.

    Returns:
        The reversed text, or ``None`` when no such verb with both sides is found.
    """
    if sum(c.isupper() for c in text) > 0.5 * sum(c.isalpha() for c in text):
        return None  # headlines in capitals: no case to tell names from words
    words = list(re.finditer(r"\S+", text))
    hits = [
        i
        for i, w in enumerate(words)
        if 0 < i < len(words) - 1
        and w.group(0) in _ROLE_VERBS
        and words[i - 1].group(0)[-1] not in _CLAUSE_END
    ]
    rng.shuffle(hits)
    for i in hits:
        first, end = _phrase_before(words, i), _phrase_after(words, i)
        if first is None or end is None:
            continue
        a0, a1 = words[first].start(), words[i - 1].end()
        p0 = words[i + 1].start()
        patient = text[p0 : words[end - 1].end()].rstrip(",.;:!?")
        agent = text[a0:a1]
        if patient.lower() == agent.lower():
            continue
        at_start = first == 0
        new_agent = _match_case(patient, agent) if at_start else patient
        lower = agent.split()[0] in _DETERMINERS and at_start
        new_patient = agent[:1].lower() + agent[1:] if lower else agent
        out = text[:a0] + new_agent + text[a1:p0] + new_patient + text[p0 + len(patient) :]
        if out != text:
            return out
    return None


def _content(text: str) -> set[str]:
    return {w.lower() for w in _CONTENT_RE.findall(text)}


def similar_sentence(
    document: str, others: Sequence[str], rng: random.Random, *, sample: int = 40
) -> str | None:
    """A sentence from another document on a similar topic, that ``document`` does not contain.

    Draws ``sample`` candidate documents, keeps the one sharing the most content words with
    ``document``, and returns its sentence that overlaps ``document`` most while still bringing at
    least two content words ``document`` lacks (so it is not a paraphrase of it).

    Returns:
        The sentence, or ``None`` when no candidate qualifies.
    """
    if not others:
        return None
    words = _content(document)
    cands = [d for d in rng.sample(list(others), min(sample, len(others))) if d != document]
    best = max(cands, key=lambda d: len(words & _content(d)), default=None)
    if best is None:
        return None
    scored = []
    for sent in _sentences(best):
        c = _content(sent)
        if len(c - words) >= 2 and sent not in document:
            scored.append((len(c & words), sent))
    return max(scored)[1] if scored else None


# ---- consistent rewrites (positives) ----

_CLAUSE_RES = (
    re.compile(r"\s*\([^)]*\)"),  # a parenthesis
    re.compile(r",\s+(?:who|which|whose|where)\b[^,]*,"),  # a relative clause between commas
    re.compile(r",\s+(?:according to|the [a-z]+ said|he said|she said|they said)[^,.]*(?=[,.])"),
)
_DATE_PHRASE_RE = re.compile(
    r"\s+(?:on|in|last|this|next|by|since|until)\s+(?:"
    + "|".join(_WEEKDAYS + _MONTHS)
    + r"|(?:19|20)\d\d)\b(?:\s+\d{1,2})?(?:,?\s+(?:19|20)\d\d)?"
)


def compress_sentence(sentence: str, rng: random.Random) -> str | None:
    """Drop one clause the sentence can lose without changing what it says about the rest.

    Candidates: a parenthesis, a relative clause between commas, an attribution ("..., he said"),
    a date phrase, or everything after the last comma when at least six words remain.

    Returns:
        The shorter sentence, or ``None`` when nothing can be dropped.
    """
    options = []
    for rx in (*_CLAUSE_RES, _DATE_PHRASE_RE):
        m = rx.search(sentence)
        if m:
            options.append(sentence[: m.start()] + sentence[m.end() :])
    if "," in sentence:
        head = sentence[: sentence.rfind(",")].rstrip()
        if len(head.split()) >= 6:
            options.append(head + ".")
    options = [o for o in options if len(o.split()) >= 4 and o != sentence]
    return rng.choice(options) if options else None


def fuse_sentences(first: str, second: str) -> str:
    """Join two document sentences into one ("A. B." -> "A, and b.")."""
    head = first.rstrip().rstrip(".!?")
    words = second.split()
    tail = second
    if words and words[0] in ("The", "A", "An", "It", "They", "This", "He", "She", "We"):
        tail = second[:1].lower() + second[1:]
    return f"{head}, and {tail}"


def generalise_sentence(sentence: str, rng: random.Random) -> str | None:
    """Make a sentence vaguer but still true: a date phrase dropped or a number made unspecific.

    Returns:
        The generalised sentence, or ``None`` when it has no date phrase or number to blur.
    """
    options = []
    m = _DATE_PHRASE_RE.search(sentence)
    if m:
        options.append(sentence[: m.start()] + sentence[m.end() :])
    # A count followed by a word ("120 new homes" -> "several new homes"), never a year.
    nums = [
        n
        for n in _NUM_RE.finditer(sentence)
        if not re.fullmatch(r"1[0-9]\d\d|20\d\d", n.group(0))
        and re.match(r" [a-z]", sentence[n.end() : n.end() + 2])
        and sentence[n.start() - 1 : n.start()] not in ("$", "€", "£")
    ]
    if nums:
        n = rng.choice(nums)
        options.append(_replace_span(sentence, n.start(), n.end(), "several"))
    options = [o for o in options if o != sentence]
    return rng.choice(options) if options else None


def positive_rewrite(document: str, rng: random.Random) -> tuple[str, str] | None:
    """A consistent summary made from the document: copied, compressed, fused or generalised.

    Returns:
        ``(summary, kind)`` with kind ``"copied"``, ``"compressed"``, ``"fused"`` or
        ``"generalised"``, or ``None`` when the document has no usable sentence.
    """
    sents = _sentences(document)
    if not sents:
        return None
    i = rng.randrange(len(sents))
    s = sents[i]
    u = rng.random()
    if u < 0.3 and i + 1 < len(sents) and len((s + sents[i + 1]).split()) <= 60:
        return fuse_sentences(s, sents[i + 1]), "fused"
    if u < 0.6:
        out = compress_sentence(s, rng)
        if out:
            return out, "compressed"
    if u < 0.8:
        out = generalise_sentence(s, rng)
        if out:
            return out, "generalised"
    return s, "copied"


Perturb = Callable[[str, str, random.Random, Sequence[str]], "str | None"]
_PERTURBATIONS: dict[str, Perturb] = {
    "number": lambda t, d, r, p: perturb_number(t, d, r),
    "entity": perturb_entity,
    "antonym": lambda t, d, r, p: perturb_antonym(t, r),
    "negation": lambda t, d, r, p: perturb_negation(t, r),
    "date": lambda t, d, r, p: perturb_date(t, r),
    "pronoun": lambda t, d, r, p: perturb_pronoun(t, r),
    "swap": lambda t, d, r, p: perturb_swap(t, r),
    "roles": lambda t, d, r, p: perturb_roles(t, r),
}
NEGATIVE_KINDS: tuple[str, ...] = (*_PERTURBATIONS, "appended", "similar", "unrelated")
POSITIVE_KINDS: tuple[str, ...] = ("copied", "compressed", "fused", "generalised")


def augment_rows(
    rows: Sequence[Row],
    *,
    ratio: float = 1.0,
    seed: int = 0,
    positive_share: float = 0.25,
    unrelated_share: float = 0.1,
) -> list[tuple[Row, str]]:
    """Make about ``ratio * len(rows)`` synthetic ``(document, summary, label)`` rows.

    Positives (``positive_share``) are consistent rewrites of document sentences
    (:func:`positive_rewrite`: copied, compressed, fused, generalised), so copying is *not* a sign
    of a hallucination. Negatives change one fact of a source text, and the source is, in equal
    parts, a document sentence (an extractive-looking negative) or a consistent human summary of
    the document (an abstractive one): a number, a name (one of the same document or an absent
    one), an antonym, a negation, a date, a pronoun, two names or numbers exchanged, agent and
    patient reversed; or a supported sentence with an unsupported one appended (from a similar
    document). ``unrelated_share`` pairs a document with a sentence of a *similar* other document
    or another document's summary. Every synthetic row keeps its source row's document, so
    document-grouped folds stay leak-free.

    Args:
        rows: Training rows ``(document, summary, label)``; only their documents and their
            consistent summaries are used.
        ratio: Synthetic rows per input row (0 gives none).
        seed: Seed; the output is a pure function of the inputs.
        positive_share: Share of synthetic rows that are consistent rewrites.
        unrelated_share: Share that pair a document with another document's text.

    Returns:
        ``((document, summary, label), kind)`` tuples; ``kind`` is one of
        :data:`NEGATIVE_KINDS` or :data:`POSITIVE_KINDS`.

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
            pos = positive_rewrite(doc, rng)
            if pos:
                out.append(((doc, pos[0], 1), pos[1]))
            continue
        if u < positive_share + unrelated_share:
            doc = rng.choice(docs)
            other = similar_sentence(doc, docs, rng) if rng.random() < 0.7 else None
            if other is not None:
                out.append(((doc, other, 0), "similar"))
                continue
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
        if rng.random() < 0.12:
            extra = similar_sentence(doc, docs, rng)
            if extra is not None:
                out.append(((doc, f"{src.rstrip()} {extra}", 0), "appended"))
                continue
        rng.shuffle(kinds)
        if rng.random() < 0.25:  # the kinds that rarely apply or are easily missed, first
            kinds.sort(key=lambda k: k not in ("swap", "roles", "negation", "number"))
        for kind in kinds:
            new = _PERTURBATIONS[kind](src, doc, rng, pool)
            if new is not None and new != src:
                out.append(((doc, new, 0), kind))
                break
    return out
