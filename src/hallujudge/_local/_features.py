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

This module holds the feature schema, the corpus and document tables and :func:`analyze`, which
runs the per-pair steps of :mod:`._detectors` in order.
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

from hallujudge._local._detectors import (
    FEM,
    MASC,
    MISSING,
    SummaryView,
    aligned_features,
    cached_stem,
    content_novelty,
    date_novelty,
    document_frequency,
    gender_mismatch,
    key_bigram_breaks,
    key_novelty,
    length_features,
    name_support,
    self_repetition,
    slot_conflicts,
    stolen_contexts,
    summary_view,
)
from hallujudge._local._text import (
    NEGATIONS,
    NOT_CONTENT,
    STOPWORDS,
    Token,
    cased_words,
    hash_token,
    normalize,
    split_sentences,
    tokenize,
    word_tokens,
)

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
    "key_context_stolen",
    "word_context_stolen",
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
    "key_context_stolen",
    "word_context_stolen",
)
FEATURE_MONOTONE: tuple[int, ...] = tuple(-1 if n in _DECREASING else 0 for n in FEATURE_NAMES)

_CAP_RE = re.compile(r"\b[A-Z][\w'’-]*")


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
        moved: Up to three summary names/numbers in another word's place: ``(word, neighbour,
            rival)``, the document putting ``neighbour`` next to ``rival`` and never next to
            ``word`` (two names exchanged, roles reversed).
    """

    features: npt.NDArray[np.float64]
    spans: tuple[Span, ...]
    content_found: float
    best_coverage: float
    unlinked: tuple[tuple[str, str], ...]
    moved: tuple[tuple[str, str, str], ...] = ()


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
        buckets = {hash_token(cached_stem(w), IDF_BUCKETS) for w in word_tokens(doc)}
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
    near: frozenset[tuple[str, str]]
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
    near: set[tuple[str, str]] = set()
    sent_neg: list[bool] = []
    fem = masc = n_tokens = 0
    for sentence in split_sentences(document):
        words = word_tokens(sentence)
        if not words:
            continue
        n_tokens += len(words)
        st = [cached_stem(w) for w in words]
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
        # ... and at most one content word apart, in order: a word's immediate company (numbers
        # included, as the summary side counts them: "two nights", "3 percent").
        kst = [
            x
            for w, x in zip(words, st, strict=True)
            if (len(w) > 1 and w not in NOT_CONTENT) or w.isdigit()
        ]
        near.update(itertools.pairwise(kst))
        near.update(zip(kst, kst[2:], strict=False))
        wordset = set(words)
        sent_neg.append(not NEGATIONS.isdisjoint(wordset))
        fem += sum(1 for w in words if w in FEM)
        masc += sum(1 for w in words if w in MASC)
    return DocIndex(
        norms=frozenset(norms),
        stems=stems,
        prefixes=frozenset(w[:5] for w in norms if len(w) >= 5),
        bigrams=frozenset(bigrams),
        sent_stems=tuple(sent_stems),
        sent_order=tuple(sent_order),
        gaps=frozenset(gaps),
        near=frozenset(near),
        sent_neg=tuple(sent_neg),
        caps=frozenset({m.lower() for m in _CAP_RE.findall(document)} - STOPWORDS),
        fem=fem,
        masc=masc,
        n_tokens=n_tokens,
    )


def _summary_view(toks: list[Token], doc: DocIndex, lex: Lexicon) -> SummaryView:
    """Group a non-empty summary for the steps, with the lexicon's IDF weights and names."""
    idf, cap = lex.idf, lex.cap
    caseless = not any(t.is_cap for t in toks)

    def weight(tok: Token) -> float:
        return float(idf[hash_token(tok.stem, IDF_BUCKETS)]) if idf.size else 1.0

    def is_entity(tok: Token) -> bool:
        return _is_entity(tok, cap, doc.caps, caseless)

    return summary_view(toks, is_entity, weight)


def _vector(feats: dict[str, float]) -> npt.NDArray[np.float64]:
    """The features in :data:`FEATURE_NAMES` order."""
    return np.array([feats[n] for n in FEATURE_NAMES], dtype=np.float64)


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
    doc = document if isinstance(document, DocIndex) else index_document(document)
    toks = tokenize(summary)
    feats = dict.fromkeys(FEATURE_NAMES, MISSING)
    feats.update(length_features(toks, doc))
    if not toks or not doc.sent_stems:
        return Analysis(_vector(feats), (), math.nan, math.nan, ())

    s = _summary_view(toks, doc, lex)
    novelty, raw_spans, found = content_novelty(s, doc, lex.max_idf)
    feats.update(novelty)
    feats.update(document_frequency(s, doc, lex.max_idf))
    feats.update(key_novelty(s, doc))
    feats.update(date_novelty(s, doc))
    feats.update(name_support(s, doc))
    feats.update(self_repetition(s))
    feats.update(slot_conflicts(s, doc))
    feats.update(key_bigram_breaks(s, doc))
    stolen, moved = stolen_contexts(s, doc)
    feats.update(stolen)
    aligned, best_cov, unlinked = aligned_features(s, doc)
    feats.update(aligned)
    feats.update(gender_mismatch(s, doc))
    spans = _merge_spans(raw_spans, summary)
    feats["novel_span_count"] = float(len(spans))
    return Analysis(_vector(feats), spans, found, best_cov, unlinked, moved)


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
    document scan, also when they arrive one call at a time (``Judge.score_many`` judges pair
    by pair): the index is memoised across calls, bounded so memory stays flat on long streams.
    """
    return [analyze(_cached_index(doc), summ, lex) for doc, summ in pairs]


# A DocIndex depends on the document alone and is never mutated, so one can serve every caller.
_cached_index = lru_cache(maxsize=_DOC_CACHE)(index_document)
