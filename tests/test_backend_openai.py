"""The OpenAI-compatible backend against a local vLLM-shaped server (no network, no key)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from fakes.openai_server import (
    DROP,
    NON_JSON,
    TRUNCATED_JSON,
    FakeOpenAIServer,
    Reply,
    check_chat_request,
    error,
    label_token_index,
    slow,
    tokenize,
)
from hallujudge import (
    AuthenticationError,
    BackendConnectionError,
    BackendTimeoutError,
    BadRequestError,
    ConfigurationError,
    Example,
    Judge,
    RateLimitError,
    Request,
    ServerError,
)
from hallujudge._backends._openai import OpenAIBackend

MODEL = "org/model-ft"  # a vLLM served-model name with a slash, as fine-tunes usually have
DOC = "The council voted on Tuesday to close the Mill Street library in March."
SUMMARY = "The Mill Street library will close in March."
SECRET = "sk-test-THIS-KEY-MUST-NOT-LEAK-1234567890"


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    # conftest.py cleans the environment too; this keeps the file safe on its own.
    if request.node.get_closest_marker("live") is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(models=[MODEL, "plain-model"]) as server:
        yield server


_OPEN: list[Judge] = []


@pytest.fixture(autouse=True)
def _close_judges() -> Iterator[None]:
    yield
    while _OPEN:  # the sync API's connections live on this thread's loop: close them there
        _OPEN.pop().close()


def make_judge(fake: FakeOpenAIServer, **options: Any) -> Judge:
    options.setdefault("max_wait_s", 0.05)  # fast retries; the Retry-After test raises it
    judge = Judge(f"openai:{MODEL}", base_url=fake.url + "/v1", **options)
    _OPEN.append(judge)
    return judge


def request_for(text: str = SUMMARY, **fields: Any) -> Request:
    example = Example(document=DOC, summary=text)
    messages = ({"role": "user", "content": f"{DOC}\n\n{text}"},)
    return Request(example=example, messages=messages, **fields)


def label_probability(body: dict[str, Any]) -> float:
    """P(consistent) computed independently from the label token's top_logprobs in a response."""
    content = body["choices"][0]["logprobs"]["content"]
    index = label_token_index([t["token"] for t in content])
    assert index is not None
    top = {alt["token"]: math.exp(alt["logprob"]) for alt in content[index]["top_logprobs"]}
    return top["1"] / (top["1"] + top["0"])


# -- scores and log-probabilities ----------------------------------------------------------------


def test_zero_shot_score_is_the_label_probability_from_top_logprobs(
    fake: FakeOpenAIServer,
) -> None:
    fake.responder = lambda body: Reply(
        '{"consistency": 1, "reason": "Every claim is in the document."}', p_consistent=0.8
    )
    with make_judge(fake) as judge:
        verdict = judge.score(DOC, SUMMARY)

    raw = httpx.post(fake.url + "/v1/chat/completions", json=fake.chat_requests[0].body).json()
    pieces = [t["token"] for t in raw["choices"][0]["logprobs"]["content"]]
    assert pieces[:6] == ['{"', "consistency", '":', " ", "1", ","]  # real tokenisation
    assert verdict.label == "consistent"
    assert verdict.score == pytest.approx(label_probability(raw))
    assert verdict.score == pytest.approx(0.8)
    assert verdict.reason == "Every claim is in the document."
    assert verdict.prompt == "zero-shot@2"
    assert verdict.usage is not None
    assert verdict.usage.completion_tokens == len(tokenize(verdict.raw or ""))
    assert verdict.usage.prompt_tokens > 0
    body = fake.chat_requests[0].body
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 5
    assert body["response_format"] == {"type": "json_object"}
    assert body["temperature"] == 0
    assert fake.violations == []


def test_zero_shot_inconsistent_answer_gets_a_low_score(fake: FakeOpenAIServer) -> None:
    fake.responder = lambda body: Reply(
        '{"consistency": 0, "reason": "The date is wrong."}', p_consistent=0.15
    )
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.label == "inconsistent"
    assert verdict.hallucinated is True
    assert verdict.score == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("answer", "p", "label"), [("1", 0.7, "consistent"), ("0", 0.25, "inconsistent")]
)
def test_fine_tune_digit_answer_score(
    fake: FakeOpenAIServer, answer: str, p: float, label: str
) -> None:
    fake.responder = lambda body: Reply(answer, p_consistent=p)
    verdict = make_judge(fake, prompt="fine-tune").score(DOC, SUMMARY)
    assert verdict.label == label
    assert verdict.score == pytest.approx(p)
    assert verdict.raw == answer
    assert "response_format" not in fake.chat_requests[0].body  # a bare digit, not JSON
    assert fake.violations == []


