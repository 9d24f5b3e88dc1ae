"""Pure tests of the embedded offline judge (hallujudge._local): no network, seconds to run."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallujudge._local import DEFAULT_MODEL_DIR, LocalModel, LocalPrediction, train_local_model
from hallujudge._local._data import find_shared_data, load_pairs
from hallujudge._local._features import FEATURE_NAMES, analyze, build_lexicon
from hallujudge._local._gbm import GBMParams, GradientBoostedTrees, average_trees, fit_gbm
from hallujudge._local._metrics import classification_metrics, ece, roc_auc
from hallujudge._local._suites import suites
from hallujudge._local._text import split_sentences, stem, tokenize
from hallujudge._local._train import data_hash, fit_platt

IDF = build_lexicon(["The council met on Monday.", "Paris is the capital of France."])
DOC = (
    "The council said the ferry service would be slower. Councillor Shirley Smart said it was a "
    "response to a complaint. The service has run since 1859 and carries 3,000 people a day."
)


def feat(a_features: np.ndarray, name: str) -> float:
    return float(a_features[FEATURE_NAMES.index(name)])


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel.load()


# ---------------------------------------------------------------- text and features


def test_tokenize_offsets_and_normalisation() -> None:
    text = "Mr. Smith paid $1,000 in 1997. He didn't go to Wight's ferry."
    toks = tokenize(text)
    for t in toks:
        assert text[t.start : t.end] == t.text
    norms = [t.norm for t in toks]
    assert "1000" in norms  # thousands separator removed
    assert "wight" in norms  # possessive split off
    assert "didn't" in norms
    assert {t.sent for t in toks} == {0, 1}  # "Mr." does not end the sentence


def test_ptb_style_text_is_handled() -> None:
    text = "<t> -lrb- cnn -rrb- the man 's car . </t> <t> he left . </t>"
    norms = [t.norm for t in tokenize(text)]
    assert norms == ["cnn", "the", "man", "s", "car", "he", "left"]
    assert len(split_sentences(text)) == 2


def test_stem_matches_inflections() -> None:
    assert stem("charged") == stem("charges") == stem("charging")
    assert stem("phones") == stem("phone")


def test_absent_number_triggers_number_feature_with_offsets() -> None:
    summary = "The service has run since 1859 and carries 4,500 people a day."
    a = analyze(DOC, summary, IDF)
    assert feat(a.features, "num_count") == 2
    assert feat(a.features, "num_novel_count") == 1
    assert feat(a.features, "num_novel_frac") == pytest.approx(0.5)
    nums = [s for s in a.spans if s.kind == "number"]
    assert len(nums) == 1
    assert summary[nums[0].start : nums[0].end] == "4,500"


def test_supported_number_is_not_flagged() -> None:
    a = analyze(DOC, "The service carries 3000 people a day.", IDF)
    assert feat(a.features, "num_novel_count") == 0
    assert not [s for s in a.spans if s.kind == "number"]


def test_absent_entity_is_flagged_and_present_one_is_not() -> None:
    summary = "Councillor Smart blamed Boris Johnson for the slower ferry."
    a = analyze(DOC, summary, IDF)
    ents = [(summary[s.start : s.end], s.kind) for s in a.spans]
    assert ("Boris Johnson", "entity") in ents  # adjacent names merge into one span
    assert all("Smart" not in text for text, _ in ents)
    assert feat(a.features, "ent_novel_count") == 2


def test_copied_summary_has_full_alignment() -> None:
    a = analyze(DOC, "Councillor Shirley Smart said it was a response to a complaint.", IDF)
    assert feat(a.features, "content_novel_frac") == 0
    assert feat(a.features, "align1_min") == pytest.approx(1.0)
    assert a.spans == ()


def test_names_far_apart_are_reported_unlinked() -> None:
    doc = (
        "Alice Moreau lives in Lyon. "
        + "Nothing else happened that day. " * 5
        + "Bob Carter visited Oslo."
    )
    a = analyze(doc, "Alice Moreau visited Oslo.", IDF)
    assert feat(a.features, "ent_pair_cooc_frac") == 0.0
    assert ("Moreau", "Oslo") in a.unlinked


def test_negation_mismatch() -> None:
    doc = "The minister approved the new budget on Tuesday."
    plain = analyze(doc, "The minister approved the budget.", IDF)
    negated = analyze(doc, "The minister did not approve the budget.", IDF)
    assert feat(plain.features, "neg_mismatch") == 0
    assert feat(negated.features, "neg_mismatch") == 1


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_spans_always_point_into_the_summary(doc: str, summary: str) -> None:
    a = analyze(doc, summary, IDF)
    assert a.features.shape == (len(FEATURE_NAMES),)
    assert np.isfinite(a.features).all()
    for s in a.spans:
        assert 0 <= s.start < s.end <= len(summary)
        assert summary[s.start : s.end] == s.text


# ---------------------------------------------------------------- shipped model


def test_default_model_loads_with_metadata(model: LocalModel) -> None:
    assert model.path == DEFAULT_MODEL_DIR
    assert model.version == model.metadata["version"]
    # A model may use a subset of the features (v1 predates the v2 ones), never unknown ones.
    assert set(model.metadata["features"]) <= set(FEATURE_NAMES)
    assert model.columns is not None
    assert [FEATURE_NAMES[i] for i in model.columns] == model.metadata["features"]
    assert len(model.metadata["training_data"]["sha256"]) == 64
    for f in DEFAULT_MODEL_DIR.iterdir():
        assert f.stat().st_size < 1_000_000, f


def test_prediction_is_probability_and_deterministic(model: LocalModel) -> None:
    pairs = [
        (DOC, "The ferry service will be slower after a complaint."),
        (DOC, "The ferry service was closed in 1997 by Boris Johnson."),
        ("", "anything"),
        (DOC, ""),
        ("", ""),
    ]
    first = model.predict_many(pairs)
    second = model.predict_many(pairs)
    assert first == second
    assert all(isinstance(p, LocalPrediction) for p in first)
    assert all(0.0 <= p.p_consistent <= 1.0 for p in first)
    assert first[0].p_consistent > first[1].p_consistent
    assert first[2].p_consistent == first[3].p_consistent == 0.5
    assert "Empty" in first[2].reason
    assert "Empty" in first[3].reason
    assert model.predict(*pairs[1]) == first[1]


def test_reason_names_unsupported_parts_with_offsets(model: LocalModel) -> None:
    summary = "The ferry service was closed in 1997 by Boris Johnson."
    p = model.predict(DOC, summary)
    assert "'1997' (number)" in p.reason
    assert "'Boris Johnson' (entity)" in p.reason
    assert "Not supported by the document" in p.reason
    spans = {summary[s:e]: note for s, e, note in p.spans}
    assert spans["1997"] == "number"
    assert spans["Boris Johnson"] == "entity"


def test_supported_summary_reason(model: LocalModel) -> None:
    p = model.predict(DOC, "Councillor Shirley Smart said it was a response to a complaint.")
    assert p.spans == ()
    assert "Every content word" in p.reason
    assert p.p_consistent > 0.5


def test_reason_says_which_name_took_another_ones_place(model: LocalModel) -> None:
    doc = (
        "Northfield Rovers beat Castleton United 3-1 on Saturday. Striker Marco Silva scored "
        "twice, and defender Tom Baker added a third with a header after the break."
    )
    swapped = model.predict(doc, "Castleton United beat Northfield Rovers 3-1 on Saturday.")
    assert "'Castleton United' is next to 'beat' here" in swapped.reason
    assert "'beat' goes with 'Northfield Rovers'" in swapped.reason
    assert swapped.spans == ()  # every word is in the document: nothing to underline
    copied = model.predict(doc, "Northfield Rovers beat Castleton United 3-1 on Saturday.")
    assert "goes with" not in copied.reason
    assert copied.p_consistent > swapped.p_consistent


def test_huge_document_stays_fast(model: LocalModel) -> None:
    doc = ("The council said the ferry would be slower after 12 complaints. " * 16_000)[:1_000_000]
    t0 = time.perf_counter()
    p = model.predict(doc, "The ferry will be slower.")
    assert time.perf_counter() - t0 < 5.0
    assert 0.0 <= p.p_consistent <= 1.0


def test_missing_model_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        LocalModel.load(tmp_path)


# ---------------------------------------------------------------- training pieces


def test_gbm_learns_an_interaction_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(2000, 3))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    m = fit_gbm(x, y, params=GBMParams(n_trees=60, max_depth=3, learning_rate=0.2))
    acc = float(((m.decision_function(x) > 0) == y).mean())
    assert acc > 0.95
    again = GradientBoostedTrees.from_arrays(m.to_arrays())
    np.testing.assert_array_equal(again.decision_function(x), m.decision_function(x))


def test_metrics_against_hand_computed_values() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    assert ece([1, 0], [1.0, 0.0]) == pytest.approx(0.0)
    assert ece([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.0)
    assert ece([1, 1], [0.75, 0.75]) == pytest.approx(0.25)
    m = classification_metrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6])
    assert m["accuracy"] == pytest.approx(0.5)


def test_platt_recovers_known_slope() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=20_000)
    y = (rng.uniform(size=z.size) < 1 / (1 + np.exp(-(2.0 * z - 0.5)))).astype(np.int64)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(2.0, abs=0.1)
    assert b == pytest.approx(-0.5, abs=0.1)


def test_data_hash_is_order_independent() -> None:
    rows = [("d1", "s1", 1), ("d2", "s2", 0)]
    assert data_hash(rows) == data_hash(rows[::-1])
    assert data_hash(rows) != data_hash([("d1", "s1", 0), ("d2", "s2", 0)])


NAMES = ["Alice Moreau", "Bob Carter", "Chen Wei", "Dana Scully", "Eva Lind", "Farid Khan"]
CITIES = ["Lyon", "Oslo", "Lima", "Kyoto", "Perth", "Cairo"]
FILLER = [
    "The weather was mild for the season.",
    "Officials did not comment further.",
    "Local traders welcomed the news.",
]


def synthetic(n_docs: int, seed: int) -> list[tuple[str, str, int]]:
    """Documents about who went where and how many; inconsistent summaries swap a fact."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, int]] = []
    for _ in range(n_docs):
        name, other = rng.sample(NAMES, 2)
        city, other_city = rng.sample(CITIES, 2)
        n = rng.randint(2, 90)
        doc = " ".join(
            [
                rng.choice(FILLER),
                f"{name} travelled to {city} with {n} colleagues.",
                rng.choice(FILLER),
            ]
        )
        rows.append((doc, f"{name} went to {city} with {n} colleagues.", 1))
        bad = rng.choice(
            [
                f"{name} went to {other_city} with {n} colleagues.",
                f"{other} went to {city} with {n} colleagues.",
                f"{name} went to {city} with {n + rng.randint(1, 9)} colleagues.",
            ]
        )
        rows.append((doc, bad, 0))
    return rows


