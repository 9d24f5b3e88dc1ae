"""The local backend's model strings: the default, the GBM, the ensemble, trained directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hallujudge import ConfigurationError, Judge
from hallujudge._backends._local import _load_ensemble
from hallujudge._local import _neural
from hallujudge._local._neural import available


def test_local_gbm_is_the_numpy_model_whatever_is_installed() -> None:
    judge = Judge("local:gbm")
    assert judge.model.startswith("local:local-gbm-")
    assert "neural" not in judge.model
    assert judge.prompt == "local-features@1"
    verdict = judge.score("The bridge opened in 2001.", "The bridge opened in 1990.")
    assert verdict.score is not None
    assert 0.0 <= verdict.score <= 1.0


def test_local_is_the_ensemble_where_the_neural_extra_is_installed_else_the_gbm() -> None:
    expected = Judge("local:ensemble" if available() else "local:gbm").model
    assert Judge("local").model == Judge().model == expected


def test_without_the_neural_runtime_the_default_is_the_gbm(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a base install: one runtime package the neural judge needs cannot be found.
    monkeypatch.setattr(_neural, "_RUNTIME_MODULES", (*_neural._RUNTIME_MODULES, "no_such_mod"))
    assert Judge().model == Judge("local:gbm").model
    with pytest.raises(ConfigurationError, match=r"hallujudge\[neural\]"):
        Judge("local:ensemble")


@pytest.mark.skipif(not available(), reason="needs the neural extra (onnxruntime, tokenizers)")
def test_a_damaged_neural_install_warns_and_the_default_falls_back_to_the_gbm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "neural"
    shutil.copytree(_neural.DEFAULT_NEURAL_DIR, broken)
    (broken / "adapter.npz").write_bytes(b"not a zip file")
    monkeypatch.setattr(_neural, "DEFAULT_NEURAL_DIR", broken)
    monkeypatch.setenv("HALLUJUDGE_CACHE_DIR", str(tmp_path / "cache"))
    _load_ensemble.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match=r"did not load .*Judge\('local:gbm'\)"):
            judge = Judge()
        assert judge.model == Judge("local:gbm").model
        with pytest.raises(ConfigurationError, match="could not load the local ensemble"):
            Judge("local:ensemble")
    finally:
        _load_ensemble.cache_clear()  # the next test loads the shipped adapter again


@pytest.mark.skipif(available(), reason="the neural extra is installed here")
def test_without_the_neural_extra_ensemble_says_what_to_install() -> None:
    with pytest.raises(ConfigurationError, match=r"hallujudge\[neural\]"):
        Judge("local:ensemble")


@pytest.mark.skipif(not available(), reason="needs the neural extra (onnxruntime, tokenizers)")
def test_local_ensemble_keeps_the_gbms_evidence() -> None:
    judge = Judge("local:ensemble")
    assert "neural" in judge.model
    assert judge.prompt == "local-ensemble@1"
    verdict = judge.score(
        "The museum opened in 1998 and holds 4,000 paintings.",
        "The museum opened in 1998 and holds 9,000 paintings.",
    )
    assert verdict.score is not None
    assert any(span.text == "9,000" for span in verdict.spans)  # the GBM's evidence is kept


def test_a_missing_model_directory_is_a_configuration_error(tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match=r"metadata\.json is missing"):
        Judge(f"local:{tmp_path}")


def test_local_takes_no_options() -> None:
    with pytest.raises(ConfigurationError, match="takes no options"):
        Judge("local", api_key="x")
    with pytest.raises(ConfigurationError, match=r"unknown option path="):
        Judge("local", path="/tmp")  # the directory goes in the model string


def test_a_misspelt_judge_option_is_named_rightly() -> None:
    # It went to the backend, which said only "takes no options", as if concurrency= were wrong.
    with pytest.raises(ConfigurationError, match=r"concurency= .*did you mean concurrency=\?"):
        Judge("local", concurency=4)


@pytest.mark.skipif(not available(), reason="needs the neural extra (torch, transformers)")
def test_local_neural_is_the_cross_encoder_alone() -> None:
    doc = "The museum opened in 1998 and holds 4,000 paintings."
    summary = "The museum opened in 1998 and holds 9,000 paintings."
    neural = Judge("local:neural")
    assert neural.prompt == "local-neural@1"
    assert neural.model.startswith("local:neural-only+")
    scores = {m: Judge(m).score(doc, summary).score for m in ("local:neural", "local:ensemble")}
    assert scores["local:neural"] is not None
    assert scores["local:neural"] != scores["local:ensemble"]
