"""The pytest plugin and hallujudge.testing, run by pytest itself on real test files (pytester).

The inner runs load the plugin through its installed ``pytest11`` entry point, as a user's
suite would. They use the numpy judge (``local:gbm``) to stay fast; which model the fixture
gets is checked without building the default one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from hallujudge import Judge
from hallujudge._pytest_plugin import missing_key
from hallujudge.testing import (
    Tally,
    assert_consistent,
    assert_hallucinated,
    pop_context,
    push_context,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
QUIET = (
    "-p",
    "no:randomly",
    "-p",
    "no:cacheprovider",
    "-o",
    "asyncio_default_fixture_loop_scope=function",
)
GBM = ("--hallujudge-model", "local:gbm", *QUIET)

DOC = "The company was founded in 1998 in Paris by Anna Smith."
GOOD = "The company was founded in 1998 in Paris."
BAD = "The company was founded in 2005 in Berlin."

SUITE = f"""
from hallujudge.testing import assert_consistent, assert_hallucinated

DOC = {DOC!r}

def test_supported():
    assert_consistent(DOC, {GOOD!r})

def test_made_up():
    assert_consistent(DOC, {BAD!r})

def test_known_hallucination():
    verdict = assert_hallucinated(DOC, {BAD!r})
    assert [s.text for s in verdict.spans] == ["2005", "Berlin"]
"""


def test_failure_message_names_the_claims_and_the_summary_counts(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest(*GBM)
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the summary is not supported by the document (expected consistent)",
            "*verdict: inconsistent",
            "*score:   0.* (P(consistent); label decides)",
            "*judge:   local:*",
            "*unsupported claims (character offsets in the summary):",
            "*[[]27:31] '2005': number not in the document",
            "*[[]35:41] 'Berlin': entity not in the document",
            f"*summary: {BAD!r}",
        ]
    )
    # The traceback points at the user's line, not into hallujudge.testing.
    assert "test_suite.py:9: AssertionError" in out
    assert "def _check(" not in out
    result.stdout.fnmatch_lines(
        [
            "*= hallujudge =*",
            "3 pairs judged by local:*: 1 failed, 0 unscored",
            "latency: * s in total, * ms mean, * ms p95",
            "tokens: 0 prompt + 0 completion; cost: $0 (no tokens reported)",
        ]
    )


def test_unscored_fails_with_its_reason_unless_allowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_unscored="""
        from hallujudge.testing import assert_consistent, assert_hallucinated

        def test_empty_document():
            assert_consistent("   ", "The council approved 120 homes.")

        def test_empty_document_hallucinated():
            assert_hallucinated("", "The council approved 120 homes.")

        def test_allowed():
            verdict = assert_consistent("", "The council approved 120 homes.", allow_unscored=True)
            assert verdict.label == "unscored"
        """
    )
    result = pytester.runpytest(*GBM)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the judge could not decide (unscored): the document is empty*",
            "*(pass allow_unscored=True to accept undecided verdicts)",
        ]
    )
    result.stdout.fnmatch_lines(["3 pairs judged by *: 2 failed, 3 unscored"])


def test_threshold_applies_to_the_score(pytester: pytest.Pytester) -> None:
    score = Judge("local:gbm").score(DOC, GOOD).score
    assert score is not None and 0.5 < score < 0.999
    pytester.makepyfile(
        test_threshold=f"""
        from hallujudge.testing import assert_consistent

        def test_strict():
            assert_consistent({DOC!r}, {GOOD!r}, threshold=0.999)

        def test_lenient():
            assert_consistent({DOC!r}, {GOOD!r}, threshold=0.5)
        """
    )
    result = pytester.runpytest(*GBM)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected consistent*",
            "*verdict: consistent",
            f"*score:   {score:.3f} (P(consistent); score >= 0.999 means consistent)",
        ]
    )


MODEL_PROBE = """
from hallujudge._pytest_plugin import _SESSION

def test_model(pytestconfig):
    print("MODEL=" + pytestconfig.stash[_SESSION].model)