def test_train_save_load_predict_end_to_end(tmp_path: Path) -> None:
    train, test = synthetic(150, seed=1), synthetic(40, seed=2)
    params = GBMParams(n_trees=40, max_depth=2, min_leaf=5.0)
    meta = train_local_model(train, tmp_path / "m", val=test, seed=3, params=params)
    assert (tmp_path / "m" / "model.npz").is_file()
    on_disk = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert on_disk == meta
    assert meta["training_data"]["n_rows"] == 300
    assert meta["training_data"]["sha256"] == data_hash(train)
    assert meta["metrics"]["val"]["roc_auc"] > 0.9
    m = LocalModel.load(tmp_path / "m")
    probs = [p.p_consistent for p in m.predict_many([(d, s) for d, s, _ in test])]
    assert roc_auc([y for _, _, y in test], probs) == pytest.approx(
        meta["metrics"]["val"]["roc_auc"]
    )
    # Same seed, same model.
    meta2 = train_local_model(train, tmp_path / "m2", seed=3, params=params)
    assert meta2["calibration"] == meta["calibration"]
    assert (tmp_path / "m" / "model.npz").read_bytes() == (
        tmp_path / "m2" / "model.npz"
    ).read_bytes()


def test_training_rejects_bad_labels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="labels"):
        train_local_model([("d", "s", 2)] * 4, tmp_path)
    with pytest.raises(ValueError, match="both labels"):
        train_local_model([("d", "s", 1)] * 10, tmp_path)