@pytest.mark.parametrize("marker", ["\u2581", "\u0120"], ids=["sentencepiece", "byte-bpe"])
@pytest.mark.parametrize("spaced", [True, False], ids=["json-space", "json-tight"])
def test_raw_tokenizer_pieces_still_give_the_score(marker: str, spaced: bool) -> None:
    # '{"consistency": 1' with the digit as a token of its own, or as ' 1' / '▁1' / 'Ġ1'.
    answer = '{"consistency": 1}' if spaced else '{"consistency":1}'
    with FakeOpenAIServer(models=[MODEL], space_marker=marker) as server:
        server.responder = lambda body: Reply(answer, p_consistent=0.65)
        verdict = make_judge(server).score(DOC, SUMMARY)
        raw = httpx.post(server.url + "/v1/chat/completions", json=server.chat_requests[0].body)
    tokens = [t["token"] for t in raw.json()["choices"][0]["logprobs"]["content"]]
    assert (marker + "1" in tokens) is spaced  # the raw piece the strategy must read
    assert verdict.score == pytest.approx(0.65)


async def test_backend_parses_logprobs_into_token_logprobs(fake: FakeOpenAIServer) -> None:
    fake.responder = lambda body: Reply('{"consistency": 1}', p_consistent=0.6)
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    try:
        response = await backend.complete(request_for(logprobs=True))
    finally:
        await backend.aclose()
    assert response.text == '{"consistency": 1}'
    assert response.model == MODEL
    assert [t.token for t in response.logprobs] == ['{"', "consistency", '":', " ", "1", "}"]
    label = response.logprobs[4]
    assert label.logprob == pytest.approx(math.log(0.98 * 0.6))
    assert math.exp(label.top["0"]) == pytest.approx(0.98 * 0.4)
    assert len(label.top) == 5


def test_server_without_logprobs_gives_a_label_but_no_score() -> None:
    with FakeOpenAIServer(models=[MODEL], logprobs=False) as server:
        verdict = make_judge(server).score(DOC, SUMMARY)
        assert server.chat_requests[0].body["logprobs"] is True  # asked, but not given
    assert verdict.label == "consistent"
    assert verdict.score is None
    assert verdict.error is None


