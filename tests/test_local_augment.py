"""Tests of the synthetic training pairs for the offline judge (hallujudge._local._augment)."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge._local._augment import (
    ANTONYMS,
    NEGATIVE_KINDS,
    POSITIVE_KINDS,
    augment_rows,
    compress_sentence,
    fuse_sentences,
    generalise_sentence,
    perturb_antonym,
    perturb_date,
    perturb_entity,
    perturb_negation,
    perturb_number,
    perturb_pronoun,
    perturb_roles,
    perturb_swap,
    positive_from_document,
    positive_rewrite,
    similar_sentence,
)
from hallujudge._local._features import FEATURE_NAMES, analyze, build_lexicon

DOC = (
    "Milbrook council has approved plans for 120 new homes on the former brickworks site. "
    "Councillor Ana Ruiz said 40 of the homes would be offered at below-market rents. "
    "Construction is due to start on Monday in March and take about three years, "
    "according to the developer Hartley Homes."
)
SUMMARY = "Milbrook council approved 120 homes, said Councillor Ana Ruiz on Monday."
ROWS = [
    (DOC, SUMMARY, 1),
    (DOC, "The council rejected 12 homes.", 0),
    (
        "Tom Baker scored twice as Northfield beat Castleton 2-1 on Saturday. He was the best "
        "player on the pitch, said the coach Maria Lopez after the match in Leeds.",
        "Northfield beat Castleton as Tom Baker scored twice.",
        1,
    ),
]


def rng() -> random.Random:
    return random.Random(0)


def test_number_swap_changes_only_a_number() -> None:
    for seed in range(20):
        out = perturb_number(SUMMARY, DOC, random.Random(seed))
        assert out is not None and out != SUMMARY
        # The one number of the summary was replaced, and nothing else changed.
        new = re.fullmatch(r"Milbrook council approved ([\d.,]+|\w+) homes, said Councillor Ana"
                           r" Ruiz on Monday\.", out)  # fmt: skip
        assert new is not None and new.group(1) != "120"
    assert perturb_number("No digits here at all.", DOC, rng()) is None


def test_number_swap_uses_document_numbers_for_role_swaps() -> None:
    outs = {perturb_number(SUMMARY, DOC, random.Random(s)) for s in range(40)}
    assert any(o is not None and " 40 homes" in o for o in outs)  # 40 is the rents number


def test_entity_swap_uses_another_name() -> None:
    seen_doc = seen_pool = False
    for seed in range(40):
        out = perturb_entity(SUMMARY, DOC, random.Random(seed), pool=("Oxford", "Tarland"))
        assert out is not None and out != SUMMARY
        seen_doc |= "Hartley Homes" in out
        seen_pool |= "Oxford" in out or "Tarland" in out
    assert seen_doc and seen_pool
    assert perturb_entity("the cat sat on the mat.", DOC, rng()) is None


def test_antonym_negation_date_pronoun() -> None:
    assert perturb_antonym("The council approved the plan.", rng()) == (
        "The council rejected the plan."
    )
    assert perturb_antonym("Prices Rose sharply.", rng()) == "Prices Fell sharply."
    assert perturb_antonym("Nothing to flip.", rng()) is None
    assert all(ANTONYMS[ANTONYMS[w]] == w or ANTONYMS[w] in ANTONYMS for w in ANTONYMS)
    assert perturb_negation("The plan was approved.", rng()) == "The plan was not approved."
    assert perturb_negation("The plan was not approved.", random.Random(1)) in (
        "The plan was approved.",
    )
    assert perturb_negation("Cats purr.", rng()) is None
    out = perturb_date("It opened on Monday.", rng())
    assert out is not None and "Monday" not in out and out.startswith("It opened on ")
    assert perturb_date("No date.", rng()) is None
    assert perturb_pronoun("He said his plan works.", rng()) == "She said her plan works."
    assert perturb_pronoun("It works.", rng()) is None


def test_positive_is_a_document_sentence_or_a_prefix_of_one() -> None:
    for seed in range(20):
        pos = positive_from_document(DOC, random.Random(seed))
        assert pos is not None
        assert pos.rstrip(".") in DOC or pos[:-1] in DOC
    assert positive_from_document("", rng()) is None


def test_augment_rows_is_seeded_sized_and_labelled() -> None:
    a = augment_rows(ROWS, ratio=10, seed=3)
    assert a == augment_rows(ROWS, ratio=10, seed=3)
    assert a != augment_rows(ROWS, ratio=10, seed=4)
    assert len(a) == 30
    docs = {d for d, _, _ in ROWS}
    kinds = Counter(k for _, k in a)
    assert set(kinds) <= {*NEGATIVE_KINDS, *POSITIVE_KINDS}
    for (doc, summ, label), kind in a:
        assert doc in docs  # synthetic rows keep a training document (grouped folds stay clean)
        assert label == (1 if kind in POSITIVE_KINDS else 0)
        if kind in ("unrelated", "similar"):
            assert all(s != summ for d, s, _ in ROWS if d == doc)
            assert summ not in doc
        elif kind not in POSITIVE_KINDS:
            assert summ not in [s for _, s, _ in ROWS]  # a real change was made
    assert augment_rows(ROWS, ratio=0, seed=0) == []
    with pytest.raises(ValueError, match="ratio"):
        augment_rows(ROWS, ratio=-1)


def test_new_features_see_the_demo_style_errors() -> None:
    lex = build_lexicon([DOC])

    def f(summary: str, name: str) -> float:
        return float(analyze(DOC, summary, lex).features[FEATURE_NAMES.index(name)])

    assert f("Milbrook council rejected plans for 120 homes.", "antonym_conflict") == 1.0
    assert f("Milbrook council approved plans for 120 homes.", "antonym_conflict") == 0.0
    # 40 is in the document, but attached to the rents, not the homes being approved.
    assert f("The council approved plans for 40 new homes.", "num_ctx_min") < f(
        "The council approved plans for 120 new homes.", "num_ctx_min"
    )
    assert f("Hartley Homes said Ana Ruiz approved it.", "key_order_flip") >= 1.0
    assert f("Ana Ruiz said it, according to Hartley Homes.", "key_order_flip") == 0.0


MATCH = (
    "Northfield Rovers beat Castleton United 3-1 on Saturday. Striker Marco Silva scored twice "
    "in the first half, and defender Tom Baker added a third with a header after the break."
)


@pytest.mark.parametrize(
    ("summary", "stolen"),
    [
        # Every word is in the document; only who goes with which role has moved.
        ("Striker Tom Baker scored twice, and defender Marco Silva added a third.", True),
        ("Castleton United beat Northfield Rovers 3-1 on Saturday.", True),
        # Copies, compressions and fusions keep each name with its own company.
        ("Striker Marco Silva scored twice in the first half.", False),
        ("Northfield Rovers beat Castleton United, and Marco Silva scored twice.", False),
        ("Defender Tom Baker added a third with a header.", False),
    ],
)
def test_stolen_context_sees_exchanged_names_and_spares_copies(summary: str, stolen: bool) -> None:
    lex = build_lexicon([MATCH])
    value = float(analyze(MATCH, summary, lex).features[FEATURE_NAMES.index("key_context_stolen")])
    assert (value > 0) is stolen, value


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(list("aeiou tnrsAMTW0123456789.,()'\n"))
        | st.sampled_from(
            [" was ", " not ", " Monday ", " approved ", " he ", " 3.1 ", " 1,000 ", " Oxford "]
        ),
        max_size=40,
    ).map("".join),
    seed=st.integers(0, 10_000),
)
def test_perturbations_never_crash_and_always_change_the_text(text: str, seed: int) -> None:
    r = random.Random(seed)
    outs = [
        perturb_number(text, DOC, r),
        perturb_entity(text, DOC, r, pool=("Oxford", "Tarland")),
        perturb_antonym(text, r),
        perturb_negation(text, r),
        perturb_date(text, r),
        perturb_pronoun(text, r),
        perturb_swap(text, r),
        perturb_roles(text, r),
    ]
    for out in outs:
        assert out is None or (isinstance(out, str) and out != text)
    pos = positive_from_document(text, r)
    assert pos is None or len(pos.split()) >= 6
    rewrite = positive_rewrite(text, r)
    assert rewrite is None or rewrite[1] in POSITIVE_KINDS


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"[\w'’-]+", text.lower()))


def test_swap_exchanges_two_names_of_the_text_and_adds_no_word() -> None:
    text = "Striker Marco Silva scored twice, and Tom Baker added a third."
    out = perturb_swap(text, rng())
    assert out is not None and out != text
    assert _words(out) == _words(text)  # the very same words: invisible to novelty features
    assert out.index("Tom Baker") < out.index("Marco Silva")
    assert perturb_swap("The council met.", rng()) is None


def test_swap_exchanges_numbers_when_there_are_no_two_names() -> None:
    out = perturb_swap("prices rose 12 percent while costs fell 3 percent.", rng())
    assert out == "prices rose 3 percent while costs fell 12 percent."


def test_roles_reverse_agent_and_patient() -> None:
    out = perturb_roles("Northfield Rovers beat Castleton United 3-1 on Saturday.", rng())
    assert out == "Castleton United beat Northfield Rovers 3-1 on Saturday."
    out = perturb_roles("Greenway Construction bought the site from the council.", rng())
    assert out == "The site bought Greenway Construction from the council."
    assert perturb_roles("It rained all day in Leeds.", rng()) is None
    # Only whole noun phrases trade places, so the result stays fluent: a clause before the verb
    # or a phrase that runs on after the patient is left alone rather than garbled.
    out = perturb_roles("In May, the council bought the site from Greenway.", rng())
    assert out == "In May, the site bought the council from Greenway."
    assert perturb_roles("The aide told reporters that it was over.", rng()) is None
    assert perturb_roles("Toadman acquired the Norwegian studio Artplant.", rng()) is None
    assert perturb_roles("CHINA CRITICIZES PENTAGON AFTER VISIT", rng()) is None


def test_consistent_rewrites_only_drop_or_blur_never_add_content() -> None:
    s = "Dr Omar Haddad, who leads the team, said waiting times would fall on Monday."
    for seed in range(10):
        out = compress_sentence(s, random.Random(seed))
        assert out is not None and len(out) < len(s)
        assert set(_words(out)) <= set(_words(s))
    assert generalise_sentence("They built 120 new homes in 2019.", rng()) in (
        "They built several new homes.",
        "They built several new homes in 2019.",
        "They built 120 new homes.",
    )
    assert generalise_sentence("Prices were $150 million.", rng()) is None  # no "$several"
    fused = fuse_sentences("The plan was approved.", "The work starts in May.")
    assert fused == "The plan was approved, and the work starts in May."


def test_positive_rewrites_cover_every_kind_and_stay_inside_the_document() -> None:
    kinds = Counter()
    doc_words = set(_words(DOC)) | {"several", "and"}
    for seed in range(200):
        out = positive_rewrite(DOC, random.Random(seed))
        assert out is not None
        kinds[out[1]] += 1
        assert set(_words(out[0])) <= doc_words, out
    assert set(kinds) == set(POSITIVE_KINDS)


def test_similar_sentence_comes_from_the_most_similar_other_document() -> None:
    other_near = (
        "Milbrook council approved a new school. The school will open in 2027 with 400 places."
    )
    other_far = "Heavy rain flooded Launceston. About 150 homes were evacuated on Sunday night."
    out = similar_sentence(DOC, [DOC, other_far, other_near], rng())
    assert out is not None and out in other_near and out not in DOC
    assert similar_sentence(DOC, [DOC], rng()) is None


def test_extractive_and_abstractive_rows_on_both_sides() -> None:
    """The copy artefact is broken: copied text is consistent as often as it is altered."""
    a = augment_rows(ROWS, ratio=40, seed=0)
    kinds = Counter(k for _, k in a)
    assert {"copied", "swap", "roles", "appended"} <= set(kinds)
    copied_pos = sum(1 for (d, s, y), _ in a if y == 1 and s in d)
    from_summary_neg = sum(
        1 for (d, s, y), _ in a if y == 0 and s not in d and not any(x in s for x, _, _ in ROWS)
    )
    assert copied_pos >= 5 and from_summary_neg >= 5
