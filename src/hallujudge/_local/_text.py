"""Tokenisation, sentence splitting and normalisation for the offline judge.

Everything here is regex + stdlib so inference stays dependency-free and linear in the input size.
The tokenizer keeps character offsets for the summary (the judge reports spans) and copes with the
PTB-style, lower-cased CNN/DailyMail text found in FIB (``<t>`` tags, ``-lrb-``, `` `` ``).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "NEGATIONS",
    "NOT_CONTENT",
    "STOPWORDS",
    "Token",
    "cased_words",
    "hash_token",
    "normalize",
    "split_sentences",
    "stem",
    "tokenize",
]

# One alternation, tried left to right: tags and PTB brackets are separators, numbers keep their
# internal separators ("1,000", "3.5"), words keep internal apostrophes ("don't", "n't", "O'Neill").
_TOKEN_RE = re.compile(
    r"</?t>|-[lr][rsc]b-"
    r"|(?P<num>\d+(?:[.,:]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:['’](?![sS]\b)[^\W\d_]+)*)",
)
# Sentence boundaries: newlines, <t> tags, and terminal punctuation followed by space.
_SENT_SPLIT_RE = re.compile(r"\n+|</?t>|(?<=[.!?])[\"'”’)]*\s+")
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "prof",
        "gen",
        "col",
        "lt",
        "sgt",
        "rev",
        "gov",
        "sen",
        "rep",
        "no",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "u.s",
    ]
)

_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "billion": "1000000000",
    "first": "1",
    "second": "2",
    "third": "3",
    "half": "0.5",
    "dozen": "12",
}

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "said",
        "says",
        "say",
        "told",
        "tell",
        "new",
        "one",
        "also",
        "us",
        "may",
        "might",
        "must",
        "shall",
        "can't",
        "cannot",
        "won't",
        "don't",
        "didn't",
        "isn't",
        "wasn't",
        "n't",
        "ca",
        "wo",
        "'s",
        "’s",
        "mr",
        "mrs",
        "ms",
        "dr",
        "would've",
        "could've",
        "been",
        "year",
        "years",
        "people",
        "last",
        "first",
        "two",
        "get",
        "got",
        "make",
        "made",
        "like",
        "well",
        "many",
        "much",
        "even",
        "still",
        "back",
        "way",
        "since",
        "however",
        "including",
        "according",
    ]
)
# Normalised words of more than one character that are not content: the stopwords, less the
# number words ("two" is a number, so content). Content = a digit, or a longer word not in here,
# as :func:`~._detectors.is_content` decides for summary tokens.
NOT_CONTENT = STOPWORDS - frozenset(_NUMBER_WORDS)

NEGATIONS = frozenset(
    [
        "no",
        "not",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "without",
        "n't",
        "cannot",
        "can't",
        "won't",
        "don't",
        "didn't",
        "doesn't",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "hasn't",
        "haven't",
        "hadn't",
        "couldn't",
        "shouldn't",
        "wouldn't",
        "refused",
        "denied",
        "failed",
    ]
)


@dataclass(frozen=True, slots=True)
class Token:
    """A summary token with its character span in the original text.

    Attributes:
        start: Start offset (inclusive) in the original string.
        end: End offset (exclusive).
        text: Surface form as written.
        norm: Lower-cased, number-normalised form used for matching.
        stem: Crude stem of ``norm`` used for lenient matching.
        is_number: True for digits or number words.
        is_cap: True when the surface form starts with an upper-case letter.
        sent: Index of the sentence the token belongs to.
        sent_initial: True when the token is the first word of its sentence.
    """

    start: int
    end: int
    text: str
    norm: str
    stem: str
    is_number: bool
    is_cap: bool
    sent: int
    sent_initial: bool


@lru_cache(maxsize=1 << 16)
def normalize(word: str) -> str:
    """Lower-case a token, unify apostrophes and map number words and digits to one form."""
    w = word.lower().replace("’", "'")
    if w[0].isdigit():
        w = w.replace(",", "")
        if "." in w:
            w = w.rstrip("0").rstrip(".") or "0"
        return w
    return _NUMBER_WORDS.get(w, w)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Return a crude suffix-stripped stem (enough to match 'charged'/'charges'/'charging').

    One suffix is removed, then a trailing 'e' and a doubled final consonant, so that
    'phone'/'phones', 'stop'/'stopped' and 'charge'/'charging' meet.
    """
    n = len(word)
    if n <= 3 or not word[0].isalpha():
        return word
    base = word
    for suffix in ("ings", "ing", "ies", "ied", "edly", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and n - len(suffix) >= 3 and not word.endswith(("ss", "us", "is")):
            base = word[: n - len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(base) > 3 and base.endswith("e"):
        base = base[:-1]
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiouls":
        base = base[:-1]
    return _DEMONYM_STEMS.get(base, base)


# "Welsh" is supported by "Wales": demonyms match their place (applied to stems, both sides).
_DEMONYMS = {
    "welsh": "wales", "scottish": "scotland", "scots": "scotland", "english": "england",
    "irish": "ireland", "british": "britain", "french": "france", "german": "germany",
    "spanish": "spain", "italian": "italy", "chinese": "china", "russian": "russia",
    "indian": "india", "japanese": "japan", "australian": "australia", "canadian": "canada",
    "american": "america", "egyptian": "egypt", "israeli": "israel", "syrian": "syria",
    "iranian": "iran", "iraqi": "iraq", "turkish": "turkey", "greek": "greece",
    "dutch": "netherlands", "pakistani": "pakistan", "afghan": "afghanistan",
    "mexican": "mexico", "brazilian": "brazil", "european": "europe", "african": "africa",
    "nigerian": "nigeria", "libyan": "libya", "polish": "poland", "swedish": "sweden",
    "norwegian": "norway", "danish": "denmark", "ukrainian": "ukraine",
    "palestinian": "palestine", "korean": "korea", "cuban": "cuba", "belgian": "belgium",
    "swiss": "switzerland", "austrian": "austria", "portuguese": "portugal",
    "argentine": "argentina", "argentinian": "argentina", "kenyan": "kenya",
}  # fmt: skip
_DEMONYM_STEMS: dict[str, str] = {}
# Built with the uncached function so no pre-alias stem ends up memoised.
_DEMONYM_STEMS = {stem.__wrapped__(d): stem.__wrapped__(p) for d, p in _DEMONYMS.items()}


def hash_token(word: str, n_buckets: int) -> int:
    """Stable (process-independent) hash of a normalised token into ``n_buckets`` buckets."""
    return zlib.crc32(word.encode("utf-8", "surrogatepass")) % n_buckets


def split_sentences(text: str) -> list[str]:
    """Split text into sentences with a cheap regex; never returns empty strings."""
    out: list[str] = []
    pending = ""
    for part in _SENT_SPLIT_RE.split(text):
        if not part or part.isspace():
            continue
        part = pending + part if pending else part
        # Rejoin after abbreviations ("Mr. Smith") and initials ("J. K.").
        tail = part.rstrip()
        last = tail.rsplit(None, 1)[-1].lower() if tail else ""
        word = last[:-1].strip("\"'(")
        if tail.endswith(".") and word.isalpha() and (word in _ABBREV or len(word) == 1):
            pending = part + " "
            continue
        pending = ""
        out.append(part)
    if pending.strip():
        out.append(pending)
    return out


def cased_words(text: str) -> list[str]:
    """Word and number tokens of ``text`` as written (no normalisation)."""
    return [
        m.group("num") or m.group("word")
        for m in _TOKEN_RE.finditer(text)
        if m.group("num") or m.group("word")
    ]


def word_tokens(text: str) -> list[str]:
    """Normalised tokens of ``text`` without offsets (fast path for documents)."""
    # findall yields (num, word) per match; the uncaptured alternatives (<t> tags) give ("", "")
    return [normalize(num or word) for num, word in _TOKEN_RE.findall(text) if num or word]


@lru_cache(maxsize=1 << 16)
def _word_facts(word: str) -> tuple[str, str, bool, bool]:
    """A word's ``(norm, stem, is_number, is_cap)``, memoised: documents repeat their words."""
    norm = normalize(word)
    return norm, stem(norm), word[0].isdigit() or word.lower() in _NUMBER_WORDS, word[0].isupper()


def tokenize(text: str) -> list[Token]:
    """Tokenise ``text`` keeping character offsets and sentence membership."""
    tokens: list[Token] = []
    offset = 0
    sent = 0
    for sentence in split_sentences(text):
        base = text.find(sentence, offset)
        if base < 0:  # pragma: no cover - split_sentences only drops separators
            base = offset
        offset = base + len(sentence)
        first = True
        for m in _TOKEN_RE.finditer(sentence):
            if m.lastgroup is None:  # a <t> tag or a -lrb- bracket: no token
                continue
            g = m[0]
            norm, st, is_number, is_cap = _word_facts(g)
            tokens.append(
                Token(base + m.start(), base + m.end(), g, norm, st, is_number, is_cap, sent, first)
            )
            first = False
        if not first:
            sent += 1
    return tokens