def test_server_that_rejects_logprobs_gives_labels_without_scores(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeOpenAIServer(models=[MODEL], reject_logprobs=True) as server:
        judge = make_judge(server)
        first = judge.score(DOC, SUMMARY)
        second = judge.score(DOC, SUMMARY)
        asked = [r.body.get("logprobs") for r in server.chat_requests]
    assert first.label == second.label == "consistent"
    assert first.score is None
    assert second.score is None
    assert asked == [True, None, None]  # rejected once, then never asked again
    assert "rejects logprobs" in caplog.text


async def test_content_parts_are_joined(fake: FakeOpenAIServer) -> None:
    parts = [{"type": "text", "text": '{"consistency": '}, {"type": "text", "text": "0}"}]
    fake.completion_body = lambda body, reply: {  # type: ignore[method-assign]
        "choices": [{"message": {"role": "assistant", "content": parts}}]
    }
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    response = await backend.complete(request_for())
    await backend.aclose()
    assert response.text == '{"consistency": 0}'
    assert response.usage is None
    assert response.logprobs == ()


def test_logprobs_can_be_turned_off(fake: FakeOpenAIServer) -> None:
    verdict = make_judge(fake, logprobs=False).score(DOC, SUMMARY)
    assert verdict.scored
    assert verdict.score is None
    body = fake.chat_requests[0].body
    assert "logprobs" not in body
    assert "top_logprobs" not in body


@pytest.mark.parametrize(
    "prompt", ["zero-shot", "one-shot", "fine-tune", "json-schema", "reason-first"]
)
def test_every_strategy_sends_a_valid_chat_completions_request(
    fake: FakeOpenAIServer, prompt: str
) -> None:
    verdict = make_judge(fake, prompt=prompt, seed=7, max_tokens=200).score(DOC, SUMMARY)
    assert verdict.scored, verdict.error
    body = fake.chat_requests[0].body
    assert fake.violations == []
    assert body["seed"] == 7
    assert body["max_tokens"] == 200
    assert set(body) <= {
        "model", "messages", "temperature", "seed", "max_tokens", "response_format",
        "logprobs", "top_logprobs",
    }  # fmt: skip


# -- model names, configuration and the environment ---------------------------------------------


def test_vllm_model_name_with_slashes(fake: FakeOpenAIServer) -> None:
    listed = httpx.get(fake.url + "/v1/models").json()
    assert MODEL in [m["id"] for m in listed["data"]]
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.model == f"openai:{MODEL}"
    assert verdict.scored
    assert fake.chat_requests[0].path == "/v1/chat/completions"  # not /v1/org/model-ft/...
    assert fake.chat_requests[0].body["model"] == MODEL


def test_base_url_and_key_from_the_environment(
    fake: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.api_key = SECRET
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url + "/v1/")  # a trailing slash is fine
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    judge = Judge(f"openai:{MODEL}")
    _OPEN.append(judge)
    verdict = judge.score(DOC, SUMMARY)
    assert verdict.scored, verdict.error
    assert fake.chat_requests[0].headers["authorization"] == f"Bearer {SECRET}"


def test_no_key_means_no_authorization_header(fake: FakeOpenAIServer) -> None:
    verdict = make_judge(fake, headers={"X-Tenant": "team-a"}).score(DOC, SUMMARY)
    assert verdict.scored
    headers = fake.chat_requests[0].headers
    assert "authorization" not in headers
    assert headers["x-tenant"] == "team-a"
    assert headers["content-type"] == "application/json"


def test_ollama_tag_with_a_colon_is_part_of_the_model_name() -> None:
    with FakeOpenAIServer(models=["llama3.1:8b"]) as server:
        judge = Judge("openai:llama3.1:8b", base_url=server.url + "/v1")
        _OPEN.append(judge)
        verdict = judge.score(DOC, SUMMARY)
        assert server.chat_requests[0].body["model"] == "llama3.1:8b"
    assert verdict.scored, verdict.error
    assert verdict.model == "openai:llama3.1:8b"


def test_empty_api_key_overrides_the_environment(
    fake: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert make_judge(fake, api_key="").score(DOC, SUMMARY).scored
    assert "authorization" not in fake.chat_requests[0].headers


def test_the_official_api_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        Judge("openai:gpt-4o-mini")


@pytest.mark.parametrize("model", ["openai:", "openai:   "])
def test_a_missing_model_name_is_a_configuration_error(model: str) -> None:
    with pytest.raises(ConfigurationError, match="openai:"):
        Judge(model, base_url="http://127.0.0.1:1/v1")


def test_bad_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        Judge("openai:m", base_url="127.0.0.1:8000/v1")


def test_wrong_key_is_an_authentication_error_and_never_leaks(fake: FakeOpenAIServer) -> None:
    fake.api_key = "the-right-key"
    judge = make_judge(fake, api_key=SECRET)
    verdict = judge.score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.meta["error_type"] == "AuthenticationError"
    assert verdict.meta["retryable"] is False
    assert len(fake.chat_requests) == 1  # not retried
    assert "Incorrect API key provided: [redacted]." in (verdict.error or "")  # server text
    for text in (verdict.error, repr(judge), repr(judge.backend), str(judge.settings())):
        assert SECRET not in (text or "")
    assert SECRET not in verdict.model_dump_json()


async def test_auth_error_is_typed_and_chained(fake: FakeOpenAIServer) -> None:
    fake.api_key = "the-right-key"
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1", api_key=SECRET)
    with pytest.raises(AuthenticationError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert info.value.status_code == 401
    assert SECRET not in str(info.value)
    assert "check the API key" in str(info.value)


async def test_unknown_model_is_a_bad_request_with_the_servers_message(
    fake: FakeOpenAIServer,
) -> None:
    backend = OpenAIBackend("org/no-such-model", base_url=fake.url + "/v1")
    with pytest.raises(BadRequestError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    message = str(info.value)
    assert info.value.status_code == 404
    assert info.value.retryable is False
    assert "The model `org/no-such-model` does not exist." in message
    assert "/models" in message  # says where to look


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "model 'llama3' not found, try pulling it first"}, "try pulling it first"),
        ({"object": "error", "message": "max_tokens is too large", "code": 400}, "too large"),
        ({"detail": "Not authenticated"}, "Not authenticated"),
    ],
    ids=["ollama", "old-vllm", "fastapi"],
)
async def test_error_messages_of_other_servers(
    fake: FakeOpenAIServer, body: dict[str, Any], expected: str
) -> None:
    fake.script(error(400, body=body))
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    with pytest.raises(BadRequestError, match=re.escape(expected)):
        await backend.complete(request_for())
    await backend.aclose()


