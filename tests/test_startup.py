"""Start-up stays light: ``import hallujudge`` loads nothing, and ``score`` only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hallujudge

HEAVY_FOR_SCORE = (
    "hallujudge._evaluator",
    "hallujudge._report",
    "hallujudge._finetune",
    "hallujudge._finetune._mistral",
    "hallujudge._cache",
    "hallujudge.weave",
    "mistralai",
    "weave",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_hallujudge_loads_no_submodule() -> None:
    loaded = _loaded_after("import hallujudge")
    assert {m for m in loaded if m.startswith("hallujudge.")} == set()
    assert "pydantic" not in loaded


def test_a_plain_cli_score_loads_no_evaluator_report_or_fine_tuning(tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("The cat sat on the mat.", encoding="utf-8")
    code = (
        "import io, contextlib\n"
        "from hallujudge.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['score', '--doc', {str(doc)!r}, '--summary', 'A cat sat.',"
        " '--model', 'local:gbm'])\n"
        "assert code == 0, code\n"
    )
    loaded = _loaded_after(code)
    assert "hallujudge._judge" in loaded  # the probe did score
    assert loaded.isdisjoint(HEAVY_FOR_SCORE), sorted(loaded & set(HEAVY_FOR_SCORE))


def test_names_resolve_lazily_to_their_defining_module() -> None:
    from hallujudge._judge import Judge

    assert hallujudge.Judge is Judge
    assert "Judge" in dir(hallujudge)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Jugde"):
        hallujudge.Jugde  # type: ignore[attr-defined]  # noqa: B018
