"""Batch scoring through Mistral's Batch API, real SDK against the spec-validated fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes.mistral_server import INCONSISTENT_MARKER, MistralFakeServer
from hallujudge import ConfigurationError, Example, FakeBackend, Judge

DOC = "The bridge opened in 2001 and carries 40,000 cars a day."


def _pairs() -> list[Example]:
    return [
        Example(document=DOC, summary="The bridge opened in 2001.", label=1),
        Example(document=DOC, summary=f"The bridge opened in 1990 {INCONSISTENT_MARKER}.", label=0),
        Example(document="", summary="An empty document is never sent.", label=1),
        Example(document=DOC, summary="It carries 40,000 cars a day.", label=1),
    ]


def test_batch_score_maps_results_back_in_order(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b")
    submitted: list[str] = []
    verdicts = judge.batch_score(_pairs(), poll_s=0.01, on_submit=submitted.append)
    assert [v.label for v in verdicts] == ["consistent", "inconsistent", "unscored", "consistent"]
    assert "empty" in (verdicts[2].error or "")
    assert all(v.meta.get("batch_job") == submitted[0] for v in (verdicts[0], verdicts[3]))
    assert verdicts[0].usage is not None and verdicts[0].usage.total_tokens > 0
    # One upload and one job; the uploaded lines are exactly the live request bodies.
    creates = [r for r in mistral_env.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    assert len(creates) == 1
    assert creates[0].body["endpoint"] == "/v1/chat/completions"
    assert creates[0].body["model"] == "open-mistral-7b"
    uploads = [r for r in mistral_env.requests if r.path == "/v1/files" and r.method == "POST"]
    assert len(uploads) == 1
    # No chat completion was called live: everything went through the batch.
    assert not [r for r in mistral_env.requests if r.path == "/v1/chat/completions"]


def _uploaded_batch_lines(server: MistralFakeServer) -> list[dict[str, Any]]:
    """The ``{"custom_id", "body"}`` lines of the input file of the one batch job created."""
    (create,) = [r for r in server.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    (file_id,) = create.body["input_files"]
    content: bytes = server.files[file_id]["content"]
    return [json.loads(line) for line in content.decode("utf-8").splitlines()]


def test_batch_lines_match_live_requests(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b")
    pairs = [p for p in _pairs() if p.document]
    live = []
    for pair in pairs:
        judge.score(pair.document, pair.summary)
        live.append(mistral_env.chat_requests[-1].body)
    judge.batch_score(pairs, poll_s=0.01)
    lines = _uploaded_batch_lines(mistral_env)
    assert [line["custom_id"] for line in lines] == [str(i) for i in range(len(pairs))]
    for line, sent in zip(lines, live, strict=True):
        assert line["body"]["messages"] == sent["messages"]
        assert line["body"]["temperature"] == sent["temperature"] == 0.0
        assert line["body"]["response_format"] == sent["response_format"]


def test_batch_resume_by_job_id(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b")
    submitted: list[str] = []
    first = judge.batch_score(_pairs(), poll_s=0.01, on_submit=submitted.append)
    again = judge.batch_score(_pairs(), poll_s=0.01, job_id=submitted[0])
    assert [v.label for v in again] == [v.label for v in first]
    creates = [r for r in mistral_env.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    assert len(creates) == 1  # resuming did not submit a second job
    with pytest.raises(ConfigurationError, match="other inputs"):
        judge.batch_score(_pairs()[:2], poll_s=0.01, job_id=submitted[0])


def test_batch_failed_lines_are_unscored_not_dropped(mistral_env: MistralFakeServer) -> None:
    # An unknown fine-tuned model makes every line fail (HTTP 400 inside the batch).
    judge = Judge("ft:open-mistral-7b:nope:20260101:deadbeef")
    verdicts = judge.batch_score(_pairs()[:2], poll_s=0.01)
    assert [v.label for v in verdicts] == ["unscored", "unscored"]
    assert all("batch request failed" in (v.error or "") for v in verdicts)
    assert all(v.meta["retryable"] is True for v in verdicts)


def test_batch_refuses_non_mistral_judges() -> None:
    with pytest.raises(ConfigurationError, match="Batch API"):
        Judge(FakeBackend()).batch_score(_pairs())


def test_batch_timeout_says_how_to_resume(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b")
    with pytest.raises(ConfigurationError, match="job_id="):
        judge.batch_score(_pairs()[:1], poll_s=0.01, timeout_s=0.0)
    creates = [r for r in mistral_env.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    assert len(creates) == 1  # the job was submitted before the wait gave up


def test_evaluator_batch_mode_uses_one_job_and_the_cache(
    mistral_env: MistralFakeServer, tmp_path: Path
) -> None:
    from hallujudge import Evaluator

    rows = [p for p in _pairs() if p.document]
    judge = Judge("mistral:open-mistral-7b")
    evaluator = Evaluator(
        rows, cache=tmp_path / "cache.sqlite", mode="batch", batch_options={"poll_s": 0.01}
    )
    report = evaluator.run(judge)
    assert report.n == 3
    assert report.n_unscored == 0
    assert report.to_dict()["metrics"]["scored"]["accuracy"]["value"] == 1.0
    jobs = [r for r in mistral_env.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    assert len(jobs) == 1
    again = evaluator.run(judge)  # every row from the cache: no second job
    assert again.n == 3
    jobs = [r for r in mistral_env.requests if r.path == "/v1/batch/jobs" and r.method == "POST"]
    assert len(jobs) == 1


LIVE_OPTION_MATRIX = [
    {},
    {"temperature": 0.3, "seed": 7},
    {"seed": None},
    {"max_tokens": 40},
    {"logprobs": True},
    {"prompt": "one-shot"},
    {"prompt": "fine-tune", "max_tokens": 2},
    {"long_documents": "unscored", "max_input_tokens": 20_000},
]


@pytest.mark.parametrize("options", LIVE_OPTION_MATRIX, ids=str)
def test_a_batch_line_is_the_live_body(mistral_env: MistralFakeServer, options: dict) -> None:
    pair = _pairs()[0]
    if options.get("logprobs"):
        mistral_env.check_spec = False  # logprobs is not in Mistral's published request schema
    judge = Judge("mistral:open-mistral-7b", **options)
    judge.score(pair.document, pair.summary)
    live = dict(mistral_env.chat_requests[-1].body)
    assert live.pop("model") == "open-mistral-7b"
    live.pop("stream", None)  # the transport's own field, as the SDK sends it
    judge.batch_score([pair], poll_s=0.01)
    (line,) = _uploaded_batch_lines(mistral_env)
    assert line["body"] == live


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"claims": "sentence"}, "claims='sentence'"),
        ({"repair": True}, "repair=True"),
        ({"samples": 3}, "samples="),
    ],
)
def test_batch_refuses_what_it_cannot_honour(
    mistral_env: MistralFakeServer, options: dict, named: str
) -> None:
    judge = Judge("mistral:open-mistral-7b", **options)
    with pytest.raises(ConfigurationError, match=named.replace("(", r"\(")) as caught:
        judge.batch_score(_pairs())
    assert "score_many" in str(caught.value)
    assert mistral_env.requests == []  # refused before anything was uploaded


def test_batch_refuses_documents_over_the_budget(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b", max_input_tokens=1000)
    long = Example(document="The council met. " * 400, summary="The council met.")
    with pytest.raises(ConfigurationError, match="row 1: the document is over"):
        judge.batch_score([_pairs()[0], long])
    assert mistral_env.requests == []