"""


def _model_of(result: pytest.RunResult) -> str:
    found = re.search(r"MODEL=(\S+)", result.stdout.str())
    assert found, result.stdout.str()
    return found.group(1)


def test_model_option_beats_ini_beats_env_beats_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_probe=MODEL_PROBE)
    monkeypatch.delenv("HALLUJUDGE_MODEL", raising=False)
    assert _model_of(pytester.runpytest("-s", *QUIET)) == "local"
    monkeypatch.setenv("HALLUJUDGE_MODEL", "local:neural")
    assert _model_of(pytester.runpytest("-s", *QUIET)) == "local:neural"
    pytester.makeini("[pytest]\nhallujudge_model = local:ensemble\n")
    assert _model_of(pytester.runpytest("-s", *QUIET)) == "local:ensemble"
    assert _model_of(pytester.runpytest("-s", *GBM)) == "local:gbm"


def test_judge_fixture_is_the_configured_judge_built_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixture="""
        import hallujudge
        from hallujudge.testing import assert_hallucinated

        SEEN = []

        def test_one(judge):
            assert isinstance(judge, hallujudge.Judge)
            assert judge.model.startswith("local:local-gbm")
            SEEN.append(judge)

        def test_two(judge):
            assert judge is SEEN[0]
            # the assertions default to the same judge
            v = assert_hallucinated(
                "The company was founded in 1998 in Paris by Anna Smith.",
                "The company was founded in 2005 in Berlin.",
            )
            assert v.model == judge.model
        """
    )
    pytester.runpytest(*GBM).assert_outcomes(passed=2)


def test_api_marker_skips_without_a_key_and_runs_with_one(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_api="""
        import pytest

        @pytest.mark.hallujudge_api
        def test_marked(judge):
            assert judge.model == "mistral:open-mistral-7b"

        @pytest.mark.hallujudge_api(model="openai:gpt-4o-mini")
        def test_marked_other_model():
            pass

        def test_unmarked(judge):
            pass
        """
    )
    args = ("--hallujudge-model", "mistral:open-mistral-7b", "-rs", *QUIET)
    result = pytester.runpytest(*args)
    result.assert_outcomes(skipped=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*'mistral:open-mistral-7b' needs MISTRAL_API_KEY*@pytest.mark.hallujudge_api*",
            "*MISTRAL_API_KEY is not set: the judge 'mistral:open-mistral-7b' needs it",
            "*OPENAI_API_KEY is not set: the judge 'openai:gpt-4o-mini' needs it",
        ]
    )
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key-not-real-0123456789")
    pytester.runpytest(*args).assert_outcomes(passed=2, skipped=1)


def test_missing_key_by_model_string(monkeypatch: pytest.MonkeyPatch) -> None:
    for model in ("mistral:open-mistral-7b", "mistral-large-latest", "ft:open-mistral-7b:x"):
        assert missing_key(model) == "MISTRAL_API_KEY"
    assert missing_key("openai:gpt-4o-mini") == "OPENAI_API_KEY"
    for model in ("local", "local:gbm", "fake", "mycorp:judge"):
        assert missing_key(model) is None
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")  # a local server
    assert missing_key("openai:qwen") is None
    monkeypatch.setenv("MISTRAL_API_KEY", "k" * 32)
    assert missing_key("mistral-large-latest") is None


def test_no_summary_and_no_judge_built_when_unused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys
        from hallujudge._pytest_plugin import _SESSION

        def test_plain(pytestconfig):
            assert pytestconfig.stash[_SESSION]._judge is None
            assert "torch" not in sys.modules  # no local model loaded
        """
    )
    result = pytester.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=1)
    assert "hallujudge" not in "".join(line for line in result.stdout.lines if line.startswith("="))


def test_price_option_prices_the_tokens(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_priced="""
        from hallujudge import FakeBackend, Judge, Response, Usage
        from hallujudge.testing import assert_consistent

        JUDGE = Judge(FakeBackend(default=Response(
            text='{"consistency": 1}', usage=Usage(prompt_tokens=1000, completion_tokens=10))))

        def test_priced():
            assert_consistent("Anna lives in Rome.", "Anna lives in Rome.", judge=JUDGE)
        """
    )
    result = pytester.runpytest("--hallujudge-price", "2,10", *QUIET)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["tokens: 1000 prompt + 10 completion; cost: $0.0021"])
    bad = pytester.runpytest("--hallujudge-price", "cheap", *QUIET)
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--hallujudge-price takes USD per million tokens*'cheap'*"])


def test_assertions_count_into_the_current_tally() -> None:
    judge = Judge("local:gbm")
    tally = Tally()
    push_context(tally, lambda: judge)
    try:
        verdict = assert_consistent(DOC, GOOD)
        assert verdict.label == "consistent" and verdict.model == judge.model
        with pytest.raises(AssertionError, match=r"\[27:31\] '2005'"):
            assert_consistent(DOC, BAD, judge="local:gbm")
        with pytest.raises(ValueError, match="threshold must lie in"):
            assert_hallucinated(DOC, BAD, judge=judge, threshold=2.0)
    finally:
        pop_context(tally)
    assert (tally.pairs, tally.failures, tally.unscored) == (2, 1, 0)
    assert len(tally.latency_s) == 2 and tally.models == [judge.model]


def test_guide_example_runs(pytester: pytest.Pytester) -> None:
    """The test file in docs/guides/pytest.md passes as written."""
    page = (ROOT / "docs" / "guides" / "pytest.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n# test_answers\.py\n(.*?)```", page, re.S)
    assert len(blocks) == 1
    pytester.makepyfile(test_answers=blocks[0])
    result = pytester.runpytest(*GBM)
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["3 pairs judged by *: 0 failed, 0 unscored"])
    assert sys.modules.get("hallujudge.testing") is not None
