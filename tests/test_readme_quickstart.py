"""The README quickstart's offline pair: the block runs and its comments are what it returns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hallujudge import Judge
from hallujudge._backends._local import _ensemble_ready

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCK = next(
    m.group(1) for m in re.finditer(r"```python\n(.*?)```", README, re.S) if "Judge()" in m.group(1)
)
# The offline part of the block: everything before the first judge that needs a key or server.
OFFLINE = BLOCK.split('judge = Judge("mistral')[0]


def test_the_block_runs_and_its_comments_are_true() -> None:
    assert "'inconsistent', P(consistent), True" in OFFLINE  # the claim being tested
    namespace: dict[str, object] = {}
    exec(compile(OFFLINE, "README quickstart", "exec"), namespace)
    v = namespace["v"]
    assert v.label == "inconsistent"  # type: ignore[attr-defined]
    assert v.hallucinated is True  # type: ignore[attr-defined]
    assert 0.0 <= v.score < 0.5  # type: ignore[attr-defined]
    summary = "The council rejected 120 homes on the brickworks site."
    assert "rejected" in v.reason  # type: ignore[attr-defined]
    assert any(summary[s.start : s.end] == "rejected" for s in v.spans)  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", ["local:gbm", "local:ensemble"])
def test_every_local_judge_gets_the_pair_and_its_consistent_twin_right(model: str) -> None:
    if model == "local:ensemble" and not _ensemble_ready():
        pytest.skip("the neural extra is not installed (or not fitted for the shipped GBM)")
    judge = Judge(model)
    doc = "The council approved 120 homes on the brickworks site."
    assert judge.score(doc, doc.replace("approved", "rejected")).label == "inconsistent"
    assert judge.score(doc, doc).label == "consistent"