def test_bad_request_is_not_retried(fake: FakeOpenAIServer) -> None:
    fake.script(error(400, "'messages' is too long"))
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.meta["error_type"] == "BadRequestError"
    assert "'messages' is too long" in (verdict.error or "")
    assert len(fake.chat_requests) == 1


# -- retries, timeouts and broken answers -------------------------------------------------------


def test_rate_limit_honours_retry_after(fake: FakeOpenAIServer) -> None:
    # Backoff alone would wait 0.5-1.0 s before the second attempt; the server asked for 1.5 s.
    fake.script(error(429, "Rate limit reached", retry_after=1.5))
    started = time.perf_counter()
    verdict = make_judge(fake, max_wait_s=5).score(DOC, SUMMARY)
    elapsed = time.perf_counter() - started
    assert verdict.scored, verdict.error
    assert len(fake.chat_requests) == 2
    assert 1.5 <= elapsed < 4.0


async def test_rate_limit_error_carries_retry_after(fake: FakeOpenAIServer) -> None:
    fake.script(error(429, "slow down", retry_after=7))
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    with pytest.raises(RateLimitError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert info.value.retry_after == 7
    assert info.value.retryable is True
    assert "slow down" in str(info.value)


def test_server_error_then_success(fake: FakeOpenAIServer) -> None:
    fake.script(error(500, "CUDA out of memory"), error(503, "engine restarting"))
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.scored, verdict.error
    assert len(fake.chat_requests) == 3


def test_persistent_server_error_is_unscored_and_marked_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(*[error(502, "bad gateway")] * 3)
    verdict = make_judge(fake, max_attempts=3).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.meta == {"error_type": "ServerError", "retryable": True}
    assert "bad gateway" in (verdict.error or "")
    assert len(fake.chat_requests) == 3


def test_timeout_gives_an_unscored_verdict_with_a_clear_error(fake: FakeOpenAIServer) -> None:
    fake.script(slow(3.0))
    started = time.perf_counter()
    verdict = make_judge(fake, timeout_s=0.3, max_attempts=1).score(DOC, SUMMARY)
    assert time.perf_counter() - started < 2.0
    assert verdict.label == "unscored"
    assert verdict.meta["error_type"] == "BackendTimeoutError"
    assert "timeout_s" in (verdict.error or "")  # says what to do


async def test_backend_maps_httpx_timeouts(fake: FakeOpenAIServer) -> None:
    fake.script(slow(2.0))
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1", timeout_s=0.2)
    with pytest.raises(BackendTimeoutError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert isinstance(info.value.__cause__, httpx.TimeoutException)
    assert info.value.retryable is True


def test_slow_answer_within_the_timeout_is_scored(fake: FakeOpenAIServer) -> None:
    fake.script(slow(0.3))
    verdict = make_judge(fake, timeout_s=5).score(DOC, SUMMARY)
    assert verdict.scored
    assert verdict.latency_s is not None
    assert verdict.latency_s >= 0.3


@pytest.mark.parametrize("outcome", [NON_JSON, TRUNCATED_JSON], ids=["html", "truncated"])
async def test_unreadable_body_is_a_retryable_server_error(
    fake: FakeOpenAIServer, outcome: Any
) -> None:
    fake.script(outcome)
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    with pytest.raises(ServerError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, json.JSONDecodeError)
    assert "not JSON" in str(info.value)


@pytest.mark.parametrize("outcome", [NON_JSON, TRUNCATED_JSON, DROP], ids=["html", "cut", "drop"])
def test_garbage_then_success_through_the_judge(fake: FakeOpenAIServer, outcome: Any) -> None:
    fake.script(outcome)
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.scored, verdict.error
    assert len(fake.chat_requests) == 2


def test_garbage_every_time_is_unscored(fake: FakeOpenAIServer) -> None:
    fake.script(NON_JSON, TRUNCATED_JSON)
    verdict = make_judge(fake, max_attempts=2).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.meta["error_type"] == "ServerError"


async def test_dropped_connection_is_a_retryable_connection_error(
    fake: FakeOpenAIServer,
) -> None:
    fake.script(DROP)
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1")
    with pytest.raises(BackendConnectionError) as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert info.value.retryable is True


async def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = OpenAIBackend(MODEL, base_url=f"http://127.0.0.1:{port}/v1", api_key=SECRET)
    with pytest.raises(BackendConnectionError, match="is the server running") as info:
        await backend.complete(request_for())
    await backend.aclose()
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("I'm sorry, I cannot help with that.", "refused"),
        ('{"consistency": ', "truncated"),
        ("", "empty"),
    ],
)
def test_unreadable_answers_are_unscored_with_raw_kept(
    fake: FakeOpenAIServer, content: str, reason: str
) -> None:
    fake.responder = lambda body: content
    verdict = make_judge(fake).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert reason in (verdict.error or "")
    assert verdict.raw == content
    assert verdict.score is None
    assert len(fake.chat_requests) == 1  # an answer was received: no retry


