"""Claim-level judging for the offline judges: every claim against its best evidence window.

A multi-sentence summary is only as good as its weakest claim, and a claim is supported if *some*
passage of the document supports it. So:

1. the summary is split into claims (sentences, :func:`hallujudge._claims.split_sentences`);
2. the document is covered by overlapping windows (:func:`hallujudge._chunking.split_windows`):
   long documents are chunked, never truncated;
3. each claim is scored against its ``top_k`` windows, ranked by a cheap retriever (shared
   content words); the claim's score is its best window's;
4. the summary's score is its weakest claim's.

A one-claim summary of a document that fits in one window is scored as the whole pair. Any
scorer of (premise, hypothesis) pairs plugs in (:class:`PairScorer`): the numpy GBM, a neural
cross-encoder, or an ensemble of both; all pairs of a batch are scored in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hallujudge._chunking import split_windows
from hallujudge._claims import split_sentences
from hallujudge._local._text import STOPWORDS, word_tokens

__all__ = [
    "DEFAULT_OVERLAP_CHARS",
    "DEFAULT_TOP_K",
    "DEFAULT_WINDOW_CHARS",
    "ClaimJudgement",
    "PairScorer",
    "judge_claims",
]

DEFAULT_WINDOW_CHARS = 4000
"""Documents up to this length are one window (the training documents are mostly shorter)."""
DEFAULT_OVERLAP_CHARS = 800
DEFAULT_TOP_K = 2
_MIN_CLAIM_WORDS = 3


class PairScorer(Protocol):
    """Anything that scores (premise, hypothesis) pairs: P(consistent) per pair, in order."""

    def __call__(self, pairs: Sequence[tuple[str, str]], /) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class ClaimJudgement:
    """The claim-level result for one (document, summary) pair.

    Attributes:
        p_consistent: The weakest claim's score (the summary's score).
        claim: ``(start, end)`` of the weakest claim in the summary.
        evidence: ``(start, end)`` of that claim's best window in the document.
        claims: Every claim as ``(start, end, score, window_start, window_end)``, in order.
        n_windows: How many windows the document was split into.
    """

    p_consistent: float
    claim: tuple[int, int]
    evidence: tuple[int, int]
    claims: tuple[tuple[int, int, float, int, int], ...]
    n_windows: int = 1

    @property
    def multi(self) -> bool:
        """Whether claim-level judging changed anything (several claims or windows)."""
        return len(self.claims) > 1 or self.n_windows > 1


def _claims(summary: str) -> list[tuple[int, int]]:
    """Sentences of the summary; a fragment of under three words joins its predecessor."""
    merged: list[tuple[int, int]] = []
    for a, b in split_sentences(summary):
        short = len(summary[a:b].split()) < _MIN_CLAIM_WORDS
        if merged and (short or len(summary[slice(*merged[-1])].split()) < _MIN_CLAIM_WORDS):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged or [(0, len(summary))]


def _content(text: str) -> set[str]:
    return {w for w in word_tokens(text) if w not in STOPWORDS and len(w) > 2}


def _rank(claim: str, document: str, windows: Sequence[tuple[int, int]], top_k: int) -> list[int]:
    """Indices of the ``top_k`` windows sharing the most content words with ``claim``."""
    if len(windows) <= top_k:
        return list(range(len(windows)))
    words = _content(claim)
    overlap = [len(words & _content(document[a:b])) for a, b in windows]
    order = sorted(range(len(windows)), key=lambda i: (-overlap[i], i))
    return sorted(order[:top_k])


def judge_claims(
    pairs: Sequence[tuple[str, str]],
    scorer: PairScorer,
    *,
    window_chars: int = DEFAULT_WINDOW_CHARS,
    overlap_chars: int = DEFAULT_OVERLAP_CHARS,
    top_k: int = DEFAULT_TOP_K,
) -> list[ClaimJudgement]:
    """Score every claim of every summary against its best windows, in one scorer call.

    Args:
        pairs: ``(document, summary)`` tuples (non-empty texts).
        scorer: Scores (premise, hypothesis) pairs; see :class:`PairScorer`.
        window_chars: Largest window; a document up to this length is one window.
        overlap_chars: Characters consecutive windows share (a claim is rarely cut in half).
        top_k: Windows scored per claim (the retriever's best ``top_k``).

    Returns:
        One :class:`ClaimJudgement` per pair, in order.
    """
    jobs: list[tuple[str, str]] = []
    plan: list[tuple[int, list[tuple[int, int, list[tuple[int, int, int]]]]]] = []
    for document, summary in pairs:
        windows = split_windows(document, window_chars, overlap_chars)
        claims = _claims(summary)
        if len(claims) == 1 and len(windows) == 1:
            claims = [(0, len(summary))]  # the whole pair, exactly as the models were trained
        entry = []
        for a, b in claims:
            claim = summary[a:b]
            chosen = []
            for w in _rank(claim, document, windows, top_k):
                wa, wb = windows[w]
                chosen.append((len(jobs), wa, wb))
                jobs.append((document[wa:wb], claim))
            entry.append((a, b, chosen))
        plan.append((len(windows), entry))
    probs = np.asarray(scorer(jobs), dtype=np.float64) if jobs else np.empty(0)
    out = []
    for n_windows, entry in plan:
        claims_out = []
        for a, b, chosen in entry:
            job, wa, wb = max(chosen, key=lambda c: (probs[c[0]], -c[0]))
            claims_out.append((a, b, float(probs[job]), wa, wb))
        weakest = min(claims_out, key=lambda c: c[2])
        out.append(
            ClaimJudgement(
                p_consistent=weakest[2],
                claim=(weakest[0], weakest[1]),
                evidence=(weakest[3], weakest[4]),
                claims=tuple(claims_out),
                n_windows=n_windows,
            )
        )
    return out
