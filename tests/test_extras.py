"""A missing optional extra is named, smallest first, through the public API."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import hallujudge
from hallujudge import ConfigurationError, Dataset, Judge, MissingExtraError


def _block(monkeypatch: pytest.MonkeyPatch, *packages: str, fresh: tuple[str, ...] = ()) -> None:
    """Make ``import package`` fail as if it were not installed; re-import ``fresh`` modules."""
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in (*packages, *fresh)):
            monkeypatch.delitem(sys.modules, name)
    for p in packages:
        monkeypatch.setitem(sys.modules, p, None)


def test_mistral_judge_without_the_sdk_names_the_mistral_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _block(monkeypatch, "mistralai", fresh=("hallujudge._backends.mistral",))
    with pytest.raises(MissingExtraError) as info:
        Judge("mistral:open-mistral-7b", api_key="k")
    message = str(info.value)
    assert "pip install 'hallujudge[mistral]'" in message
    assert "[all]" not in message
    assert "Judge('mistral:open-mistral-7b')" in message
    assert info.value.extra == "mistral"
    assert isinstance(info.value, ConfigurationError) and isinstance(info.value, ImportError)


def test_a_missing_transitive_dependency_still_names_the_mistral_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mistralai's own HTTP client (httpx2) is part of the same extra, not a separate fix
    _block(monkeypatch, "httpx2", fresh=("mistralai", "hallujudge._backends.mistral"))
    with pytest.raises(MissingExtraError) as info:
        Judge("mistral-large-latest", api_key="k")
    assert "pip install 'hallujudge[mistral]'" in str(info.value)
    assert "httpx2 is not installed" in str(info.value)


def test_import_hallujudge_weave_without_weave_names_the_weave_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _block(monkeypatch, "weave", fresh=("hallujudge.weave",))
    monkeypatch.delattr(hallujudge, "weave", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'hallujudge\[weave\]'") as info:
        importlib.import_module("hallujudge.weave")
    assert isinstance(info.value, MissingExtraError)
    assert info.value.name == "weave"


def test_parquet_without_pyarrow_names_the_data_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "rows.parquet"
    path.write_bytes(b"PAR1")
    _block(monkeypatch, "pyarrow")
    with pytest.raises(MissingExtraError, match=r"pip install 'hallujudge\[data\]'"):
        Dataset.from_parquet(path)
