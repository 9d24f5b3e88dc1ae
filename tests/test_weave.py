"""Weave tracing and evaluations, with the real weave client against a local fake trace server.

Flushes are slow (1-2 s each), so everything traced is done once in a module-scoped session
(`traced`) and the tests assert on what the fake server received.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

weave = pytest.importorskip("weave")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql.*")

from fakes.mistral_server import MistralFakeServer
from fakes.openai_server import FakeOpenAIServer
from fakes.weave_server import FAKE_WANDB_API_KEY, FakeWeaveServer
from hallujudge import (
    AuthenticationError,
    ConfigurationError,
    Evaluator,
    Example,
    FakeBackend,
    FunctionBackend,
    Judge,
    Lineage,
    Response,
    ServerError,
    Usage,
    _tracing,
)
from hallujudge.weave import (
    JudgeModel,
    WeaveCallback,
    as_model,
    log_report,
    publish_lineage,
    scorers,
    summarize_rows,
    to_rows,
)

FAKE_MISTRAL_KEY = "mistral-fake-key-0123456789abcdef"
FAKE_OPENAI_KEY = "sk-fake-openai-key-0123456789abcdef"
FAKE_BACKEND_KEY = "backend-attr-secret-0123456789"
LEAKY_BACKEND_KEY = "leaky-backend-secret-9876543210"
# Passed as api_key= (never in the environment) and echoed by the server in its answer.
ECHOED_MISTRAL_KEY = "echoed-mistral-key-5555aaaa"
SECRETS = (
    FAKE_MISTRAL_KEY,
    FAKE_OPENAI_KEY,
    FAKE_BACKEND_KEY,
    LEAKY_BACKEND_KEY,
    ECHOED_MISTRAL_KEY,
)

DOC = "The cat sat on the mat in Paris on Monday."
OK_SUMMARY = "A cat sat on a mat."
BAD_SUMMARY = "A dog sat on the mat in Rome."
ANSWER_0 = '{"consistency": 0, "reason": "the animal is a dog"}'
ANSWER_1 = '{"consistency": 1, "reason": "supported"}'


def _disable_pypi_check(monkeypatch: pytest.MonkeyPatch) -> None:
    # weave.init asks pypi.org for a newer weave (3 s timeout); weave 0.54 has no setting for
    # it, and tests must not touch the network.
    import weave.trace.init_message as init_message

    monkeypatch.setattr(init_message, "_print_version_check", lambda: None)


def _env(server: FakeWeaveServer) -> dict[str, str]:
    return {
        **server.env(),
        "HF_HUB_OFFLINE": "1",
        "MISTRAL_API_KEY": FAKE_MISTRAL_KEY,
        "OPENAI_API_KEY": FAKE_OPENAI_KEY,
    }


def _classify(request: Any) -> str:
    """Answers by content: 'dog' -> inconsistent, 'junk' -> unreadable, 'boom' -> raises."""
    summary = request.example.summary
    if "boom" in summary:
        raise RuntimeError("the backend fell over")
    if "junk" in summary:
        return "I would rather not say."
    return ANSWER_0 if "dog" in summary else ANSWER_1


# -- without weave.init: a no-op ------------------------------------------------------------


def test_import_hallujudge_does_not_import_weave() -> None:
    code = (
        "import sys, hallujudge\n"
        "from hallujudge import Judge, FakeBackend\n"
        "Judge(FakeBackend()).score('a b c', 'a b')\n"
        "assert 'weave' not in sys.modules, 'weave was imported'\n"
        "import hallujudge.weave\n"
        "assert 'weave' in sys.modules\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr


def test_without_weave_init_nothing_is_sent_and_verdicts_are_identical() -> None:
    assert not _tracing.is_tracing(), "another test left a weave client initialised"
    with FakeWeaveServer() as server, pytest.MonkeyPatch.context() as mp:
        for key, value in _env(server).items():
            mp.setenv(key, value)
        traced_path = Judge(FunctionBackend(_classify, name="fn"))
        verdicts = [traced_path.score(DOC, s) for s in (OK_SUMMARY, BAD_SUMMARY, "junk")]
        # The same judgments with every wrapper peeled off (functools.wraps keeps __wrapped__).
        mp.setattr(Judge, "ajudge", Judge.ajudge.__wrapped__)  # type: ignore[attr-defined]
        for name in ("render", "parse", "complete"):
            mp.setattr(_tracing, name, getattr(_tracing, name).__wrapped__)
        plain = Judge(FunctionBackend(_classify, name="fn"))
        expected = [plain.score(DOC, s) for s in (OK_SUMMARY, BAD_SUMMARY, "junk")]
        assert server.requests == []
    strip = {"latency_s"}
    assert [v.model_dump(exclude=strip) for v in verdicts] == [
        v.model_dump(exclude=strip) for v in expected
    ]
    assert [v.label for v in verdicts] == ["consistent", "inconsistent", "unscored"]


def test_publishing_without_weave_init_says_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match=r"weave\.init"):
        log_report({"accuracy": 1.0})
    with pytest.raises(ConfigurationError, match=r"weave\.init"):
        publish_lineage({"job_id": "j"})
    backend = FunctionBackend(_classify, name="fn")
    evaluator = Evaluator(EVAL_EXAMPLES, cache=None, bootstrap=0, callbacks=[WeaveCallback()])
    with pytest.raises(ConfigurationError, match=r"weave\.init"):  # before any model call
        evaluator.run(Judge(backend))


# -- pure parts -------------------------------------------------------------------------------


def test_scrub_removes_keys_by_name_and_by_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", FAKE_MISTRAL_KEY)
    data = {
        "api_key": "anything",
        "headers": {"Authorization": "Bearer abc", "Accept": "json"},
        "note": f"key is {FAKE_MISTRAL_KEY} and Bearer abcdefghijkl",
        "usage": {"prompt_tokens": 3, "max_tokens": 5},
        "list": [FAKE_BACKEND_KEY],
    }
    out = _tracing.scrub(data, [FAKE_BACKEND_KEY])
    text = json.dumps(out)
    assert FAKE_MISTRAL_KEY not in text
    assert FAKE_BACKEND_KEY not in text
    assert "abcdefghijkl" not in text
    assert out["api_key"] == _tracing.REDACTED
    assert out["headers"] == {"Authorization": _tracing.REDACTED, "Accept": "json"}
    assert out["usage"] == {"prompt_tokens": 3, "max_tokens": 5}  # token counts are not secrets


def test_summarize_counts_failed_unscored_and_unlabelled_rows() -> None:
    rows = [
        {"predicted": "inconsistent", "expected": "inconsistent", "correct": True, "error": None},
        {"predicted": "consistent", "expected": "inconsistent", "correct": False, "error": None},
        {"predicted": "consistent", "expected": "consistent", "correct": True, "error": None},
        {"predicted": "unscored", "expected": "consistent", "correct": None, "error": "bad"},
        {},  # weave.Evaluation's trace of a prediction that raised
        None,
        {"predicted": "consistent", "expected": None, "correct": None, "error": None},
        {"predicted": "consistent", "expected": None, "correct": None, "error": "label must"},
    ]
    out = summarize_rows(rows, ("accuracy", "balanced_accuracy", "precision", "recall", "f1"))
    assert out["rows"] == 8
    assert out["judged"] == 3
    assert out["unscored"] == 1
    assert out["failed"] == 2
    assert out["unlabelled"] == 1
    assert out["invalid_label"] == 1
    assert out["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert out["precision"] == 1.0
    assert out["recall"] == 0.5
    assert out["f1"] == pytest.approx(2 / 3, abs=1e-6)
    assert out["balanced_accuracy"] == pytest.approx(0.75)
    assert out["positive_class"] == "inconsistent"


def test_summarize_with_nothing_judged_gives_none_not_zero() -> None:
    out = summarize_rows([{}, {}], ("accuracy",))
    assert out["accuracy"] is None
    assert out["failed"] == 2


async def test_scorer_reads_labels_and_targets_and_rejects_bad_labels() -> None:
    accuracy = scorers()[0]
    verdict = {"label": "inconsistent", "error": None}
    assert accuracy.score(output=verdict, label=0)["correct"] is True
    assert accuracy.score(output=verdict, target="1")["correct"] is False
    assert accuracy.score(output=verdict, label="inconsistent")["correct"] is True
    bad = accuracy.score(output=verdict, label=7)
    assert bad["correct"] is None
    assert "label must be 1 (consistent) or 0 (inconsistent)" in bad["error"]
    assert accuracy.score(output=None, label=1)["predicted"] is None


async def test_as_model_predict_accepts_both_column_names() -> None:
    model = as_model(Judge(FunctionBackend(_classify, name="fn")))
    assert isinstance(model, JudgeModel)
    assert model.judge_model == "fn"
    assert model.prompt == "zero-shot@2"
    by_doc = await model.predict(document=DOC, summary=BAD_SUMMARY)
    by_premise = await model.predict(premise=DOC, hypothesis=BAD_SUMMARY)
    assert by_doc["label"] == by_premise["label"] == "inconsistent"
    assert by_doc["hallucinated"] is True
    with pytest.raises(ConfigurationError, match="'document' and 'summary'"):
        await model.predict(summary=BAD_SUMMARY)


async def test_a_judge_model_without_a_judge_says_how_to_build_one() -> None:
    model = JudgeModel(judge_model="fn", prompt="zero-shot@2", settings={})
    with pytest.raises(ConfigurationError, match="as_model"):
        await model.predict(document=DOC, summary=OK_SUMMARY)


def test_as_model_rejects_non_judges_and_to_rows_keeps_labels() -> None:
    with pytest.raises(ConfigurationError, match="Judge"):
        as_model("mistral:open-mistral-7b")  # type: ignore[arg-type]
    rows = to_rows([Example(document=DOC, summary=OK_SUMMARY, label=1, id="r1"), (DOC, "x")])
    assert rows == [
        {"document": DOC, "summary": OK_SUMMARY, "label": 1, "id": "r1"},
        {"document": DOC, "summary": "x", "label": None},
    ]


# -- one weave.init session: tracing, evaluation, publishing -----------------------------


class CarelessBackend(FakeBackend):
    """A third-party backend that puts its key and a header into its cache identity."""

    def cache_identity(self) -> dict[str, Any]:
        return {
            **super().cache_identity(),
            "api_key": FAKE_BACKEND_KEY,
            "headers": {"Authorization": f"Bearer {FAKE_BACKEND_KEY}"},
        }


@dataclass
class Session:
    server: FakeWeaveServer
    verdict: Any
    retried: Any
    openai_verdict: Any
    openai_failed: Any
    eval_summary: dict[str, Any]
    report_uri: str
    lineage_uri: str
    report: Any
    callback: WeaveCallback
    leaky: Any
    timed_out: Any
    outer_timeout: BaseException | None
    many: list[Any]
    scoring: Any
    echoed: Any


EVAL_ROWS = [
    {"document": DOC, "summary": OK_SUMMARY, "label": 1},  # right
    {"document": DOC, "summary": BAD_SUMMARY, "label": 0},  # right
    {"document": DOC, "summary": "A dog sat, maybe.", "label": 1},  # wrong (false alarm)
    {"document": DOC, "summary": "junk answer please", "label": 1},  # unscored
    {"document": DOC, "summary": "boom", "label": 0},  # the backend raises -> unscored
    {"premise": DOC, "hypothesis": "A dog was in Rome.", "label": 0},  # right, notebook columns
    {"text": "no document column", "label": 0},  # prediction raises -> failed
]


EVAL_EXAMPLES = [
    Example(document=DOC, summary=OK_SUMMARY, label=1, id="e0"),
    Example(document=DOC, summary=BAD_SUMMARY, label=0, id="e1"),
    Example(document=DOC, summary="A dog, perhaps.", label=1, id="e2"),
    Example(document=DOC, summary="junk again", label=0, id="e3"),
]


def _echo_the_key(request: dict[str, Any]) -> str:
    return json.dumps({"consistency": 0, "reason": f"key {ECHOED_MISTRAL_KEY} says: a dog"})


@pytest.fixture(scope="module")
def traced() -> Iterator[Session]:
    with (
        FakeWeaveServer() as server,
        FakeOpenAIServer(models=["org/judge"], api_key=FAKE_OPENAI_KEY) as openai,
        MistralFakeServer(responder=_echo_the_key) as mistral,
        pytest.MonkeyPatch.context() as mp,
    ):
        for key, value in _env(server).items():
            mp.setenv(key, value)
        _disable_pypi_check(mp)
        client = weave.init("test-entity/hallujudge-tests")
        flusher = threading.Thread(target=client.flush, daemon=True)
        try:
            backend = CarelessBackend(
                [
                    Response(
                        text=ANSWER_0,
                        model="fake-model",
                        usage=Usage(prompt_tokens=120, completion_tokens=9),
                    )
                ],
                name="fake",
            )
            backend.api_key = FAKE_BACKEND_KEY  # type: ignore[attr-defined]
            verdict = Judge(backend).score(DOC, BAD_SUMMARY)

            flaky = FakeBackend([ServerError("HTTP 503: overloaded"), ANSWER_1], name="flaky")
            retried = Judge(flaky, max_attempts=2, max_wait_s=0.01).score(DOC, OK_SUMMARY)

            # The real OpenAI-compatible backend sends the key in an Authorization header; a
            # wrong key gets a 401 whose body echoes it. Neither may reach a trace.
            openai.script(ANSWER_0)
            good = Judge("openai:org/judge", base_url=openai.url + "/v1")
            openai_verdict = good.score(DOC, BAD_SUMMARY)
            wrong = Judge(
                "openai:org/judge",
                base_url=openai.url + "/v1",
                api_key=FAKE_OPENAI_KEY + "-wrong",
                max_attempts=1,
            )
            openai_failed = wrong.score(DOC, BAD_SUMMARY)
            good.close()
            wrong.close()

            judge = Judge(FunctionBackend(_classify, name="fn-judge"), max_attempts=1)
            evaluation = weave.Evaluation(
                dataset=EVAL_ROWS, scorers=scorers(), name="hallujudge-test-eval"
            )
            eval_summary = asyncio.run(evaluation.evaluate(as_model(judge)))

            report_uri = log_report(
                {"metrics": {"accuracy": 0.75}, "n": 4, "api_key": FAKE_MISTRAL_KEY},
                name="test-report",
            )
            lineage_uri = publish_lineage(
                Lineage(
                    base_model="open-mistral-7b",
                    fine_tuned_model="ft:open-mistral-7b:abc",
                    job_id="ftjob-123",
                    prompt="fine-tune@2",
                    hyperparameters={"training_steps": 10, "learning_rate": 1e-4},
                )
            )

            # A third-party backend that puts its key into an error message: the trace (and the
            # verdict) get the message without it.
            def leak(request: Any) -> str:
                raise AuthenticationError(f"HTTP 401: key {LEAKY_BACKEND_KEY} was refused")

            leaky_backend = FunctionBackend(leak, name="leaky")
            leaky_backend.api_key = LEAKY_BACKEND_KEY  # type: ignore[attr-defined]
            leaky = Judge(leaky_backend, max_attempts=1).score(DOC, OK_SUMMARY)

            # Cancelled ops (a call's timeout; a caller's deadline) must still end in the trace,
            # or flush() waits minutes for them; and the caller must still see the timeout.
            slow = FakeBackend(latency_s=5.0, name="slow")
            timed_out = Judge(slow, timeout_s=0.05, max_attempts=1).score(DOC, OK_SUMMARY)
            outer_timeout: BaseException | None = None
            try:
                asyncio.run(
                    asyncio.wait_for(
                        Judge(FakeBackend(latency_s=5.0, name="slow-outer")).ascore(
                            DOC, OK_SUMMARY
                        ),
                        timeout=0.05,
                    )
                )
            except BaseException as exc:
                outer_timeout = exc

            many = Judge(FunctionBackend(_classify, name="many")).score_many(
                [(DOC, OK_SUMMARY), (DOC, BAD_SUMMARY), (DOC, "junk")]
            )

            # A scoring backend (like the local model) reads the pair itself: no prompt ops.
            scoring_backend = FakeBackend(
                default=Response(text="consistent", p_consistent=0.9),
                name="scorer",
                uses_prompt=False,
            )
            scoring = Judge(scoring_backend).score(DOC, OK_SUMMARY)

            # The real Mistral backend with a key given as api_key= (not from the environment),
            # and a server whose answer text repeats that key.
            echoing = Judge(
                "mistral:open-mistral-7b", api_key=ECHOED_MISTRAL_KEY, server_url=mistral.url
            )
            echoed = echoing.score(DOC, BAD_SUMMARY)
            echoing.close()

            callback = WeaveCallback()
            report = Evaluator(
                EVAL_EXAMPLES, cache=None, bootstrap=20, progress=False, callbacks=[callback]
            ).run(Judge(FunctionBackend(_classify, name="evaluated-judge"), max_attempts=1))
            flusher.start()
            flusher.join(timeout=60)
            assert not flusher.is_alive(), "flush() hung: some traced call never ended"
            yield Session(
                server,
                verdict,
                retried,
                openai_verdict,
                openai_failed,
                eval_summary,
                report_uri,
                lineage_uri,
                report,
                callback,
                leaky,
                timed_out,
                outer_timeout,
                many,
                scoring,
                echoed,
            )
        finally:
            if flusher.is_alive():  # report the hang instead of waiting for it again
                from weave.trace import weave_init

                weave_init.finish()
            else:
                weave.finish()


def test_judge_score_is_traced_with_inputs_and_verdict(traced: Session) -> None:
    calls = traced.server.calls_named("hallujudge.Judge.score")
    mine = [c for c in calls if c["inputs"].get("model") == "fake"]
    assert len(mine) == 1
    call = mine[0]
    assert call["inputs"]["document"] == DOC
    assert call["inputs"]["summary"] == BAD_SUMMARY
    assert call["inputs"]["prompt"] == "zero-shot@2"
    assert call["inputs"]["settings"]["temperature"] == 0.0
    assert call["inputs"]["settings"]["api_key"] == _tracing.REDACTED
    assert call["inputs"]["settings"]["headers"] == {"Authorization": _tracing.REDACTED}
    assert "self" not in call["inputs"]
    out = call["output"]
    assert out["label"] == "inconsistent" == traced.verdict.label
    assert out["hallucinated"] is True
    assert out["latency_s"] == pytest.approx(traced.verdict.latency_s)
    assert out["usage"] == {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}
    # Weave rolls the backend call's usage up into the judgment's summary, per model.
    assert call["summary"]["usage"]["fake-model"]["prompt_tokens"] == 120


def test_children_are_render_complete_parse_under_the_judgment(traced: Session) -> None:
    parent = next(
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "fake"
    )
    children = [c for c in traced.server.calls() if c.get("parent_id") == parent["id"]]
    names = sorted(c["short_name"] for c in children)
    assert names == [
        "hallujudge.backend.complete",
        "hallujudge.prompt.parse",
        "hallujudge.prompt.render",
    ]
    by_name = {c["short_name"]: c for c in children}
    assert all(c["trace_id"] == parent["trace_id"] for c in children)
    render = by_name["hallujudge.prompt.render"]
    assert render["inputs"] == {"prompt": "zero-shot@2", "document": DOC, "summary": BAD_SUMMARY}
    assert render["output"][-1]["role"] == "user"
    complete = by_name["hallujudge.backend.complete"]
    assert complete["inputs"]["model"] == "fake"
    assert complete["inputs"]["temperature"] == 0.0
    assert complete["inputs"]["messages"] == render["output"]
    assert complete["output"]["text"] == ANSWER_0
    assert complete["output"]["usage"]["total_tokens"] == 129
    parse = by_name["hallujudge.prompt.parse"]
    assert parse["inputs"] == {"prompt": "zero-shot@2", "text": ANSWER_0}
    assert parse["output"]["label"] == "inconsistent"


def test_each_attempt_is_a_backend_call_and_failures_are_recorded(traced: Session) -> None:
    parent = next(
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "flaky"
    )
    attempts = [
        c
        for c in traced.server.calls_named("hallujudge.backend.complete")
        if c.get("parent_id") == parent["id"]
    ]
    assert len(attempts) == 2
    failed = [a for a in attempts if a.get("exception")]
    assert len(failed) == 1
    assert "overloaded" in failed[0]["exception"]
    assert traced.retried.label == "consistent"
    assert parent["output"]["label"] == "consistent"


def test_no_secret_in_any_payload(traced: Session) -> None:
    assert traced.openai_verdict.label == "inconsistent"  # the key worked on the way out
    assert traced.echoed.label == "inconsistent"
    echoed_attempts = [
        c
        for c in traced.server.calls_named("hallujudge.backend.complete")
        if c["inputs"]["model"] == "mistral:open-mistral-7b"
    ]
    assert echoed_attempts, "the Mistral call was not traced"
    assert "key [redacted] says" in json.dumps(echoed_attempts[0]["output"])  # api_key= too
    assert traced.openai_failed.label == "unscored"
    assert "401" in (traced.openai_failed.error or "")
    openai_calls = [
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "openai:org/judge"
    ]
    assert len(openai_calls) == 2
    text = traced.server.payload_text()
    assert text  # something was sent
    for secret in (*SECRETS, FAKE_WANDB_API_KEY):
        assert secret not in text, f"a secret reached a trace payload: {secret[:8]}..."
    assert "Bearer" not in text or "Bearer [redacted]" in text
    # The W&B key travels only in auth headers, as it must.
    assert any(
        "Authorization" in r.headers or "authorization" in r.headers for r in traced.server.requests
    )


def test_evaluation_summary_counts_failed_and_unscored_rows(traced: Session) -> None:
    summary = traced.eval_summary
    acc = summary["accuracy"]
    assert acc["rows"] == 7
    assert acc["judged"] == 4
    assert acc["unscored"] == 2
    assert acc["failed"] == 1
    assert acc["accuracy"] == 0.75
    prf = summary["inconsistent_prf"]
    assert prf["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert prf["recall"] == 1.0
    assert prf["f1"] == pytest.approx(0.8, abs=1e-6)
    assert summary["balanced_accuracy"]["balanced_accuracy"] == pytest.approx(0.75)
    unscored = summary["unscored"]
    assert (unscored["unscored"], unscored["failed"], unscored["unjudged"]) == (2, 1, 3)
    assert unscored["unjudged_rate"] == pytest.approx(3 / 7, abs=1e-6)
    reasons = " ".join(unscored["top_errors"])
    assert "no consistency label" in reasons
    assert "the backend fell over" in reasons


def test_evaluation_predictions_are_traced_with_judgments_inside(traced: Session) -> None:
    predicts = traced.server.calls_named("hallujudge.JudgeModel.predict")
    assert len(predicts) == len(EVAL_ROWS)
    raised = [p for p in predicts if p.get("exception")]
    assert len(raised) == 1
    assert "'document' and 'summary'" in raised[0]["exception"]
    judgments = [
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "fn-judge"
    ]
    assert len(judgments) == len(EVAL_ROWS) - 1
    predict_ids = {p["id"] for p in predicts}
    assert all(j["parent_id"] in predict_ids for j in judgments)
    evaluate = [
        c
        for c in traced.server.calls_named("Evaluation.evaluate")
        if "accuracy" in (c.get("output") or {})
    ]
    assert len(evaluate) == 1
    assert evaluate[0]["output"]["accuracy"]["failed"] == 1


def test_report_and_lineage_are_published_as_objects(traced: Session) -> None:
    assert traced.report_uri.startswith("weave:///test-entity/hallujudge-tests/object/test-report:")
    assert "hallujudge-lineage-ftjob-123" in traced.lineage_uri
    objects = [
        r.json()["obj"]
        for r in traced.server.requests
        if r.path.endswith("/obj/create") and isinstance(r.json(), dict)
    ]
    by_id = {o["object_id"]: o["val"] for o in objects}
    assert by_id["test-report"]["metrics"] == {"accuracy": 0.75}
    assert by_id["test-report"]["api_key"] == _tracing.REDACTED
    lineage = by_id["hallujudge-lineage-ftjob-123"]
    assert lineage["base_model"] == "open-mistral-7b"
    assert lineage["fine_tuned_model"] == "ft:open-mistral-7b:abc"
    assert lineage["prompt"] == "fine-tune@2"
    assert lineage["hyperparameters"]["training_steps"] == 10


def test_model_object_carries_scrubbed_settings(traced: Session) -> None:
    objects = [
        r.json()["obj"]
        for r in traced.server.requests
        if r.path.endswith("/obj/create") and isinstance(r.json(), dict)
    ]
    models = [o["val"] for o in objects if o["val"].get("judge_model") == "fn-judge"]
    assert models, "the JudgeModel was not published"
    assert models[0]["prompt"] == "zero-shot@2"
    assert models[0]["settings"]["temperature"] == 0.0
    assert os.environ.get("MISTRAL_API_KEY") != FAKE_MISTRAL_KEY  # the session restored env


def test_evaluator_run_is_traced_with_the_report_as_output(traced: Session) -> None:
    runs = traced.server.calls_named("hallujudge.Evaluator.run")
    assert len(runs) == 1
    run = runs[0]
    assert run["inputs"]["model"] == "evaluated-judge"
    assert run["inputs"]["prompt"] == "zero-shot@2"
    assert run["inputs"]["options"]["bootstrap"] == 20
    out = run["output"]
    assert out["kind"] == "hallujudge.EvalReport"
    assert (out["n"], out["n_scored"], out["n_unscored"]) == (4, 3, 1)
    assert out["metrics"]["scored"]["accuracy"]["value"] == pytest.approx(traced.report.accuracy)
    assert "predictions" not in out
    judgments = [
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "evaluated-judge"
    ]
    assert len(judgments) == 4
    assert {j["parent_id"] for j in judgments} == {run["id"]}


def test_weave_callback_logs_an_evaluation_with_the_reports_metrics(traced: Session) -> None:
    assert traced.callback.failures == []
    assert len(traced.callback.report_uris) == 1
    report = traced.report
    evaluations = [
        c
        for c in traced.server.calls_named("Evaluation.evaluate")
        if isinstance(c.get("output"), dict) and "metrics" in c["output"]
    ]
    assert len(evaluations) == 1
    summary = evaluations[0]["output"]
    assert summary["n_unscored"] == report.n_unscored == 1
    scored = summary["metrics"]["scored"]
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
        assert scored[name]["value"] == pytest.approx(report.metrics[name].value), name
        assert scored[name]["low"] == pytest.approx(report.metrics[name].low), name
    strict = summary["metrics"]["unscored_as_errors"]["accuracy"]["value"]
    assert strict == pytest.approx(report.metric("accuracy", strict=True).value)
    # One logged prediction per row, with the verdict as output.
    eval_id = evaluations[0]["id"]
    rows = [
        c
        for c in traced.server.calls_named("Evaluation.predict_and_score")
        if c.get("parent_id") == eval_id
    ]
    assert len(rows) == 4
    by_id = {r["inputs"]["example"]["id"]: r["output"] for r in rows}
    assert set(by_id) == {"e0", "e1", "e2", "e3"}
    assert by_id["e1"]["output"]["label"] == "inconsistent"
    assert by_id["e1"]["scores"] == {"correct": True, "unscored": False}
    assert by_id["e2"]["scores"] == {"correct": False, "unscored": False}
    assert by_id["e3"]["scores"] == {"unscored": True}  # neither right nor wrong
    assert by_id["e3"]["output"]["error"]


def test_secrets_in_error_messages_are_scrubbed_while_tracing(traced: Session) -> None:
    assert traced.leaky.label == "unscored"
    assert "was refused" in (traced.leaky.error or "")
    assert LEAKY_BACKEND_KEY not in (traced.leaky.error or "")
    attempts = [
        c
        for c in traced.server.calls_named("hallujudge.backend.complete")
        if c["inputs"]["model"] == "leaky"
    ]
    assert len(attempts) == 1
    assert "was refused" in attempts[0]["exception"]
    assert _tracing.REDACTED in attempts[0]["exception"]


def test_cancelled_calls_end_in_the_trace_and_still_time_out(traced: Session) -> None:
    # The flush in the fixture finished, so every call ended; here: how they ended.
    assert traced.timed_out.label == "unscored"
    assert "BackendTimeoutError" in (traced.timed_out.error or "")
    inner = [
        c
        for c in traced.server.calls_named("hallujudge.backend.complete")
        if c["inputs"]["model"] == "slow"
    ]
    assert len(inner) == 1
    assert json.loads(inner[0]["exception"])["type"] == "Cancelled"
    assert isinstance(traced.outer_timeout, TimeoutError)  # the caller's deadline, unchanged
    outer = [
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "slow-outer"
    ]
    assert len(outer) == 1
    assert json.loads(outer[0]["exception"])["type"] == "Cancelled"


def test_score_many_groups_its_judgments(traced: Session) -> None:
    batches = traced.server.calls_named("hallujudge.Judge.score_many")
    batch = next(b for b in batches if b["inputs"]["model"] == "many")
    assert batch["inputs"]["items"] == 3
    assert batch["output"] == {"n": 3, "consistent": 1, "inconsistent": 1, "unscored": 1}
    scores = traced.server.calls_named("hallujudge.Judge.score")
    children = [c for c in scores if c["inputs"]["model"] == "many"]
    assert {c["parent_id"] for c in children} == {batch["id"]}
    assert sorted(c["inputs"]["summary"] for c in children) == sorted(
        [OK_SUMMARY, BAD_SUMMARY, "junk"]
    )
    assert [v.label for v in traced.many] == ["consistent", "inconsistent", "unscored"]


def test_scoring_backends_show_the_pair_and_the_probability(traced: Session) -> None:
    assert traced.scoring.score == 0.9
    parent = next(
        c
        for c in traced.server.calls_named("hallujudge.Judge.score")
        if c["inputs"]["model"] == "scorer"
    )
    children = [c for c in traced.server.calls() if c.get("parent_id") == parent["id"]]
    assert [c["short_name"] for c in children] == ["hallujudge.backend.complete"]
    call = children[0]
    assert call["inputs"]["document"] == DOC
    assert call["inputs"]["summary"] == OK_SUMMARY
    assert "messages" not in call["inputs"]
    assert call["output"]["p_consistent"] == 0.9
    assert parent["output"]["score"] == 0.9


def test_evaluator_weave_switch_adds_the_weave_callback() -> None:
    from hallujudge import Evaluator
    from hallujudge.weave import WeaveCallback

    rows = [Example(document="d", summary="s", label=1)]
    assert not any(isinstance(c, WeaveCallback) for c in Evaluator(rows, cache=None).callbacks)
    callbacks = Evaluator(rows, cache=None, weave=True).callbacks
    assert [type(c) for c in callbacks] == [WeaveCallback]