def test_answer_cut_by_max_tokens_is_unscored(fake: FakeOpenAIServer) -> None:
    verdict = make_judge(fake, max_tokens=3).score(DOC, SUMMARY)
    assert verdict.label == "unscored"
    assert verdict.raw == '{"consistency":'
    assert "truncated" in (verdict.error or "")


# -- many pairs, concurrency and event loops ----------------------------------------------------


def _numbered_responder(body: dict[str, Any]) -> Reply:
    user = body["messages"][-1]["content"]
    match = re.search(r"claim number (\d+)", user)
    assert match is not None
    i = int(match.group(1))
    time.sleep((24 - i) * 0.004)  # later rows finish first
    return Reply(json.dumps({"consistency": i % 2, "reason": f"row {i}"}))


def test_score_many_keeps_order(fake: FakeOpenAIServer) -> None:
    fake.responder = _numbered_responder
    pairs = [(DOC, f"claim number {i}") for i in range(24)]
    verdicts = make_judge(fake).score_many(pairs, concurrency=8)
    assert len(verdicts) == 24
    assert [v.reason for v in verdicts] == [f"row {i}" for i in range(24)]
    assert [v.label for v in verdicts] == [
        "consistent" if i % 2 else "inconsistent" for i in range(24)
    ]
    assert fake.violations == []


def test_many_requests_in_flight_are_not_queued_by_the_pool() -> None:
    # 64 calls of 0.5 s each: a pool of 10 connections would need 3.5 s, sequential 32 s.
    with FakeOpenAIServer(models=[MODEL], latency_s=0.5) as server:
        judge = make_judge(server)
        started = time.perf_counter()
        verdicts = judge.score_many([(DOC, f"s{i}") for i in range(64)], concurrency=64)
        elapsed = time.perf_counter() - started
        judge.close()
    assert all(v.scored for v in verdicts)
    assert elapsed < 2.5


def test_one_judge_works_across_event_loops(fake: FakeOpenAIServer) -> None:
    judge = make_judge(fake)

    async def in_own_loop() -> bool:
        verdict = await judge.ascore(DOC, SUMMARY)
        await judge.aclose()  # closes this loop's connections only
        return verdict.scored

    assert judge.score(DOC, SUMMARY).scored  # the per-thread loop of the sync API
    assert asyncio.run(in_own_loop())  # a user's own loop
    assert asyncio.run(in_own_loop())  # another one
    assert judge.score(DOC, SUMMARY).scored  # back on the sync loop
    judge.close()
    judge.close()  # idempotent
    assert judge.score(DOC, SUMMARY).scored  # usable again after close
    judge.close()
    peers = [r.peer for r in fake.chat_requests]
    assert len(peers) == 5
    assert peers[0] == peers[3]  # the sync loop kept its pooled connection across the others
    assert len({peers[0], peers[1], peers[2]}) == 3
    assert peers[4] != peers[0]  # close() really closed it


def test_one_judge_shared_by_threads(fake: FakeOpenAIServer) -> None:
    # Each thread's sync calls run on that thread's own loop, with that loop's own client.
    judge = make_judge(fake)

    def work(i: int) -> bool:
        try:
            return all(judge.score(DOC, f"{SUMMARY} {i}.{k}").scored for k in range(3))
        finally:
            judge.close()  # closes this thread's connections

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(8)))
    assert len(fake.chat_requests) == 24