# ---------------------------------------------------------------- shipped metrics are real

DATA = find_shared_data(Path(__file__).resolve().parent)


@pytest.mark.skipif(
    DATA is None, reason="../shared/data not present; cannot re-check shipped metrics"
)
def test_shipped_metadata_metrics_match_val(model: LocalModel) -> None:
    assert DATA is not None
    fib_val = load_pairs(DATA / "fib" / "val.jsonl")
    usb_val = load_pairs(DATA / "usb" / "val.jsonl")
    sets = {"fib_val_all": fib_val, "fib_val_first100": fib_val[:100], "usb_val": usb_val}
    for name, rows in sets.items():
        probs = [p.p_consistent for p in model.predict_many([(d, s) for d, s, _ in rows])]
        got = classification_metrics([y for _, _, y in rows], probs)
        shipped = model.metadata["metrics"][name]
        for key in ("n", "accuracy", "balanced_accuracy", "roc_auc", "ece"):
            assert got[key] == pytest.approx(shipped[key], abs=1e-9), (name, key)


@pytest.mark.skipif(DATA is None, reason="../shared/data not present; cannot re-check ood/dev")
def test_shipped_metadata_matches_ood_dev_and_minimal_pairs(model: LocalModel) -> None:
    """The numbers the benchmark prints (same module) are the ones in the metadata."""
    assert DATA is not None
    got = suites(lambda pairs: [p.p_consistent for p in model.predict_many(pairs)], DATA)
    shipped = model.metadata["metrics"]
    assert got["minimal_pairs"] == shipped["minimal_pairs"]
    assert set(got["ood_dev"]) == set(shipped["ood_dev"])
    assert len(got["ood_dev"]) == 13  # 12 parts + macro
    for part, metrics in got["ood_dev"].items():
        for key in ("balanced_accuracy", "roc_auc"):
            assert metrics[key] == pytest.approx(shipped["ood_dev"][part][key], abs=1e-9)


