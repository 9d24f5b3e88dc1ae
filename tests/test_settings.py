"""The one immutable settings object per judge: every field reaches the cache key and traces."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from hallujudge import ConfigurationError, Evaluator, Example, FakeBackend, Judge, JudgeSettings
from hallujudge._cache import cache_key

DOC = "The bridge opened in 1932. It spans the river."
SUMMARY = "The bridge opened in 1932. It is red."

# For each settings field: Judge keywords that change only that field from the defaults.
# A field added to JudgeSettings without an entry here fails the first test.
CHANGES: dict[str, dict[str, Any]] = {
    "backend": {"model": FakeBackend(name="other-model")},
    "prompt": {"prompt": "one-shot"},
    "temperature": {"temperature": 0.3},
    "seed": {"seed": 1},
    "max_tokens": {"max_tokens": 64},
    "samples": {"samples": 3, "temperature": 0.0},
    "threshold": {"threshold": 0.6},
    "logprobs": {"logprobs": True},
    "long_documents": {"long_documents": "unscored"},
    "max_input_tokens": {"max_input_tokens": 900},
    "claims": {"claims": "sentence"},
    "repair": {"repair": True},
}


def _judge(**options: Any) -> Judge:
    model = options.pop("model", FakeBackend())
    return Judge(model, **options)


def test_every_field_has_a_change_in_this_test() -> None:
    assert set(CHANGES) == set(JudgeSettings.model_fields)


@pytest.mark.parametrize("field", sorted(JudgeSettings.model_fields))
def test_changing_any_field_changes_the_cache_key(field: str) -> None:
    base = _judge()
    changed = _judge(**dict(CHANGES[field]))
    # exactly the one field differs, so the key change is this field's doing
    differing = {
        name
        for name in JudgeSettings.model_fields
        if getattr(base.config, name) != getattr(changed.config, name)
    }
    assert differing == {field}
    assert cache_key(changed.settings(), DOC, SUMMARY) != cache_key(base.settings(), DOC, SUMMARY)


@pytest.mark.parametrize("field", sorted(JudgeSettings.model_fields))
def test_with_settings_changes_the_key_of_any_field(field: str) -> None:
    base = _judge()
    value = getattr(_judge(**dict(CHANGES[field])).config, field)
    changed = base.with_settings(**{field: value})
    assert getattr(changed.config, field) == value
    assert changed.backend is base.backend  # same connections
    assert getattr(base.config, field) != value  # the original is untouched
    assert cache_key(changed.settings(), DOC, SUMMARY) != cache_key(base.settings(), DOC, SUMMARY)


def test_settings_are_immutable() -> None:
    judge = _judge(threshold=0.7)
    with pytest.raises(pydantic.ValidationError):
        judge.config.threshold = 0.1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        judge.threshold = 0.1  # type: ignore[misc]
    judge.settings()["threshold"] = 0.1  # a copy: the judge keeps its own
    assert judge.threshold == 0.7
    assert judge.settings()["threshold"] == 0.7


def test_with_settings_refuses_unknown_fields() -> None:
    with pytest.raises(ConfigurationError, match="nonsense"):
        _judge().with_settings(nonsense=1)


def test_the_flat_form_merges_the_backend_identity() -> None:
    judge = _judge(temperature=0.2)
    flat = judge.settings()
    assert flat["name"] == "fake"
    assert flat["temperature"] == 0.2
    assert flat["prompt"] == judge.prompt == judge.config.prompt
    assert judge.config.model == "fake"


def test_reports_and_traces_show_the_same_settings() -> None:
    from hallujudge._tracing import judge_inputs

    judge = _judge(threshold=0.6, seed=7)
    rows = [Example(document=DOC, summary=SUMMARY, label=1)]
    report = Evaluator(rows, cache=None, progress=False).run(judge)
    assert report.settings == judge.settings()
    shown = judge_inputs({"self": judge, "example": rows[0]})
    assert shown["settings"] == judge.settings()