async def test_async_use_and_aclose(fake: FakeOpenAIServer) -> None:
    async with make_judge(fake) as judge:
        verdicts = await judge.ascore_many([(DOC, SUMMARY)] * 5, concurrency=5)
    assert all(v.scored for v in verdicts)
    await judge.aclose()


def test_sync_call_inside_a_running_loop_says_to_await(fake: FakeOpenAIServer) -> None:
    judge = make_judge(fake)

    async def inside() -> None:
        judge.score(DOC, SUMMARY)

    with pytest.raises(ConfigurationError, match=re.escape("await judge.ascore(")):
        asyncio.run(inside())


def test_max_input_tokens_chunks_long_documents(fake: FakeOpenAIServer) -> None:
    backend = OpenAIBackend(MODEL, base_url=fake.url + "/v1", max_input_tokens=700)
    long_doc = " ".join(f"Sentence {i} says the library closes in March." for i in range(120))
    judge = Judge(backend)
    _OPEN.append(judge)
    verdict = judge.score(long_doc, SUMMARY)
    assert verdict.scored, verdict.error
    assert verdict.meta["chunks"] > 1
    assert len(fake.chat_requests) == verdict.meta["chunks"]


def test_credentials_in_base_url_stay_out_of_errors_and_cache_keys() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = OpenAIBackend(MODEL, base_url=f"http://user:{SECRET}@127.0.0.1:{port}/v1")
    judge = Judge(backend, max_attempts=1)
    _OPEN.append(judge)
    verdict = judge.score(DOC, SUMMARY)
    assert verdict.meta["error_type"] == "BackendConnectionError"
    assert backend.base_url == f"http://127.0.0.1:{port}/v1"
    for text in (verdict.error, repr(backend), json.dumps(backend.cache_identity())):
        assert SECRET not in (text or "")


def test_cache_identity_names_the_server_not_the_key(fake: FakeOpenAIServer) -> None:
    a = OpenAIBackend(MODEL, base_url=fake.url + "/v1", api_key=SECRET)
    b = OpenAIBackend(MODEL, base_url="http://127.0.0.1:9/v1")
    assert a.cache_identity() != b.cache_identity()
    assert SECRET not in json.dumps(a.cache_identity())
    assert a.name == f"openai:{MODEL}"
    assert a.supports_logprobs is True


# -- the fake itself: it must reject what a strict server rejects --------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"top_logprobs": 5}, "requires 'logprobs': true"),
        ({"temperature": "0"}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"random_seed": 1}, "Unrecognized request argument"),
        ({"messages": []}, "messages"),
        ({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}, "name"),
    ],
)
def test_fake_rejects_malformed_requests(
    fake: FakeOpenAIServer, change: dict[str, Any], problem: str
) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **change}
    assert any(problem in p for p in check_chat_request(body, {"content-type": "application/json"}))
    answer = httpx.post(fake.url + "/v1/chat/completions", json=body)
    assert answer.status_code == 400
    assert problem in answer.json()["error"]["message"]
    assert fake.violations


def test_fake_tokenisation_round_trips() -> None:
    text = '{"consistency": 0, "reason": "It says 2.4 million, not 4.2."}'
    pieces = tokenize(text)
    assert "".join(pieces) == text
    index = label_token_index(pieces)
    assert index is not None
    assert pieces[index] == "0"


# -- live ---------------------------------------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY")
def test_live_openai_scores_with_logprobs() -> None:
    verdict = Judge("openai:gpt-4o-mini").score(DOC, SUMMARY)
    assert verdict.label == "consistent", verdict.error
    assert verdict.score is not None


def test_lone_surrogates_reach_the_server_as_replacement_characters(
    fake: FakeOpenAIServer,
) -> None:
    # Text decoded with surrogateescape (or JSON holding "\ud800") has code points UTF-8 cannot
    # carry: the JSON body failed to encode and the row came back "unexpected error".
    document, summary = f"{DOC} \udcff", f"\ud800{SUMMARY}"
    verdict = make_judge(fake, max_attempts=1).score(document, summary)
    assert verdict.scored, verdict.error
    sent = json.dumps(fake.requests[-1].body, ensure_ascii=False)
    assert f"{DOC} \ufffd" in sent and f"\ufffd{SUMMARY}" in sent