def test_demonyms_match_their_place() -> None:
    assert stem("welsh") == stem("wales")
    assert stem("americans") == stem("america")
    a = analyze("The Welsh government met in Cardiff.", "The government of Wales met.", IDF)
    assert feat(a.features, "content_novel_count") == 0


def test_half_supported_name_is_counted() -> None:
    doc = "Murdoch joined Dundee United from County on Monday."
    a = analyze(doc, "Dundee United signed James Murdoch.", IDF)
    assert feat(a.features, "ent_phrase_partial") == 1  # "James Murdoch": only half supported
    assert ("James", "entity") in [(s.text, s.kind) for s in a.spans]
    b = analyze(doc, "Dundee United signed Murdoch.", IDF)
    assert feat(b.features, "ent_phrase_partial") == 0


def test_caseless_text_still_finds_names_via_corpus_table() -> None:
    lex = build_lexicon(["Police in London said the London office closed."] * 3)
    a = analyze("the office in paris closed .", "the office in london closed .", lex)
    assert [(s.text, s.kind) for s in a.spans] == [("london", "entity")]


def test_batch_equals_single_predictions_with_shared_documents(model: LocalModel) -> None:
    other = "Rain is expected in Cardiff on Friday, forecasters said."
    pairs = [
        (DOC, "The ferry will be slower."),
        (other, "Rain is expected on Friday."),
        (DOC, "The ferry was closed in 1997."),
        (other, "Snow is expected in Leeds."),
    ]
    assert model.predict_many(pairs) == [model.predict(d, s) for d, s in pairs]


def test_load_rejects_a_model_with_other_features(tmp_path: Path) -> None:
    for f in DEFAULT_MODEL_DIR.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["features"] = [*meta["features"][:-1], "a_feature_from_the_future"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="a_feature_from_the_future"):
        LocalModel.load(tmp_path)


