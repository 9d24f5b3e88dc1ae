"""Claim-level judging of the offline judge: weakest claim wins, offsets, long documents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from hallujudge import Judge
from hallujudge._local import LocalModel
from hallujudge._local._claim_level import judge_claims

DOC = (
    "Milbrook council has approved plans for 120 new homes on the former brickworks site. "
    "The decision was taken on Tuesday after a three-hour meeting at the town hall."
)


def overlap_scorer(pairs: Sequence[tuple[str, str]]) -> npt.NDArray[np.float64]:
    """Share of the claim's words found in the window: a transparent stand-in model."""
    out = []
    for premise, hypothesis in pairs:
        words = hypothesis.lower().strip(".").split()
        out.append(sum(w in premise.lower() for w in words) / len(words))
    return np.array(out)


def test_the_weakest_claim_sets_the_score_and_its_offsets_point_into_the_summary() -> None:
    summary = "The council approved new homes on Tuesday. The mayor owns a purple zebra farm."
    (j,) = judge_claims([(DOC, summary)], overlap_scorer)
    assert len(j.claims) == 2
    a, b = j.claim
    assert summary[a:b] == "The mayor owns a purple zebra farm."
    assert j.p_consistent == min(c[2] for c in j.claims) < j.claims[0][2]
    assert j.evidence == (0, len(DOC))  # a short document is one window


def test_one_sentence_on_a_short_document_is_scored_as_the_whole_pair() -> None:
    calls: list[Sequence[tuple[str, str]]] = []

    def scorer(pairs: Sequence[tuple[str, str]]) -> npt.NDArray[np.float64]:
        calls.append(pairs)
        return overlap_scorer(pairs)

    (j,) = judge_claims([(DOC, "The council approved homes.")], scorer)
    assert calls == [[(DOC, "The council approved homes.")]] and not j.multi


def test_long_documents_are_chunked_not_truncated_and_the_evidence_window_is_found() -> None:
    filler = " ".join(f"Paragraph {i} talks about the weather in spring." for i in range(400))
    doc = filler + " The harbour bridge was painted green by volunteers."
    assert len(doc) > 3 * 4000
    (j,) = judge_claims(
        [(doc, "The harbour bridge was painted green by volunteers.")], overlap_scorer
    )
    assert j.n_windows > 3 and j.multi
    start, end = j.evidence
    assert "harbour bridge was painted green" in doc[start:end]
    assert end == len(doc)  # the last window reaches the end: nothing was cut off
    assert j.p_consistent == pytest.approx(1.0)


def test_shipped_model_names_the_weakest_claim_and_its_evidence() -> None:
    model = LocalModel.load()
    summary = (
        "Milbrook council has approved plans for 120 new homes. "
        "The decision was taken on Tuesday after a three-hour meeting at the town hall. "
        "A tiger escaped from the zoo."
    )
    p = model.predict(DOC, summary)
    assert (
        p.claim is not None and summary[p.claim[0] : p.claim[1]] == "A tiger escaped from the zoo."
    )
    assert p.evidence is not None and 0 <= p.evidence[0] < p.evidence[1] <= len(DOC)
    assert "A tiger escaped from the zoo." in p.reason
    assert p.p_consistent < 0.5
    flagged = " ".join(summary[a:b] for a, b, _ in p.spans)
    assert "tiger" in flagged and "zoo" in flagged  # offsets shifted from claim to summary
    assert all(a >= summary.index("A tiger") for a, _, _ in p.spans)
    whole = model.predict(DOC, "Milbrook council has approved plans for 120 new homes.")
    assert whole.claim is None and whole.p_consistent > p.p_consistent


def test_verdict_spans_carry_the_claim_and_the_document_window() -> None:
    summary = "The council approved 120 homes on Tuesday. A tiger escaped from the zoo."
    v = Judge("local:gbm").score(DOC, summary)
    assert v.label == "inconsistent"
    claim = [s for s in v.spans if s.note == "weakest claim"]
    window = [s for s in v.spans if s.target == "document"]
    assert claim and claim[0].text == "A tiger escaped from the zoo."
    assert window and window[0].text == DOC[window[0].start : window[0].end]
