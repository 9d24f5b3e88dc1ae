"""What a newcomer meets first: argument errors, CLI messages and defaults, in the right words."""

from __future__ import annotations

import pytest

from hallujudge import ConfigurationError, InvalidInputError, Judge


def test_score_with_a_non_string_is_a_type_error_that_names_the_argument() -> None:
    judge = Judge("local:gbm")
    with pytest.raises(TypeError, match="document must be str, not NoneType") as info:
        judge.score(None, "3")  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, ConfigurationError)  # still caught by except ValueError
    with pytest.raises(TypeError, match="summary must be str, not int"):
        judge.score("a document", 3)  # type: ignore[arg-type]


def test_the_built_in_sample_loads_by_name_offline() -> None:
    from hallujudge import Dataset

    data = Dataset.load("minimal-pairs")
    assert len(data) == 158
    assert data.label_counts() == {1: 49, 0: 109}
    assert len(data.source_counts()) == 13  # one source per category
    assert Dataset.builtin().content_hash() == data.content_hash()


def test_eval_defaults_to_the_local_judge_and_refuses_a_blank_file(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from hallujudge.cli import main

    blank = Path(str(tmp_path)) / "blank.jsonl"
    blank.write_text("\n", encoding="utf-8")
    assert main(["eval", str(blank), "--no-cache", "--no-progress"]) == 2
    assert "has no rows to evaluate" in capsys.readouterr().err