def test_feature_subset_and_augmentation_train_load_predict(tmp_path: Path) -> None:
    train, test = synthetic(150, seed=1), synthetic(40, seed=2)
    params = GBMParams(n_trees=40, max_depth=2, min_leaf=5.0)
    names = ("num_novel_count", "ent_novel_count", "slot_conflict", "align1_min")
    meta = train_local_model(
        train, tmp_path / "m", val=test, seed=3, params=params, features=names, augment=0.5,
        augment_weight=0.5,
    )  # fmt: skip
    assert meta["features"] == list(names)
    assert meta["monotone_decreasing"] == ["num_novel_count", "ent_novel_count", "slot_conflict"]
    aug = meta["augmentation"]
    assert (aug["ratio"], aug["weight"], aug["n_rows"]) == (0.5, 0.5, 150)
    assert sum(aug["kinds"].values()) == 150
    assert meta["training_data"]["n_rows"] == 300  # real rows only; synthetic ones are extra
    m = LocalModel.load(tmp_path / "m")
    assert [FEATURE_NAMES[i] for i in m.columns] == list(names)  # type: ignore[union-attr]
    probs = [p.p_consistent for p in m.predict_many([(d, s) for d, s, _ in test])]
    assert roc_auc([y for _, _, y in test], probs) == pytest.approx(
        meta["metrics"]["val"]["roc_auc"]
    )
    assert meta["metrics"]["val"]["roc_auc"] > 0.9
    with pytest.raises(ValueError, match="unknown feature"):
        train_local_model(train, tmp_path / "x", features=("nope",))
    with pytest.raises(ValueError, match="augment"):
        train_local_model(train, tmp_path / "x", augment=-1.0)


def test_shipped_metadata_is_complete(model: LocalModel) -> None:
    meta = model.metadata
    for key in ("version", "features", "params", "seed", "calibration", "training_data_hash"):
        assert key in meta
    assert meta["training_seconds"] > 0
    assert set(meta["metrics"]) >= {"train_cv", "fib_val_all", "fib_val_first100", "usb_val"}
    assert meta["training_data"]["n_rows"] == 820 + 5050 + 5604  # FIB, USB, ood train
    assert meta["augmentation"]["n_rows"] > 0
    assert meta["files"]["model.npz"] == (DEFAULT_MODEL_DIR / "model.npz").stat().st_size


def test_gbm_monotone_constraint_is_exact() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, size=(3000, 2))
    # Non-monotone truth in feature 0; constrain it to be non-increasing anyway.
    logit = np.sin(6 * x[:, 0]) + x[:, 1]
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    params = GBMParams(n_trees=80, max_depth=3, learning_rate=0.2, min_leaf=5.0)
    m = fit_gbm(x, y, params=params, monotone=[-1, 0])
    grid = np.linspace(0, 1, 200)
    for other in (0.1, 0.5, 0.9):
        z = m.decision_function(np.column_stack([grid, np.full(200, other)]))
        assert (np.diff(z) <= 1e-12).all()
    free = fit_gbm(x, y, params=params)
    z_free = free.decision_function(np.column_stack([grid, np.full(200, 0.5)]))
    assert (np.diff(z_free) > 1e-9).any()  # without the constraint the curve does go up


def test_average_trees_is_the_mean_of_the_log_odds_and_bagging_trains(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(np.int64)
    params = GBMParams(n_trees=20, max_depth=2, min_leaf=5.0)
    fits = [fit_gbm(x, y, params=params, seed=s) for s in (0, 1, 2)]
    avg = average_trees(fits)
    want = np.mean([f.decision_function(x) for f in fits], axis=0)
    np.testing.assert_allclose(avg.decision_function(x), want, rtol=1e-12, atol=1e-12)
    assert avg.feature.shape[0] == 60
    with pytest.raises(ValueError, match="at least one model"):
        average_trees([])
    train = synthetic(60, seed=4)
    meta = train_local_model(train, tmp_path / "b", seed=1, params=params, n_bags=3)
    assert meta["n_bags"] == 3
    assert LocalModel.load(tmp_path / "b").trees.feature.shape[0] == 60
    with pytest.raises(ValueError, match="n_bags"):
        train_local_model(train, tmp_path / "c", n_bags=0)
