"""Feature extraction for the offline judge: how well is each part of the summary supported?

The features favour *alignment* signals over raw novelty, because a summary copied from the
document can still be wrong (taken out of context) while a faithful summary may paraphrase:

* novelty of content words, numbers and names, weighted by corpus IDF;
* alignment of every summary sentence to its best document sentence / 2- and 3-sentence window;
* relational support: do adjacent summary content words, and pairs of names/numbers, occur near
  each other in the document, or only far apart (a name in a different role)?
* negation and gendered-pronoun mismatches against the aligned sentences;
* names that are only half in the document ("James Murdoch" for "Murdoch"), and how central the
  supported names are to the document (generated summaries pick up side characters);
* lengths. Raw n-gram copy rates are deliberately *not* features: they reward copying, which is
  wrong for summaries lifted out of context, and they added nothing on validation data.

Runtime is linear in document length: the document is scanned once to build sets and an inverted
index restricted to the (short) summary's vocabulary.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from hallujudge._local._augment import CONTRARIES
from hallujudge._local._text import (
    NEGATIONS,
    STOPWORDS,
    Token,
    cased_words,
    hash_token,
    normalize,
    split_sentences,
    tokenize,
    word_tokens,
)
from hallujudge._local._text import stem as _stem_uncached

__all__ = [
    "FEATURE_MONOTONE",
    "FEATURE_NAMES",
    "IDF_BUCKETS",
    "Analysis",
    "DocIndex",
    "Lexicon",
    "Span",
    "analyze",
    "analyze_many",
    "build_lexicon",
    "featurize",
    "index_document",
]

IDF_BUCKETS = 1 << 18
_DOC_CACHE = 64
_MISSING = -1.0

FEATURE_NAMES: tuple[str, ...] = (
    "log_sum_tokens",
    "log_doc_tokens",
    "len_ratio",
    "n_sum_sentences",
    "content_novel_frac",
    "content_novel_count",
    "idf_novel_frac",
    "max_novel_idf",
    "exact_novel_frac",
    "num_count",
    "num_novel_count",
    "num_novel_frac",
    "ent_count",
    "ent_novel_count",
    "ent_novel_frac",
    "ent_phrase_novel_frac",
    "align1_min",
    "align1_mean",
    "align2_min",
    "align3_min",
    "align_pos_mean",
    "align_pos_min",
    "ent_pair_cooc_frac",
    "content_pair_cooc_frac",
    "content_pair_sent_frac",
    "ent_outside_window_frac",
    "neg_sum",
    "neg_mismatch",
    "gender_fem_sum",
    "gender_mismatch",
    "mean_log_doc_count",
    "min_log_doc_count",
    "mean_idf_content",
    "idf_novel_sum",
    "novel_span_count",
    "hard_novel_frac",
    "ent_phrase_partial",
    "self_repeat",
    "ent_salience_min",
    "ent_salience_mean",
    "ent_first_pos_max",
    "antonym_conflict",
    "num_ctx_min",
    "ent_ctx_min",
    "key_order_flip",
    "slot_conflict",
    "date_novel_count",
    "neg_added",
    "neg_removed",
    "order_inversion",
    "key_bigram_break",
    "key_bigram_break_frac",
)

# Direction in which a feature may move the log-odds of "consistent" (0 = free). Every measure of
# *unsupported content* is constrained: a larger share or count of summary content words, names
# or numbers absent from the document, a half-supported name, or a flipped negation, antonym or
# pronoun gender can never make a summary look *more* consistent. (On FIB the unconstrained trees
# had learned the opposite in places: abstractive references there carry more novel words than
# the system outputs they are paired with.) Alignment and length features stay free.
_DECREASING = (
    "content_novel_frac",
    "content_novel_count",
    "idf_novel_frac",
    "max_novel_idf",
    "exact_novel_frac",
    "num_novel_count",
    "num_novel_frac",
    "ent_novel_count",
    "ent_novel_frac",
    "ent_phrase_novel_frac",
    "idf_novel_sum",
    "novel_span_count",
    "hard_novel_frac",
    "ent_phrase_partial",
    "neg_mismatch",
    "gender_mismatch",
    "antonym_conflict",
    "slot_conflict",
    "key_order_flip",
    "date_novel_count",
    "neg_added",
    "neg_removed",
    "order_inversion",
    "key_bigram_break",
    "key_bigram_break_frac",
)
FEATURE_MONOTONE: tuple[int, ...] = tuple(-1 if n in _DECREASING else 0 for n in FEATURE_NAMES)

_FEM = frozenset(
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
_MASC = frozenset(
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
_CAP_RE = re.compile(r"\b[A-Z][\w'’-]*")
_DATE_WORDS = frozenset(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
     "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december", "yesterday", "today", "tomorrow")
)  # fmt: skip
_YEAR_RE = re.compile(r"(?:19|20)\d\d")


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    return _stem_uncached(word)


@dataclass(frozen=True, slots=True)
class Span:
    """An unsupported part of the summary.

    Attributes:
        start: Start character offset in the summary.
        end: End character offset (exclusive).
        kind: ``"number"``, ``"entity"`` or ``"word"``.
        text: The summary substring ``summary[start:end]``.
    """

    start: int
    end: int
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """Features of one (document, summary) pair plus the evidence used to explain them.

    Attributes:
        features: Vector aligned with :data:`FEATURE_NAMES`.
        spans: Unsupported words, numbers and names, in summary order.
        content_found: Share of summary content words found in the document (``nan`` if none).
        best_coverage: Lowest share of a summary sentence covered by its best document window.
        unlinked: Pairs of summary names/numbers that never occur near each other in the document.
    """

    features: npt.NDArray[np.float64]
    spans: tuple[Span, ...]
    content_found: float
    best_coverage: float
    unlinked: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Lexicon:
    """Corpus statistics the features need, as hashed tables (so no vocabulary is shipped).

    Attributes:
        idf: Smoothed IDF per hashed stem, ``log((N + 1) / (df + 1)) + 1``.
        cap: Per hashed lower-cased word, the share of its non-sentence-initial occurrences that
            are capitalised (-1 when never seen there). Lets the features recognise names even in
            lower-cased text ("london") and ordinary words at the start of a sentence ("Police").
    """

    idf: npt.NDArray[np.float32]
    cap: npt.NDArray[np.float32]

    @property
    def max_idf(self) -> float:
        """Largest IDF (that of an unseen word)."""
        return float(self.idf.max()) if self.idf.size else 1.0


def build_lexicon(documents: list[str]) -> Lexicon:
    """Build the hashed IDF and capitalisation tables from (unique) training documents."""
    df = np.zeros(IDF_BUCKETS, dtype=np.int64)
    seen = np.zeros(IDF_BUCKETS, dtype=np.int64)
    caps = np.zeros(IDF_BUCKETS, dtype=np.int64)
    unique = list(dict.fromkeys(documents))
    seen_c: Counter[int] = Counter()
    caps_c: Counter[int] = Counter()
    for doc in unique:
        buckets = {hash_token(_stem(w), IDF_BUCKETS) for w in word_tokens(doc)}
        if buckets:
            df[np.fromiter(buckets, dtype=np.int64, count=len(buckets))] += 1
        for sent in split_sentences(doc):
            for word in cased_words(sent)[1:]:
                b = hash_token(normalize(word), IDF_BUCKETS)
                seen_c[b] += 1
                if word[0].isupper():
                    caps_c[b] += 1
    for b, c in seen_c.items():
        seen[b] = c
    for b, c in caps_c.items():
        caps[b] = c
    n = len(unique)
    idf = (np.log((n + 1.0) / (df + 1.0)) + 1.0).astype(np.float32)
    cap = np.where(seen > 0, caps / np.maximum(seen, 1), -1.0).astype(np.float32)
    return Lexicon(idf, cap)


def _is_entity(
    t: Token,
    cap: npt.NDArray[np.float32],
    doc_caps: AbstractSet[str],
    caseless: bool,
) -> bool:
    """Is ``t`` (part of) a name?

    Mid-sentence capitals are names. A capitalised sentence-initial word is a name if the document
    capitalises it too, or the corpus mostly does. In caseless (lower-cased) text, fall back on the
    corpus capitalisation table alone, so "london" still counts.
    """
    if t.is_number or t.norm in STOPWORDS:
        return False
    if t.is_cap and not t.sent_initial:
        return True
    ratio = float(cap[hash_token(t.norm, IDF_BUCKETS)]) if cap.size else -1.0
    if t.is_cap:
        return t.norm in doc_caps or t.text.isupper() or ratio >= 0.5
    return caseless and ratio >= 0.5


def _is_content(tok: Token) -> bool:
    return tok.is_number or (tok.norm not in STOPWORDS and len(tok.norm) > 1)


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


def _merge_spans(raw: list[tuple[Token, str]], summary: str) -> tuple[Span, ...]:
    """Merge adjacent unsupported tokens of the same kind ("Isle of Wight" -> one span)."""
    spans: list[Span] = []
    for tok, kind in raw:
        if spans and spans[-1].kind == kind:
            prev = spans[-1]
            gap = summary[prev.end : tok.start]
            if len(gap) <= 1 or (kind == "entity" and gap.strip().lower() in ("of", "de", "the")):
                spans[-1] = Span(prev.start, tok.end, kind, summary[prev.start : tok.end])
                continue
        spans.append(Span(tok.start, tok.end, kind, summary[tok.start : tok.end]))
    return tuple(spans)


@dataclass(frozen=True, slots=True)
class DocIndex:
    """Everything the features need from a document, computed in one linear scan.

    Build it once with :func:`index_document` and reuse it for every summary of the same document.
    """

    norms: frozenset[str]
    stems: Counter[str]
    prefixes: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    sent_stems: tuple[frozenset[str], ...]
    sent_order: tuple[dict[str, int], ...]
    gaps: frozenset[tuple[str, str]]
    sent_neg: tuple[bool, ...]
    caps: frozenset[str]
    fem: int
    masc: int
    n_tokens: int


def index_document(document: str) -> DocIndex:
    """Scan ``document`` once (linear time) into a :class:`DocIndex`."""
    norms: set[str] = set()
    stems: Counter[str] = Counter()
    bigrams: set[tuple[str, str]] = set()
    sent_stems: list[frozenset[str]] = []
    sent_order: list[dict[str, int]] = []
    gaps: set[tuple[str, str]] = set()
    sent_neg: list[bool] = []
    fem = masc = n_tokens = 0
    for sentence in split_sentences(document):
        words = word_tokens(sentence)
        if not words:
            continue
        n_tokens += len(words)
        st = [_stem(w) for w in words]
        norms.update(words)
        stems.update(st)
        bigrams.update(itertools.pairwise(st))
        sent_stems.append(frozenset(st))
        order: dict[str, int] = {}
        for i, x in enumerate(st):
            order.setdefault(x, i)
        sent_order.append(order)
        # Content words one or two content words apart: the "slots" a name, number or verb
        # fills ("University of [Tarland] tested", "cost [3.1] million").
        cst = [x for w, x in zip(words, st, strict=True) if w not in STOPWORDS and len(w) > 1]
        gaps.update(zip(cst, cst[2:], strict=False))
        gaps.update(zip(cst, cst[3:], strict=False))
        wordset = set(words)
        sent_neg.append(not NEGATIONS.isdisjoint(wordset))
        fem += sum(1 for w in words if w in _FEM)
        masc += sum(1 for w in words if w in _MASC)
    return DocIndex(
        norms=frozenset(norms),
        stems=stems,
        prefixes=frozenset(w[:5] for w in norms if len(w) >= 5),
        bigrams=frozenset(bigrams),
        sent_stems=tuple(sent_stems),
        sent_order=tuple(sent_order),
        gaps=frozenset(gaps),
        sent_neg=tuple(sent_neg),
        caps=frozenset({m.lower() for m in _CAP_RE.findall(document)} - STOPWORDS),
        fem=fem,
        masc=masc,
        n_tokens=n_tokens,
    )


def analyze(document: str | DocIndex, summary: str, lex: Lexicon) -> Analysis:
    """Compute features and evidence for one pair.

    Args:
        document: The source text (any length; processed in linear time), or its
            :class:`DocIndex` when several summaries share one document.
        summary: The text to judge.
        lex: Corpus tables from :func:`build_lexicon`.

    Returns:
        The :class:`Analysis` of the pair. Empty inputs give a defined (uninformative) vector.
    """
    feats = dict.fromkeys(FEATURE_NAMES, _MISSING)
    s_toks = tokenize(summary)
    max_idf = lex.max_idf
    idf, cap = lex.idf, lex.cap

    doc = document if isinstance(document, DocIndex) else index_document(document)
    doc_norms, doc_stems, doc_prefixes = doc.norms, doc.stems, doc.prefixes
    doc_bigrams, doc_caps = doc.bigrams, doc.caps
    sent_stem_sets, sent_neg = doc.sent_stems, doc.sent_neg
    fem, masc, n_doc_tokens = doc.fem, doc.masc, doc.n_tokens

    n_sum = len(s_toks)
    feats["log_sum_tokens"] = math.log1p(n_sum)
    feats["log_doc_tokens"] = math.log1p(n_doc_tokens)
    feats["len_ratio"] = n_sum / (n_doc_tokens + 1.0)
    n_ssent = (s_toks[-1].sent + 1) if s_toks else 0
    feats["n_sum_sentences"] = float(n_ssent)

    if not s_toks or not sent_stem_sets:
        return Analysis(np.array([feats[n] for n in FEATURE_NAMES]), (), math.nan, math.nan, ())

    def weight(tok: Token) -> float:
        return float(idf[hash_token(tok.stem, IDF_BUCKETS)]) if idf.size else 1.0

    # ---- token-level novelty ----
    content = [t for t in s_toks if _is_content(t)]
    caseless = not any(t.is_cap for t in s_toks)
    raw_spans: list[tuple[Token, str]] = []
    novel_w = total_w = 0.0
    max_novel = 0.0
    n_novel = n_exact_novel = n_hard = 0
    nums = ents = num_novel = ent_novel = 0
    log_counts: list[float] = []
    idfs: list[float] = []
    ent_tokens: list[Token] = []
    for t in content:
        w = weight(t)
        idfs.append(w)
        total_w += w
        present = t.stem in doc_stems or t.norm in doc_norms
        if t.norm not in doc_norms:
            n_exact_novel += 1
        is_ent = _is_entity(t, cap, doc_caps, caseless)
        if t.is_number:
            nums += 1
        elif is_ent:
            ents += 1
            ent_tokens.append(t)
        log_counts.append(math.log1p(doc_stems.get(t.stem, 0)))
        if not present:
            n_novel += 1
            novel_w += w
            # A shared 5-letter prefix ("recapture"/"recaptured", "Kenya"/"Kenyans") is a
            # weaker kind of novelty than a word with no relative in the document.
            if t.is_number or len(t.norm) < 5 or t.norm[:5] not in doc_prefixes:
                n_hard += 1
            max_novel = max(max_novel, w)
            if t.is_number:
                num_novel += 1
                raw_spans.append((t, "number"))
            elif is_ent:
                ent_novel += 1
                raw_spans.append((t, "entity"))
            else:
                raw_spans.append((t, "word"))
    n_content = len(content)
    if n_content:
        feats["content_novel_frac"] = n_novel / n_content
        feats["idf_novel_frac"] = novel_w / total_w if total_w > 0 else 0.0
        feats["exact_novel_frac"] = n_exact_novel / n_content
        feats["mean_log_doc_count"] = sum(log_counts) / n_content
        feats["min_log_doc_count"] = min(log_counts)
        feats["mean_idf_content"] = sum(idfs) / n_content / max_idf
    feats["content_novel_count"] = float(n_novel)
    feats["idf_novel_sum"] = novel_w / max_idf
    feats["hard_novel_frac"] = n_hard / n_content if n_content else _MISSING
    feats["max_novel_idf"] = max_novel / max_idf
    feats["num_count"] = float(nums)
    feats["num_novel_count"] = float(num_novel)
    feats["num_novel_frac"] = num_novel / nums if nums else _MISSING
    # A weekday, month or year the document never mentions ("on Thursday" for "on Tuesday").
    feats["date_novel_count"] = float(
        sum(
            1
            for t in s_toks
            if (t.norm in _DATE_WORDS or _YEAR_RE.fullmatch(t.norm)) and t.norm not in doc_norms
        )
    )
    feats["ent_count"] = float(ents)
    feats["ent_novel_count"] = float(ent_novel)
    feats["ent_novel_frac"] = ent_novel / ents if ents else _MISSING

    # Entity phrases: all tokens present but the phrase never appears contiguously.
    phrases: list[list[Token]] = []
    ent_starts = {t.start for t in ent_tokens}
    for t in ent_tokens:
        if phrases and phrases[-1][-1].sent == t.sent and t.start - phrases[-1][-1].end <= 1:
            phrases[-1].append(t)
        else:
            phrases.append([t])
    multi = [p for p in phrases if len(p) > 1 and all(x.stem in doc_stems for x in p)]
    if multi:
        bad = 0
        for p in multi:
            pst = [x.stem for x in p]
            if not all((a, b) in doc_bigrams for a, b in itertools.pairwise(pst)):
                bad += 1
        feats["ent_phrase_novel_frac"] = bad / len(multi)
    # Salience of the supported names: generated summaries pick up side characters.
    sal = [math.log1p(doc_stems.get(t.stem, 0)) for t in ent_tokens if t.stem in doc_stems]
    if sal:
        feats["ent_salience_min"] = min(sal)
        feats["ent_salience_mean"] = sum(sal) / len(sal)
    # A name that is half in the document ("James Murdoch" when the document only has "Murdoch",
    # "Cardiff City" when it has "Cardiff") is a typical generated-summary error.
    feats["ent_phrase_partial"] = float(
        sum(
            1
            for p in phrases
            if len(p) > 1
            and any(x.stem in doc_stems for x in p)
            and not all(x.stem in doc_stems for x in p)
        )
    )
    # Degenerate repetition of a content word within the summary (generation artefact).
    content_stems = [t.stem for t in content if not t.is_number]
    feats["self_repeat"] = float(len(content_stems) - len(set(content_stems)))

    by_sent: list[list[Token]] = [[] for _ in range(n_ssent)]
    for t in s_toks:
        by_sent[t.sent].append(t)

    # Substitutions: a run of 1-2 unsupported content words whose neighbours frame a slot that
    # the document fills with something else ("University of Oxford tested" vs "University of
    # Tarland tested", "rejected plans" vs "approved plans", "cost 13 million" vs "3.1 million").
    slot_conflict = 0
    for toks in by_sent:
        c = [t for t in toks if _is_content(t) and (len(t.norm) > 1 or t.is_number)]
        i = 1
        while i < len(c) - 1:
            if c[i].stem in doc_stems:
                i += 1
                continue
            j = i + 1
            if j < len(c) - 1 and c[j].stem not in doc_stems:
                j += 1
            if j - i <= 2 and j < len(c) and (c[i - 1].stem, c[j].stem) in doc.gaps:
                slot_conflict += 1
            i = j
    feats["slot_conflict"] = float(slot_conflict)

    # Names and numbers in new company: adjacent summary words, one of them a name or number,
    # both in the document but never adjacent there ("Tom Baker scored" where the document has
    # "Marco Silva scored" and "defender Tom Baker"; "United beat Northfield").
    breaks = checked = 0
    for toks in by_sent:
        for x, y in itertools.pairwise(toks):
            if not (x.start in ent_starts or y.start in ent_starts or x.is_number or y.is_number):
                continue
            if x.stem not in doc_stems or y.stem not in doc_stems:
                continue
            checked += 1
            breaks += int((x.stem, y.stem) not in doc_bigrams)
    feats["key_bigram_break"] = float(breaks)
    feats["key_bigram_break_frac"] = breaks / checked if checked else _MISSING

    # ---- alignment via an inverted index restricted to summary stems ----
    present_stems = sorted({t.stem for t in content if t.stem in doc_stems})
    n_dsent = len(sent_stem_sets)
    best_cov = math.nan
    unlinked: list[tuple[str, str]] = []
    if present_stems:
        row = {s: i for i, s in enumerate(present_stems)}
        member = np.zeros((len(present_stems), n_dsent), dtype=bool)
        ps = set(present_stems)
        for j, ss in enumerate(sent_stem_sets):
            for s in ss & ps:
                member[row[s], j] = True
        # Windows of 2 and 3 adjacent sentences (index = window start).
        win2 = member.copy()
        win2[:, :-1] |= member[:, 1:]
        win3 = win2.copy()
        win3[:, :-2] |= member[:, 2:]
        near = member.copy()  # +-1 sentence neighbourhood
        near[:, 1:] |= member[:, :-1]
        near[:, :-1] |= member[:, 1:]

        cov1: list[float] = []
        cov2: list[float] = []
        cov3: list[float] = []
        pos: list[float] = []
        neg_mismatch = 0
        neg_sum = 0
        neg_added = neg_removed = 0
        inversion = 0.0
        antonym_conflict = 0
        outside = ent_checked = 0
        for toks in by_sent:
            c = [t for t in toks if _is_content(t)]
            if not c:
                continue
            w_all = np.array([weight(t) for t in c])
            idx = [row.get(t.stem, -1) for t in c]
            tot = float(w_all.sum())
            sc = np.zeros(n_dsent)
            sc2 = np.zeros(n_dsent)
            sc3 = np.zeros(n_dsent)
            seen: set[int] = set()
            for w, r in zip(w_all, idx, strict=True):
                if r < 0 or r in seen:
                    continue
                seen.add(r)
                sc += w * member[r]
                sc2 += w * win2[r]
                sc3 += w * win3[r]
            b1 = int(np.argmax(sc))
            b2 = int(np.argmax(sc2))
            cov1.append(float(sc[b1]) / tot)
            cov2.append(float(sc2[b2]) / tot)
            cov3.append(float(sc3.max()) / tot)
            pos.append(b1 / max(n_dsent - 1, 1))
            s_neg = any(t.norm in NEGATIONS for t in toks)
            neg_sum += int(s_neg)
            d_neg = sent_neg[b2] or (b2 + 1 < n_dsent and sent_neg[b2 + 1])
            neg_mismatch += int(s_neg != d_neg)
            # Against the single best sentence: "had not objected" for "had objected" (added),
            # "the battery fits" for "does not fit" (removed).
            neg_added += int(s_neg and not sent_neg[b1])
            neg_removed += int(not s_neg and sent_neg[b1])
            inversion = max(inversion, _inversions(c, doc.sent_order[b1]))
            # "rejected" where the aligned passage says "approved" (and not "rejected").
            window = sent_stem_sets[b2] | (sent_stem_sets[b2 + 1] if b2 + 1 < n_dsent else set())
            for t in toks:
                ants = CONTRARIES.get(t.norm)
                if ants and t.stem not in window and any(_stem(x) in window for x in ants):
                    antonym_conflict += 1
            for t in c:
                if t.start in ent_starts or t.is_number:
                    r = row.get(t.stem, -1)
                    if r >= 0:
                        ent_checked += 1
                        outside += int(not win3[r, max(b2 - 1, 0)])
        if cov1:
            feats["align1_min"] = min(cov1)
            feats["align1_mean"] = sum(cov1) / len(cov1)
            feats["align2_min"] = min(cov2)
            feats["align3_min"] = min(cov3)
            feats["align_pos_mean"] = sum(pos) / len(pos)
            feats["align_pos_min"] = min(pos)
            best_cov = min(cov2)
        feats["neg_sum"] = float(neg_sum)
        feats["neg_mismatch"] = float(neg_mismatch)
        feats["neg_added"] = float(neg_added)
        feats["neg_removed"] = float(neg_removed)
        feats["order_inversion"] = inversion
        feats["antonym_conflict"] = float(antonym_conflict)
        feats["ent_outside_window_frac"] = outside / ent_checked if ent_checked else _MISSING
        # Where the document first mentions each supported name (0 = first sentence).
        firsts = [
            int(np.argmax(member[row[t.stem]])) / max(n_dsent - 1, 1)
            for t in ent_tokens
            if t.stem in row
        ]
        if firsts:
            feats["ent_first_pos_max"] = max(firsts)

        # Relational support: consecutive content words of a summary sentence should co-occur.
        pairs = near_pairs = sent_pairs = 0
        for toks in by_sent:
            rs = [row[t.stem] for t in toks if _is_content(t) and t.stem in row]
            for ra, rb in itertools.pairwise(rs):
                if ra == rb:
                    continue
                pairs += 1
                near_pairs += int(bool((member[ra] & near[rb]).any()))
                sent_pairs += int(bool((member[ra] & member[rb]).any()))
        if pairs:
            feats["content_pair_cooc_frac"] = near_pairs / pairs
            feats["content_pair_sent_frac"] = sent_pairs / pairs

        # Names and numbers: every pair within a summary sentence should meet in the document.
        # Tokens of one multi-word name ("Alice Moreau") share a phrase id and are not paired.
        phrase_of: dict[int, int] = {}
        for pid, ph in enumerate(phrases):
            for t in ph:
                phrase_of[t.start] = pid
        key = [t for t in content if (t.is_number or t.start in ent_starts) and t.stem in row]
        e_pairs = e_ok = 0
        for i, ka in enumerate(key):
            for kb in key[i + 1 : i + 8]:
                same_phrase = phrase_of.get(ka.start, -1) == phrase_of.get(kb.start, -2)
                if ka.sent != kb.sent or ka.stem == kb.stem or same_phrase:
                    continue
                e_pairs += 1
                if (member[row[ka.stem]] & near[row[kb.stem]]).any():
                    e_ok += 1
                elif len(unlinked) < 3:
                    unlinked.append((ka.text, kb.text))
        feats["ent_pair_cooc_frac"] = e_ok / e_pairs if e_pairs else _MISSING

        # Context of each supported name/number: do its neighbouring summary content words
        # (two either side) share a document sentence with it? A number or name from the
        # document "attached to a different noun" fails this.
        num_ctx: list[float] = []
        ent_ctx: list[float] = []
        for toks in by_sent:
            c = [t for t in toks if _is_content(t)]
            for i, t in enumerate(c):
                is_key = t.is_number or t.start in ent_starts
                if not is_key or t.stem not in row:
                    continue
                pid = phrase_of.get(t.start, -1)
                nb = [
                    u
                    for u in c[max(0, i - 2) : i + 3]
                    if u is not t
                    and u.stem != t.stem
                    and (pid < 0 or phrase_of.get(u.start, -2) != pid)
                    and not u.is_number
                ]
                if not nb:
                    continue
                mt = member[row[t.stem]]
                ok = sum(1 for u in nb if u.stem in row and bool((mt & member[row[u.stem]]).any()))
                (num_ctx if t.is_number else ent_ctx).append(ok / len(nb))
        feats["num_ctx_min"] = min(num_ctx) if num_ctx else _MISSING
        feats["ent_ctx_min"] = min(ent_ctx) if ent_ctx else _MISSING
        # Two names/numbers of one summary sentence that the document only ever has in the
        # opposite order ("Castleton beat Northfield" for "Northfield beat Castleton").
        flips = 0
        orders = doc.sent_order
        for i, ka in enumerate(key):
            for kb in key[i + 1 : i + 6]:
                if ka.sent != kb.sent or ka.stem == kb.stem:
                    continue
                if phrase_of.get(ka.start, -1) == phrase_of.get(kb.start, -2):
                    continue
                both = np.flatnonzero(member[row[ka.stem]] & member[row[kb.stem]])
                if both.size == 0:
                    continue
                same = any(orders[j][ka.stem] < orders[j][kb.stem] for j in both[:20])
                flips += int(not same)
        feats["key_order_flip"] = float(flips)

    # Gendered pronouns: "she" in the summary of a document that only says "he".
    s_fem = sum(1 for t in s_toks if t.norm in _FEM)
    s_masc = sum(1 for t in s_toks if t.norm in _MASC)
    feats["gender_fem_sum"] = float(s_fem - s_masc)
    if s_fem + s_masc and fem + masc:
        feats["gender_mismatch"] = abs(s_fem / (s_fem + s_masc) - fem / (fem + masc))

    found = 1.0 - n_novel / n_content if n_content else math.nan
    spans = _merge_spans(raw_spans, summary)
    feats["novel_span_count"] = float(len(spans))
    return Analysis(
        features=np.array([feats[n] for n in FEATURE_NAMES], dtype=np.float64),
        spans=spans,
        content_found=found,
        best_coverage=best_cov,
        unlinked=tuple(unlinked),
    )


def featurize(pairs: Sequence[tuple[str, str]], lex: Lexicon) -> npt.NDArray[np.float64]:
    """Feature matrix for many (document, summary) pairs; row order follows ``pairs``."""
    return (
        np.stack([a.features for a in analyze_many(pairs, lex)])
        if pairs
        else np.empty((0, len(FEATURE_NAMES)))
    )


def analyze_many(pairs: Sequence[tuple[str, str]], lex: Lexicon) -> list[Analysis]:
    """:func:`analyze` every pair, indexing each distinct document only once.

    Judging several summaries of one document (the usual evaluation layout) then costs one
    document scan; the cache is bounded so memory stays flat on long streams.
    """
    out: list[Analysis] = []
    cache: dict[str, DocIndex] = {}
    for doc, summ in pairs:
        index = cache.get(doc)
        if index is None:
            if len(cache) >= _DOC_CACHE:
                cache.pop(next(iter(cache)))
            index = cache[doc] = index_document(doc)
        out.append(analyze(index, summ, lex))
    return out
