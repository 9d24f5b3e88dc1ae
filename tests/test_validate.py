"""Numeric options are finite and in range, or a ConfigurationError names the keyword."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hallujudge import ConfigurationError, DataError, Dataset, Judge


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("timeout_s", math.nan),
        ("timeout_s", math.inf),
        ("deadline_s", math.nan),
        ("rpm", math.nan),
        ("rpm", -1),
        ("max_wait_s", math.inf),
        ("temperature", math.nan),
        ("threshold", math.nan),
        ("max_tokens", 0),
        ("max_input_tokens", 1.5),
        ("samples", True),
    ],
)
def test_judge_numeric_options_must_be_finite_and_in_range(keyword: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=keyword):
        Judge("fake", **{keyword: value})  # type: ignore[arg-type]


def test_non_utf8_stdin_is_a_clear_error_with_exit_2() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_ERROR_REPORTING": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "hallujudge", "score", "--doc", "-", "--summary", "s"],
        input="caf\xe9 au lait".encode("latin-1"),
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert b"document on stdin is not UTF-8 text" in done.stderr
    assert b"Traceback" not in done.stderr


def test_deeply_nested_jsonl_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"premise": "a", "hypothesis": "b", "target": 1}\n' + "[" * 100_000 + "\n")
    with pytest.raises(DataError, match="line 2 nests JSON too deeply"):
        Dataset.load(path)
