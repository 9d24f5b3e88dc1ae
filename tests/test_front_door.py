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
