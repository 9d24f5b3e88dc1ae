"""The per-pair steps of :func:`~._features.analyze`, each measuring one kind of support.

Every step returns only the features it measures (the rest stay at :data:`MISSING`), so each
signal can be read and changed on its own. Steps see the summary as a :class:`SummaryView` and
the document only through its :class:`~._features.DocIndex`, built once per document. The
alignment steps also share which document sentences hold each summary stem
(:class:`Membership`) and each summary sentence's best-matching sentences
(:class:`SentenceAlignment`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from hallujudge._local._augment import CONTRARIES
from hallujudge._local._text import NEGATIONS, STOPWORDS, Token
from hallujudge._local._text import stem as _stem_uncached

if TYPE_CHECKING:
    from hallujudge._local._features import DocIndex

__all__ = [
    "FEM",
    "MASC",
    "MISSING",
    "Features",
    "SummaryView",
    "aligned_features",
    "cached_stem",
    "content_novelty",
    "date_novelty",
    "document_frequency",
    "gender_mismatch",
    "is_content",
    "key_bigram_breaks",
    "key_novelty",
    "length_features",
    "name_support",
    "self_repetition",
    "slot_conflicts",
    "stolen_contexts",
    "summary_view",
]

Features = dict[str, float]
MISSING = -1.0

FEM = frozenset(
    [
        "she",
        "her",
        "hers",
        "herself",
        "woman",
        "women",
        "girl",
        "girls",
        "mother",
        "daughter",
        "wife",
        "sister",
        "mrs",
        "ms",
    ]
)
MASC = frozenset(
    [
        "he",
        "him",
        "his",
        "himself",
        "man",
        "men",
        "boy",
        "boys",
        "father",
        "son",
        "husband",
        "brother",
        "mr",
    ]
)
_DATE_WORDS = frozenset(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
     "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "yesterday", "today", "tomorrow")
)  # fmt: skip
_YEAR_RE = re.compile(r"(?:19|20)\d\d")


@lru_cache(maxsize=1 << 16)
def cached_stem(word: str) -> str:
    """:func:`~._text.stem`, memoised: documents repeat their words."""
    return _stem_uncached(word)


def is_content(tok: Token) -> bool:
    """Is ``tok`` a number or a non-stopword longer than one character?"""
    return tok.is_number or (tok.norm not in STOPWORDS and len(tok.norm) > 1)


def _is_present(tok: Token, doc: DocIndex) -> bool:
    """Does the document have ``tok``, as written or by stem?"""
    return tok.stem in doc.stems or tok.norm in doc.norms


# ---- the summary, grouped for the steps ----


@dataclass(frozen=True, slots=True)
class SummaryView:
    """The summary's tokens, grouped the ways the steps read them.

    Attributes:
        toks: All tokens, in order.
        content: Content tokens (:func:`is_content`), in order.
        is_entity: Per content token, whether it is (part of) a name.
        by_sent: All tokens of each summary sentence.
        content_by_sent: Content tokens of each summary sentence.
        ent_tokens: Content tokens that are names (never numbers).
        ent_starts: Start offsets of ``ent_tokens``.
        phrases: ``ent_tokens`` grouped into runs of adjacent words (multi-word names).
        phrase_of: Index in ``phrases`` per start offset of a name token.
        weight: IDF weight of a token.
    """

    toks: list[Token]
    content: list[Token]
    is_entity: list[bool]
    by_sent: list[list[Token]]
    content_by_sent: list[list[Token]]
    ent_tokens: list[Token]
    ent_starts: frozenset[int]
    phrases: list[list[Token]]
    phrase_of: dict[int, int]
    weight: Callable[[Token], float]

    def is_key(self, tok: Token) -> bool:
        """Is ``tok`` a number or (part of) a name?"""
        return tok.is_number or tok.start in self.ent_starts

    def same_name(self, a: Token, b: Token) -> bool:
        """Are ``a`` and ``b`` words of one name ("Alice Moreau")?"""
        return self.phrase_of.get(a.start, -1) == self.phrase_of.get(b.start, -2)


def summary_view(
    toks: list[Token],
    is_entity: Callable[[Token], bool],
    weight: Callable[[Token], float],
) -> SummaryView:
    """Group a non-empty summary's tokens into a :class:`SummaryView`.

    Args:
        toks: The summary's tokens, in order.
        is_entity: Whether a content token is (part of) a name.
        weight: IDF weight of a token.

    Returns:
        The view the steps read.
    """
    content = [t for t in toks if is_content(t)]
    ents = [is_entity(t) for t in content]
    n_sent = toks[-1].sent + 1
    by_sent: list[list[Token]] = [[] for _ in range(n_sent)]
    for t in toks:
        by_sent[t.sent].append(t)
    content_by_sent: list[list[Token]] = [[] for _ in range(n_sent)]
    for t in content:
        content_by_sent[t.sent].append(t)
    ent_tokens = [t for t, e in zip(content, ents, strict=True) if e and not t.is_number]
    phrases: list[list[Token]] = []
    for t in ent_tokens:
        if phrases and phrases[-1][-1].sent == t.sent and t.start - phrases[-1][-1].end <= 1:
            phrases[-1].append(t)
        else:
            phrases.append([t])
    phrase_of = {t.start: pid for pid, ph in enumerate(phrases) for t in ph}
    return SummaryView(
        toks=toks,
        content=content,
        is_entity=ents,
        by_sent=by_sent,
        content_by_sent=content_by_sent,
        ent_tokens=ent_tokens,
        ent_starts=frozenset(t.start for t in ent_tokens),
        phrases=phrases,
        phrase_of=phrase_of,
        weight=weight,
    )


# ---- lengths and token-level novelty ----


def length_features(toks: Sequence[Token], doc: DocIndex) -> Features:
    """Summary and document lengths: the only features an empty pair gets."""
    n_sum = len(toks)
    return {
        "log_sum_tokens": math.log1p(n_sum),
        "log_doc_tokens": math.log1p(doc.n_tokens),
        "len_ratio": n_sum / (doc.n_tokens + 1.0),
        "n_sum_sentences": float((toks[-1].sent + 1) if toks else 0),
    }


def content_novelty(
    s: SummaryView, doc: DocIndex, max_idf: float
) -> tuple[Features, list[tuple[Token, str]], float]:
    """Content words, numbers and names the document lacks, plain and IDF-weighted.

    Args:
        s: The summary.
        doc: The document.
        max_idf: The lexicon's largest IDF, which scales the weighted measures to ``[0, 1]``.

    Returns:
        The novelty features; every unsupported token with its span kind (``"number"``,
        ``"entity"`` or ``"word"``), in summary order; and the share of content tokens the
        document has (``nan`` when there are none).
    """
    raw_spans: list[tuple[Token, str]] = []
    novel_w = total_w = max_novel = 0.0
    n_novel = n_exact_novel = n_hard = 0
    for t, is_ent in zip(s.content, s.is_entity, strict=True):
        w = s.weight(t)
        total_w += w
        n_exact_novel += int(t.norm not in doc.norms)
        if _is_present(t, doc):
            continue
        n_novel += 1
        novel_w += w
        # A shared 5-letter prefix ("recapture"/"recaptured", "Kenya"/"Kenyans") is a
        # weaker kind of novelty than a word with no relative in the document.
        if t.is_number or len(t.norm) < 5 or t.norm[:5] not in doc.prefixes:
            n_hard += 1
        max_novel = max(max_novel, w)
        raw_spans.append((t, "number" if t.is_number else "entity" if is_ent else "word"))
    n_content = len(s.content)
    feats: Features = {
        "content_novel_count": float(n_novel),
        "idf_novel_sum": novel_w / max_idf,
        "hard_novel_frac": n_hard / n_content if n_content else MISSING,
        "max_novel_idf": max_novel / max_idf,
    }
    if n_content:
        feats["content_novel_frac"] = n_novel / n_content
        feats["idf_novel_frac"] = novel_w / total_w if total_w > 0 else 0.0
        feats["exact_novel_frac"] = n_exact_novel / n_content
    found = 1.0 - n_novel / n_content if n_content else math.nan
    return feats, raw_spans, found


def document_frequency(s: SummaryView, doc: DocIndex, max_idf: float) -> Features:
    """How often the document repeats the summary's content words, and how rare they are.

    Args:
        s: The summary.
        doc: The document.
        max_idf: The lexicon's largest IDF, which scales the mean IDF to ``[0, 1]``.

    Returns:
        The features; none when the summary has no content words.
    """
    if not s.content:
        return {}
    n = len(s.content)
    log_counts = [math.log1p(doc.stems.get(t.stem, 0)) for t in s.content]
    idfs = [s.weight(t) for t in s.content]
    return {
        "mean_log_doc_count": sum(log_counts) / n,
        "min_log_doc_count": min(log_counts),
        "mean_idf_content": sum(idfs) / n / max_idf,
    }


def key_novelty(s: SummaryView, doc: DocIndex) -> Features:
    """How many numbers and names the summary has, and how many the document lacks."""
    nums = sum(1 for t in s.content if t.is_number)
    num_novel = sum(1 for t in s.content if t.is_number and not _is_present(t, doc))
    ents = len(s.ent_tokens)
    ent_novel = sum(1 for t in s.ent_tokens if not _is_present(t, doc))
    return {
        "num_count": float(nums),
        "num_novel_count": float(num_novel),
        "num_novel_frac": num_novel / nums if nums else MISSING,
        "ent_count": float(ents),
        "ent_novel_count": float(ent_novel),
        "ent_novel_frac": ent_novel / ents if ents else MISSING,
    }


def date_novelty(s: SummaryView, doc: DocIndex) -> Features:
    """A weekday, month or year the document never mentions ("on Thursday" for "on Tuesday")."""
    count = sum(
        1
        for t in s.toks
        if (t.norm in _DATE_WORDS or _YEAR_RE.fullmatch(t.norm)) and t.norm not in doc.norms
    )
    return {"date_novel_count": float(count)}


def name_support(s: SummaryView, doc: DocIndex) -> Features:
    """Multi-word names the document never has whole, and how central the found names are."""
    feats: Features = {}
    # All words of the name are in the document, but never next to each other.
    multi = [p for p in s.phrases if len(p) > 1 and all(x.stem in doc.stems for x in p)]
    if multi:
        bad = sum(
            1
            for p in multi
            if not all((a.stem, b.stem) in doc.bigrams for a, b in itertools.pairwise(p))
        )
        feats["ent_phrase_novel_frac"] = bad / len(multi)
    # Salience of the supported names: generated summaries pick up side characters.
    sal = [math.log1p(doc.stems.get(t.stem, 0)) for t in s.ent_tokens if t.stem in doc.stems]
    if sal:
        feats["ent_salience_min"] = min(sal)
        feats["ent_salience_mean"] = sum(sal) / len(sal)
    # A name that is half in the document ("James Murdoch" when the document only has "Murdoch",
    # "Cardiff City" when it has "Cardiff") is a typical generated-summary error.
    feats["ent_phrase_partial"] = float(
        sum(
            1
            for p in s.phrases
            if len(p) > 1
            and any(x.stem in doc.stems for x in p)
            and not all(x.stem in doc.stems for x in p)
        )
    )
    return feats


def self_repetition(s: SummaryView) -> Features:
    """Degenerate repetition of a content word within the summary (a generation artefact)."""
    stems = [t.stem for t in s.content if not t.is_number]
    return {"self_repeat": float(len(stems) - len(set(stems)))}


# ---- contradictions read off the document's word slots, bigrams and pronouns ----


def slot_conflicts(s: SummaryView, doc: DocIndex) -> Features:
    """Substitutions: 1-2 unsupported content words in a slot the document fills differently.

    The neighbours frame the slot: "University of Oxford tested" vs "University of Tarland
    tested", "rejected plans" vs "approved plans", "cost 13 million" vs "3.1 million".
    """
    conflicts = 0
    for c in s.content_by_sent:
        i = 1
        while i < len(c) - 1:
            if c[i].stem in doc.stems:
                i += 1
                continue
            j = i + 1
            if j < len(c) - 1 and c[j].stem not in doc.stems:
                j += 1
            if j - i <= 2 and j < len(c) and (c[i - 1].stem, c[j].stem) in doc.gaps:
                conflicts += 1
            i = j
    return {"slot_conflict": float(conflicts)}


def key_bigram_breaks(s: SummaryView, doc: DocIndex) -> Features:
    """Names and numbers in new company: adjacent in the summary, never in the document.

    Both words of the summary bigram, one of them a name or number, are in the document ("Tom
    Baker scored" where it has "Marco Silva scored" and "defender Tom Baker").
    """
    breaks = checked = 0
    for toks in s.by_sent:
        for x, y in itertools.pairwise(toks):
            if not (s.is_key(x) or s.is_key(y)):
                continue
            if x.stem not in doc.stems or y.stem not in doc.stems:
                continue
            checked += 1
            breaks += int((x.stem, y.stem) not in doc.bigrams)
    return {
        "key_bigram_break": float(breaks),
        "key_bigram_break_frac": breaks / checked if checked else MISSING,
    }


def _stolen(
    c: Sequence[Token], i: int, s: SummaryView, doc: DocIndex
) -> tuple[Token, Token] | None:
    """Has ``c[i]`` taken a neighbour that the document gives to a like word of the sentence?

    "Striker Tom Baker scored" where the document has "Striker Marco Silva scored" and "defender
    Tom Baker": "striker" is never next to "tom" there, but is next to "marco", which the summary
    sentence also has. Only like words compete (a name with a name, a number with a number, a
    plain word with a plain word) for a plain-word neighbour: paraphrases and fusions keep a
    word with its own company or bring in new company, exchanges hand it to a rival.

    Returns:
        ``(neighbour, rival)`` ("striker", "marco") when it has, else ``None``.
    """
    t = c[i]
    key = s.is_key(t)
    for j, before in ((i - 1, True), (i + 1, False)):
        if not 0 <= j < len(c):
            continue
        u = c[j]
        if s.is_key(u) or u.stem == t.stem or u.stem not in doc.stems:
            continue
        if ((u.stem, t.stem) if before else (t.stem, u.stem)) in doc.near:
            continue
        for o in c:
            if o.stem in (t.stem, u.stem) or s.is_key(o) != key or s.same_name(o, t):
                continue
            if key and o.is_number != t.is_number:
                continue
            if ((u.stem, o.stem) if before else (o.stem, u.stem)) in doc.near:
                return u, o
    return None


def stolen_contexts(
    s: SummaryView, doc: DocIndex
) -> tuple[Features, tuple[tuple[str, str, str], ...]]:
    """Words of the document whose neighbours in the summary belong, there, to another word.

    Exchanged names and numbers and reversed roles leave every word in the document, so no
    novelty feature sees them; this counts, per summary sentence, the present names/numbers
    (``key_context_stolen``) and other content words (``word_context_stolen``) whose summary
    neighbour sits, in the document, next to another word of the same summary sentence instead.

    Returns:
        The two counts, and up to three names/numbers that moved, as written:
        ``(word, neighbour, rival)``.
    """
    keys = words = 0
    moved: list[tuple[str, str, str]] = []
    for c in s.content_by_sent:
        for i, t in enumerate(c):
            if t.stem not in doc.stems or (hit := _stolen(c, i, s, doc)) is None:
                continue
            if not s.is_key(t):
                words += 1
                continue
            keys += 1
            if len(moved) < 3:
                moved.append((_name_text(t, s), hit[0].text, _name_text(hit[1], s)))
    return {"key_context_stolen": float(keys), "word_context_stolen": float(words)}, tuple(moved)


def _name_text(t: Token, s: SummaryView) -> str:
    """The whole name a token belongs to ("Tom Baker" for "Tom"), or the token itself."""
    pid = s.phrase_of.get(t.start)
    return t.text if pid is None else " ".join(x.text for x in s.phrases[pid])


def gender_mismatch(s: SummaryView, doc: DocIndex) -> Features:
    """Gendered pronouns: "she" in the summary of a document that only says "he"."""
    s_fem = sum(1 for t in s.toks if t.norm in FEM)
    s_masc = sum(1 for t in s.toks if t.norm in MASC)
    feats: Features = {"gender_fem_sum": float(s_fem - s_masc)}
    if s_fem + s_masc and doc.fem + doc.masc:
        feats["gender_mismatch"] = abs(s_fem / (s_fem + s_masc) - doc.fem / (doc.fem + doc.masc))
    return feats


# ---- alignment of summary sentences to document sentences ----


@dataclass(frozen=True, slots=True)
class Membership:
    """Which document sentences hold each summary content stem the document has.

    An inverted index restricted to the summary's vocabulary, so building it is linear in the
    document.

    Attributes:
        row: Row index per stem.
        member: ``[stem, sentence]``: the sentence has the stem.
        win2: ``[stem, start]``: the 2-sentence window starting there has the stem.
        win3: The same for 3-sentence windows.
        n_sent: Number of document sentences.
        sents: Per row, the sentences that have the stem (``member`` as sets: the pairwise
            "do these meet?" tests are set operations, far cheaper than array ones).
        near_sents: Per row, the sentences that have the stem or whose neighbour has it.
    """

    row: dict[str, int]
    member: npt.NDArray[np.bool_]
    win2: npt.NDArray[np.bool_]
    win3: npt.NDArray[np.bool_]
    n_sent: int
    sents: list[frozenset[int]]
    near_sents: list[frozenset[int]]


def _membership(s: SummaryView, doc: DocIndex) -> Membership | None:
    """The :class:`Membership` of the summary's stems; ``None`` when the document has none."""
    present = sorted({t.stem for t in s.content if t.stem in doc.stems})
    if not present:
        return None
    row = {st: i for i, st in enumerate(present)}
    member = np.zeros((len(present), len(doc.sent_stems)), dtype=bool)
    wanted = set(present)
    holders: list[set[int]] = [set() for _ in present]
    for j, sent in enumerate(doc.sent_stems):
        for st in sent & wanted:
            member[row[st], j] = True
            holders[row[st]].add(j)
    win2 = member.copy()
    win2[:, :-1] |= member[:, 1:]
    win3 = win2.copy()
    win3[:, :-2] |= member[:, 2:]
    sents = [frozenset(h) for h in holders]
    near_sents = [frozenset(k for j in h for k in (j - 1, j, j + 1)) for h in holders]
    return Membership(row, member, win2, win3, len(doc.sent_stems), sents, near_sents)


@dataclass(frozen=True, slots=True)
class SentenceAlignment:
    """A summary sentence and the document passages that best cover it.

    Attributes:
        toks: The sentence's tokens.
        content: Its content tokens (never empty).
        best1: The best single document sentence.
        best2: Start of the best 2-sentence window.
        cov1: IDF-weighted share of the content covered by ``best1``.
        cov2: The same for ``best2``'s window.
        cov3: The same for the best 3-sentence window.
        pos: Relative position of ``best1`` in the document (0 = first sentence).
    """

    toks: list[Token]
    content: list[Token]
    best1: int
    best2: int
    cov1: float
    cov2: float
    cov3: float
    pos: float


def _align_sentences(s: SummaryView, m: Membership) -> list[SentenceAlignment]:
    """Align every summary sentence that has content words to its best document passages."""
    out: list[SentenceAlignment] = []
    for toks, c in zip(s.by_sent, s.content_by_sent, strict=True):
        if not c:
            continue
        w_all = np.array([s.weight(t) for t in c])
        idx = [m.row.get(t.stem, -1) for t in c]
        tot = float(w_all.sum())
        sc = np.zeros(m.n_sent)
        sc2 = np.zeros(m.n_sent)
        sc3 = np.zeros(m.n_sent)
        seen: set[int] = set()
        for w, r in zip(w_all, idx, strict=True):
            if r < 0 or r in seen:
                continue
            seen.add(r)
            sc += w * m.member[r]
            sc2 += w * m.win2[r]
            sc3 += w * m.win3[r]
        b1 = int(np.argmax(sc))
        b2 = int(np.argmax(sc2))
        cov1, cov2 = float(sc[b1]) / tot, float(sc2[b2]) / tot
        cov3 = float(sc3.max()) / tot
        out.append(SentenceAlignment(toks, c, b1, b2, cov1, cov2, cov3, b1 / max(m.n_sent - 1, 1)))
    return out


def aligned_features(
    s: SummaryView, doc: DocIndex
) -> tuple[Features, float, tuple[tuple[str, str], ...]]:
    """Every feature measured against the document passages aligned to the summary.

    Args:
        s: The summary.
        doc: The document.

    Returns:
        The features (none when the document has no summary content word); the lowest
        coverage of a summary sentence by its best 2-sentence window (``nan`` then); and up to
        three pairs of summary names/numbers that never meet in the document.
    """
    m = _membership(s, doc)
    if m is None:
        return {}, math.nan, ()
    aligned = _align_sentences(s, m)
    feats = _coverage(aligned)
    feats.update(_negations(aligned, doc))
    feats.update(_order_inversion(aligned, doc))
    feats.update(_antonym_conflicts(aligned, doc))
    feats.update(_keys_outside_window(aligned, s, m))
    feats.update(_first_mentions(s, m))
    feats.update(_content_pair_cooccurrence(s, m))
    key = [t for t in s.content if s.is_key(t) and t.stem in m.row]
    pair_feats, unlinked = _key_pair_cooccurrence(key, s, m)
    feats.update(pair_feats)
    feats.update(_key_contexts(s, m))
    feats.update(_key_order_flips(key, s, m, doc))
    return feats, feats.get("align2_min", math.nan), unlinked


def _coverage(aligned: Sequence[SentenceAlignment]) -> Features:
    """How well, and where, the document covers the summary sentences."""
    if not aligned:
        return {}
    cov1 = [a.cov1 for a in aligned]
    pos = [a.pos for a in aligned]
    return {
        "align1_min": min(cov1),
        "align1_mean": sum(cov1) / len(cov1),
        "align2_min": min(a.cov2 for a in aligned),
        "align3_min": min(a.cov3 for a in aligned),
        "align_pos_mean": sum(pos) / len(pos),
        "align_pos_min": min(pos),
    }


def _negations(aligned: Sequence[SentenceAlignment], doc: DocIndex) -> Features:
    """Negation in the summary sentences against their aligned passages."""
    n_sent = len(doc.sent_stems)
    neg_sum = neg_mismatch = neg_added = neg_removed = 0
    for a in aligned:
        s_neg = any(t.norm in NEGATIONS for t in a.toks)
        neg_sum += int(s_neg)
        d_neg = doc.sent_neg[a.best2] or (a.best2 + 1 < n_sent and doc.sent_neg[a.best2 + 1])
        neg_mismatch += int(s_neg != d_neg)
        # Against the single best sentence: "had not objected" for "had objected" (added),
        # "the battery fits" for "does not fit" (removed).
        neg_added += int(s_neg and not doc.sent_neg[a.best1])
        neg_removed += int(not s_neg and doc.sent_neg[a.best1])
    return {
        "neg_sum": float(neg_sum),
        "neg_mismatch": float(neg_mismatch),
        "neg_added": float(neg_added),
        "neg_removed": float(neg_removed),
    }


def _inversions(content: Sequence[Token], order: dict[str, int]) -> float:
    """Share of discordant pairs between the summary's word order and the aligned sentence's.

    Counts pairs of distinct shared content words that appear in the opposite order in the
    document sentence: exchanged names ("Tom Baker scored ..., and Marco Silva added") and
    reversed roles ("Castleton beat Northfield") score high, copies and compressions zero.
    Needs three shared words; fewer gives 0.
    """
    seq: list[int] = []
    seen: set[str] = set()
    for t in content:
        pos = order.get(t.stem)
        if pos is not None and t.stem not in seen:
            seen.add(t.stem)
            seq.append(pos)
    n = len(seq)
    if n < 3:
        return 0.0
    discordant = sum(1 for i in range(n) for j in range(i + 1, n) if seq[i] > seq[j])
    return discordant / (n * (n - 1) / 2)


def _order_inversion(aligned: Sequence[SentenceAlignment], doc: DocIndex) -> Features:
    """The most reordered summary sentence, against its best document sentence."""
    inversion = 0.0
    for a in aligned:
        inversion = max(inversion, _inversions(a.content, doc.sent_order[a.best1]))
    return {"order_inversion": inversion}


def _antonym_conflicts(aligned: Sequence[SentenceAlignment], doc: DocIndex) -> Features:
    """Antonyms: "rejected" where the aligned passage says "approved" (and not "rejected")."""
    n_sent = len(doc.sent_stems)
    conflicts = 0
    for a in aligned:
        b2 = a.best2
        window = doc.sent_stems[b2] | (doc.sent_stems[b2 + 1] if b2 + 1 < n_sent else set())
        for t in a.toks:
            ants = CONTRARIES.get(t.norm)
            if ants and t.stem not in window and any(cached_stem(x) in window for x in ants):
                conflicts += 1
    return {"antonym_conflict": float(conflicts)}


# ---- names and numbers against the sentence membership ----


def _keys_outside_window(
    aligned: Sequence[SentenceAlignment], s: SummaryView, m: Membership
) -> Features:
    """Share of found names/numbers absent from the passage around their sentence's alignment."""
    outside = checked = 0
    for a in aligned:
        for t in a.content:
            if s.is_key(t):
                r = m.row.get(t.stem, -1)
                if r >= 0:
                    checked += 1
                    outside += int(not m.win3[r, max(a.best2 - 1, 0)])
    return {"ent_outside_window_frac": outside / checked if checked else MISSING}


def _first_mentions(s: SummaryView, m: Membership) -> Features:
    """Where the document first mentions each supported name (0 = first sentence)."""
    firsts = [
        min(m.sents[m.row[t.stem]]) / max(m.n_sent - 1, 1) for t in s.ent_tokens if t.stem in m.row
    ]
    return {"ent_first_pos_max": max(firsts)} if firsts else {}


def _content_pair_cooccurrence(s: SummaryView, m: Membership) -> Features:
    """Relational support: consecutive content words of a summary sentence should co-occur."""
    pairs = near_pairs = sent_pairs = 0
    for c in s.content_by_sent:
        rs = [m.row[t.stem] for t in c if t.stem in m.row]
        for ra, rb in itertools.pairwise(rs):
            if ra == rb:
                continue
            pairs += 1
            near_pairs += int(not m.sents[ra].isdisjoint(m.near_sents[rb]))
            sent_pairs += int(not m.sents[ra].isdisjoint(m.sents[rb]))
    if not pairs:
        return {}
    return {
        "content_pair_cooc_frac": near_pairs / pairs,
        "content_pair_sent_frac": sent_pairs / pairs,
    }


def _key_pairs(key: Sequence[Token], s: SummaryView, reach: int) -> Iterator[tuple[Token, Token]]:
    """Pairs of names/numbers of one summary sentence, at most ``reach`` keys apart.

    Words of one multi-word name ("Alice Moreau") and repeats of one stem are not paired.
    """
    for i, ka in enumerate(key):
        for kb in key[i + 1 : i + 1 + reach]:
            if ka.sent != kb.sent or ka.stem == kb.stem or s.same_name(ka, kb):
                continue
            yield ka, kb


def _key_pair_cooccurrence(
    key: Sequence[Token], s: SummaryView, m: Membership
) -> tuple[Features, tuple[tuple[str, str], ...]]:
    """Names and numbers: every pair within a summary sentence should meet in the document.

    Returns:
        The share of pairs that meet within a sentence either side, and up to three pairs
        (as written) that never do.
    """
    e_pairs = e_ok = 0
    unlinked: list[tuple[str, str]] = []
    for ka, kb in _key_pairs(key, s, 7):
        e_pairs += 1
        if not m.sents[m.row[ka.stem]].isdisjoint(m.near_sents[m.row[kb.stem]]):
            e_ok += 1
        elif len(unlinked) < 3:
            unlinked.append((ka.text, kb.text))
    return {"ent_pair_cooc_frac": e_ok / e_pairs if e_pairs else MISSING}, tuple(unlinked)


def _key_contexts(s: SummaryView, m: Membership) -> Features:
    """Do a found name's or number's neighbours (two either side) share a sentence with it?

    A number or name from the document "attached to a different noun" fails this.
    """
    num_ctx: list[float] = []
    ent_ctx: list[float] = []
    for c in s.content_by_sent:
        for i, t in enumerate(c):
            if not s.is_key(t) or t.stem not in m.row:
                continue
            nb = [
                u
                for u in c[max(0, i - 2) : i + 3]
                if u is not t and u.stem != t.stem and not s.same_name(t, u) and not u.is_number
            ]
            if not nb:
                continue
            mt = m.sents[m.row[t.stem]]
            ok = sum(1 for u in nb if u.stem in m.row and not mt.isdisjoint(m.sents[m.row[u.stem]]))
            (num_ctx if t.is_number else ent_ctx).append(ok / len(nb))
    return {
        "num_ctx_min": min(num_ctx) if num_ctx else MISSING,
        "ent_ctx_min": min(ent_ctx) if ent_ctx else MISSING,
    }


def _key_order_flips(
    key: Sequence[Token], s: SummaryView, m: Membership, doc: DocIndex
) -> Features:
    """Two names/numbers the document only ever has in the opposite order.

    "Castleton beat Northfield" for "Northfield beat Castleton".
    """
    flips = 0
    for ka, kb in _key_pairs(key, s, 5):
        both = sorted(m.sents[m.row[ka.stem]] & m.sents[m.row[kb.stem]])
        if not both:
            continue
        orders = doc.sent_order
        flips += int(not any(orders[j][ka.stem] < orders[j][kb.stem] for j in both[:20]))
    return {"key_order_flip": float(flips)}
