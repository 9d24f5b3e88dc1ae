"""MistralBackend and MistralClassifierBackend: the real ``mistralai`` SDK against the local fake.

Every request the library sends is validated against Mistral's published spec by the
``mistral_server`` fixture (see conftest.py), and so is every answer of the fake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.mistral_server import (
    INCONSISTENT_MARKER,
    TEST_API_KEY,
    Answer,
    Fail,
    MistralFakeServer,
    consistency_responder,
    drop,
    not_json,
    rate_limited,
    server_error,
    slow,
    truncated_json,
)
from fakes.openapi import SPEC_QUIRKS, OpenAPISpec, mistral_spec

pytest.importorskip("mistralai")

from hallujudge import (
    AuthenticationError,
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ConfigurationError,
    Example,
    Judge,
    RateLimitError,
    Request,
    ServerError,
    get_prompt,
)
from hallujudge._backends.mistral import (
    CLASSIFIER_LABELS,
    CLASSIFIER_TARGET,
    DEFAULT_CONTEXT_TOKENS,
    MistralBackend,
    MistralClassifierBackend,
    classifier_input,
    map_mistral_error,
)

needs_spec = pytest.mark.skipif(mistral_spec() is None, reason="../shared/mistral absent")

DOC = "The council voted on Tuesday to close the Mill Street library in March."
GOOD = "The Mill Street library will close in March."
BAD = f"The library will close in May, a {INCONSISTENT_MARKER} date."
FT_ID = "ft:open-mistral-7b:abcd1234:20261128:5678ef90"
CLS_ID = "ft:ministral-3b-latest:cls12345:20261128:0badcafe"


@pytest.fixture(params=["sdk", "http"])
def transport(request: pytest.FixtureRequest) -> str:
    """Both transports of the backend (the SDK's methods, or one POST on its HTTP client)."""
    return str(request.param)


def fast_judge(model: str = "mistral:open-mistral-7b", **options: Any) -> Judge:
    """A judge whose retries wait at most 10 ms, so failure tests stay fast."""
    options.setdefault("max_wait_s", 0.01)
    return Judge(model, **options)


def request_for(example: Example | None = None, **fields: Any) -> Request:
    example = example or Example(document=DOC, summary=GOOD)
    messages = tuple(get_prompt("zero-shot").render(example))
    return Request(example=example, messages=messages, **fields)


# -- scoring through the Judge --------------------------------------------------------------


def test_judge_scores_pairs_through_the_sdk(mistral_env: MistralFakeServer, transport: str) -> None:
    judge = Judge("mistral:open-mistral-7b", transport=transport)
    good, bad = judge.score(DOC, GOOD), judge.score(DOC, BAD)
    assert (good.label, bad.label) == ("consistent", "inconsistent")
    assert good.model == "mistral:open-mistral-7b"
    assert good.prompt == "zero-shot@2"
    assert good.usage is not None and good.usage.prompt_tokens > 0
    assert good.reason == "supported by the document"
    assert [r.path for r in mistral_env.requests] == ["/v1/chat/completions"] * 2
    assert mistral_env.requests[0].headers["authorization"] == f"Bearer {TEST_API_KEY}"


def test_deterministic_defaults_are_sent(mistral_env: MistralFakeServer, transport: str) -> None:
    Judge("mistral:open-mistral-7b", transport=transport).score(DOC, GOOD)
    body = mistral_env.chat_requests[0].body
    assert body["model"] == "open-mistral-7b"
    assert body["temperature"] == 0
    assert body["random_seed"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "max_tokens" not in body  # None is not sent as null
    assert "logprobs" not in body  # not in the published spec: only on request


@pytest.mark.parametrize("prompt", ["zero-shot", "json-schema", "fine-tune"])
def test_both_transports_send_the_same_request(mistral_env: MistralFakeServer, prompt: str) -> None:
    for transport in ("sdk", "http"):
        Judge("mistral:open-mistral-7b", prompt=prompt, max_tokens=20, transport=transport).score(
            DOC, GOOD
        )
    sdk, http = mistral_env.chat_requests
    assert sdk.body == http.body
    assert sdk.headers["authorization"] == http.headers["authorization"]
    assert http.headers["user-agent"].startswith(sdk.headers["user-agent"])


@needs_spec
def test_json_schema_strategy_sends_a_valid_response_format(
    mistral_env: MistralFakeServer,
    transport: str,
) -> None:
    judge = Judge("mistral:open-mistral-7b", prompt="json-schema", seed=7, transport=transport)
    verdict = judge.score(DOC, BAD)
    assert verdict.label == "inconsistent"
    body = mistral_env.chat_requests[0].body
    assert body["random_seed"] == 7
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "consistency_verdict"
    assert fmt["json_schema"]["schema"]["required"] == ["consistency", "reason"]
    spec = mistral_spec()
    assert spec is not None
    assert spec.validate_schema("ResponseFormat", fmt) == []


def test_garbage_model_text_is_unscored_not_raised(mistral_env: MistralFakeServer) -> None:
    mistral_env.enqueue("Hmm, hard to say really.")
    verdict = fast_judge(max_attempts=1).score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.raw == "Hmm, hard to say really."
    assert verdict.error
    assert len(mistral_env.chat_requests) == 1  # a readable answer is not retried


def test_score_many_keeps_order_with_out_of_order_completion(
    mistral_env: MistralFakeServer,
) -> None:
    finished: list[int] = []
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        index = int(text.split("item-")[1].split()[0])
        time.sleep((12 - index) * 0.015)  # early items answer last
        with lock:
            finished.append(index)
        return consistency_responder(body)

    mistral_env.responder = responder
    pairs = [(DOC, f"item-{i} " + (BAD if i % 3 == 0 else GOOD)) for i in range(12)]
    verdicts = Judge("mistral:open-mistral-7b").score_many(pairs, concurrency=6)
    assert [v.label for v in verdicts] == [
        "inconsistent" if i % 3 == 0 else "consistent" for i in range(12)
    ]
    assert finished != sorted(finished)  # the server really answered out of order
    sent = [json.dumps(r.body) for r in mistral_env.chat_requests]
    assert sorted(sent) == sorted({s for s in sent})  # one request per pair, none repeated


# -- failures through the Judge: retried, then unscored, never raised ----------------------------


def test_rate_limit_waits_for_retry_after(mistral_env: MistralFakeServer, transport: str) -> None:
    mistral_env.enqueue(rate_limited(retry_after=0.4))
    started = time.monotonic()
    verdict = Judge("mistral:open-mistral-7b", max_wait_s=5.0, transport=transport).score(DOC, GOOD)
    elapsed = time.monotonic() - started
    assert verdict.label == "consistent"
    first, second = mistral_env.chat_requests
    assert first.outcome == "Fail" and second.outcome == "default"
    assert second.started - first.started >= 0.4  # the server's wait was honoured
    assert elapsed < 3.0  # and not the 0.5 s+ exponential backoff stacked on top


def test_retry_after_is_capped_by_max_wait(mistral_env: MistralFakeServer) -> None:
    mistral_env.enqueue(rate_limited(retry_after=30))
    started = time.monotonic()
    verdict = Judge("mistral:open-mistral-7b", max_wait_s=0.2).score(DOC, GOOD)
    assert verdict.label == "consistent"
    assert time.monotonic() - started < 3.0
    assert len(mistral_env.chat_requests) == 2


def test_server_errors_then_success(mistral_env: MistralFakeServer) -> None:
    mistral_env.enqueue(server_error(500), server_error(503))
    verdict = fast_judge().score(DOC, BAD)
    assert verdict.label == "inconsistent"
    assert [r.outcome for r in mistral_env.chat_requests] == ["Fail", "Fail", "default"]


def test_broken_bodies_and_dropped_connections_are_retried(
    mistral_env: MistralFakeServer,
    transport: str,
) -> None:
    mistral_env.enqueue(not_json(), truncated_json(), drop(), drop(after_bytes=5))
    verdict = fast_judge(max_attempts=5, transport=transport).score(DOC, GOOD)
    assert verdict.label == "consistent"
    assert [r.outcome for r in mistral_env.chat_requests] == [
        "RawBody",
        "RawBody",
        "Drop",
        "Drop",
        "default",
    ]


def test_persistent_failure_is_unscored_with_the_reason(mistral_env: MistralFakeServer) -> None:
    mistral_env.enqueue(*[server_error(503)] * 3)
    verdict = fast_judge(max_attempts=3).score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.error is not None and verdict.error.startswith("ServerError: HTTP 503")
    assert verdict.meta["retryable"] is True
    assert len(mistral_env.chat_requests) == 3


def test_slow_answers_time_out_then_unscored(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    judge = fast_judge(timeout_s=0.3, max_attempts=2, transport=transport)
    # Warm up first: creating the HTTP client (its TLS context) can take longer than 0.3 s on
    # a loaded machine, and the first attempt would then time out before sending anything.
    assert judge.score(DOC, GOOD).scored
    mistral_env.enqueue(slow(3), slow(3))
    started = time.monotonic()
    verdict = judge.score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.error is not None and "BackendTimeoutError" in verdict.error
    assert len(mistral_env.chat_requests) == 3
    assert time.monotonic() - started < 2.0  # the 3 s answers were not waited for


def test_bad_request_is_not_retried(mistral_env: MistralFakeServer) -> None:
    verdict = fast_judge("ft:open-mistral-7b:nosuch:20260101:00000000").score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.error is not None and verdict.error.startswith("BadRequestError: HTTP 400")
    assert "Invalid model" in verdict.error
    assert len(mistral_env.chat_requests) == 1


# -- the one error map, called directly ----------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "kind", "status", "retryable"),
    [
        (rate_limited(retry_after=2.5), RateLimitError, 429, True),
        (server_error(500), ServerError, 500, True),
        (server_error(503), ServerError, 503, True),
        (Fail(401, {"message": "Unauthorized"}), AuthenticationError, 401, False),
        (Fail(403, {"message": "Forbidden"}), AuthenticationError, 403, False),
        (Fail(400, {"message": "Invalid model"}), BadRequestError, 400, False),
        (Fail(404, {"detail": "Not Found"}), BadRequestError, 404, False),
        (
            Fail(422, {"detail": [{"loc": ["body"], "msg": "bad", "type": "x"}]}),
            BadRequestError,
            422,
            False,
        ),
        (not_json(), ServerError, 200, True),
        (truncated_json(), ServerError, 200, True),
        (drop(), BackendConnectionError, None, True),
        (drop(after_bytes=5), BackendConnectionError, None, True),
    ],
)
async def test_vendor_errors_map_to_our_tree(
    mistral_env: MistralFakeServer,
    outcome: Any,
    kind: type[BackendError],
    status: int | None,
    retryable: bool,
    transport: str,
) -> None:
    backend = MistralBackend("open-mistral-7b", transport=transport)
    mistral_env.enqueue(outcome)
    with pytest.raises(kind) as caught:
        await backend.complete(request_for())
    error = caught.value
    assert type(error) is kind
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.__cause__ is not None  # chained with `from`
    assert backend.is_retryable(error) is retryable
    if kind is RateLimitError:
        assert error.retry_after == 2.5
    await backend.aclose()


async def test_sdk_timeout_maps_to_backend_timeout(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    backend = MistralBackend("open-mistral-7b", transport=transport)
    mistral_env.enqueue(slow(3))
    started = time.monotonic()
    with pytest.raises(BackendTimeoutError) as caught:
        await backend.complete(request_for(timeout_s=0.2))
    assert time.monotonic() - started < 2.0
    assert caught.value.retryable
    await backend.aclose()


async def test_backend_timeout_caps_the_judges(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    judge = fast_judge(
        MistralBackend("open-mistral-7b", transport=transport, timeout_s=0.2), max_attempts=1
    )
    mistral_env.enqueue(slow(3))
    started = time.monotonic()
    verdict = await judge.ascore(DOC, GOOD)  # the Judge's own timeout_s is 60 s
    assert time.monotonic() - started < 2.0
    assert verdict.error is not None and verdict.error.startswith("BackendTimeoutError")
    with pytest.raises(ConfigurationError, match="timeout_s must be positive"):
        MistralBackend("open-mistral-7b", timeout_s=0)
    await judge.aclose()


async def test_refused_connection_maps_to_connection_error(transport: str) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = MistralBackend(
        "open-mistral-7b", api_key="k", server_url=f"http://127.0.0.1:{port}", transport=transport
    )
    with pytest.raises(BackendConnectionError) as caught:
        await backend.complete(request_for(timeout_s=5))
    assert caught.value.retryable


@settings(max_examples=100, deadline=None)
@given(
    status=st.integers(min_value=400, max_value=599),
    retry_after=st.one_of(
        st.none(),
        st.floats(min_value=0, max_value=1e4),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),  # header-safe
    ),
    body=st.text(max_size=60),
)
def test_every_http_status_maps_by_the_rule_without_the_key(
    status: int, retry_after: float | str | None, body: str
) -> None:
    import httpx2
    from mistralai.client import errors as mistral_errors

    secret = "sk-hypothesis-secret-42"
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    raw = httpx2.Response(
        status,
        headers=headers,
        text=f"{body} {secret}",
        request=httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions"),
    )
    error = map_mistral_error(mistral_errors.SDKError("API error occurred", raw), secret=secret)
    assert error is not None and secret not in str(error)
    expected: type[BackendError] = (
        RateLimitError
        if status == 429
        else AuthenticationError
        if status in (401, 403)
        else BackendTimeoutError
        if status == 408
        else ServerError
        if status >= 500
        else BadRequestError
    )
    assert type(error) is expected and error.status_code == status
    assert error.retryable is (status in (408, 429) or status >= 500)
    if status == 429 and isinstance(retry_after, float):
        assert error.retry_after == pytest.approx(float(str(retry_after)))


def test_unknown_exceptions_are_not_mapped() -> None:
    assert map_mistral_error(KeyError("x")) is None


# -- model strings, prompts, configuration ------------------------------------------------------


def test_fine_tuned_id_is_a_drop_in_judge_with_the_fine_tune_prompt(
    mistral_env: MistralFakeServer,
) -> None:
    mistral_env.register_model(FT_ID)
    judge = Judge(FT_ID)
    assert isinstance(judge.backend, MistralBackend)
    assert judge.model == f"mistral:{FT_ID}"
    assert judge.prompt == "fine-tune@2"
    assert judge.backend.max_input_tokens == 32_768  # the base model's context
    assert judge.score(DOC, BAD).label == "inconsistent"
    assert judge.score(DOC, GOOD).label == "consistent"
    body = mistral_env.chat_requests[0].body
    assert body["model"] == FT_ID
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert body["messages"][0]["content"].endswith("Answer 1 for consistent or 0 for inconsistent.")
    # The verdict's model string resolves back to the same backend.
    assert Judge(judge.model).backend.name == judge.model


def test_bare_and_prefixed_names_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", TEST_API_KEY)
    bare = Judge("mistral-large-latest")
    assert isinstance(bare.backend, MistralBackend)
    assert bare.model == "mistral:mistral-large-latest"
    assert bare.prompt == "zero-shot@2"
    assert bare.backend.max_input_tokens == 131_072
    assert Judge("mistral:open-mistral-7b").backend.max_input_tokens == 32_768
    assert Judge("mistral:some-new-model").backend.max_input_tokens == DEFAULT_CONTEXT_TOKENS
    assert bare.backend.server_url is None  # the SDK's default: Mistral's API


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="MISTRAL_API_KEY") as caught:
        Judge("mistral:open-mistral-7b")
    assert "api_key=" in str(caught.value)
    with pytest.raises(ConfigurationError, match="MISTRAL_API_KEY"):
        MistralBackend("open-mistral-7b", server_url="https://api.mistral.ai/v1")


def test_service_account_token_counts_for_the_sdk_transport_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MISTRAL_SA_TOKEN_PATH", "/run/secrets/mistral-token")
    # the SDK reads the token file; the default HTTP transport does not, and says what to do
    assert MistralBackend("open-mistral-7b", transport="sdk").transport == "sdk"
    with pytest.raises(ConfigurationError, match="transport='sdk'"):
        MistralBackend("open-mistral-7b")
    with pytest.raises(ConfigurationError, match="transport must be"):
        MistralBackend("open-mistral-7b", transport="grpc")  # type: ignore[arg-type]


def test_no_key_needed_for_a_custom_server(mistral_server: MistralFakeServer) -> None:
    verdict = Judge("mistral:open-mistral-7b", server_url=mistral_server.url).score(DOC, GOOD)
    assert verdict.label == "consistent"
    assert "authorization" not in mistral_server.requests[0].headers


def test_server_url_with_v1_is_stripped(
    mistral_server: MistralFakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hallujudge"):
        backend = MistralBackend("open-mistral-7b", server_url=mistral_server.url + "/v1/")
    assert backend.server_url == mistral_server.url
    assert "ends in /v1" in caplog.text
    assert Judge(backend).score(DOC, GOOD).label == "consistent"
    assert mistral_server.requests[0].path == "/v1/chat/completions"


def test_bad_options_are_configuration_errors(mistral_server: MistralFakeServer) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        MistralBackend("m", server_url=mistral_server.url, base_url="http://elsewhere")
    with pytest.raises(ConfigurationError, match="max_connections"):
        MistralBackend("m", server_url=mistral_server.url, max_connections=0)
    with pytest.raises(ConfigurationError, match="model name"):
        MistralBackend(" ", server_url=mistral_server.url)
    assert MistralBackend("m", base_url=mistral_server.url).server_url == mistral_server.url


def test_api_key_never_leaks(
    mistral_server: MistralFakeServer, caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    secret = "sk-very-secret-0123456789"
    mistral_server.enqueue(Fail(400, {"message": f"header was Bearer {secret}"}))  # echoes it
    judge = fast_judge(
        api_key=secret, server_url=mistral_server.url, max_attempts=1, transport=transport
    )
    with caplog.at_level(logging.DEBUG):
        echoed = judge.score(DOC, GOOD)
        mistral_server.api_key = "another-key"  # now the fake refuses ours: HTTP 401
        refused = judge.score(DOC, GOOD)
    assert echoed.error is not None and refused.error is not None
    assert echoed.error.startswith("BadRequestError")
    assert "Bearer [redacted]" in echoed.error  # the text docs/concepts/errors.md promises
    assert refused.error.startswith("AuthenticationError: HTTP 401")
    for text in (echoed.error, refused.error, repr(judge), repr(judge.backend), caplog.text):
        assert secret not in text
    assert secret not in json.dumps(judge.settings())
    assert mistral_server.requests[0].headers["authorization"] == f"Bearer {secret}"


def test_credentials_in_the_server_url_stay_private(
    mistral_server: MistralFakeServer, transport: str
) -> None:
    password = "proxy-pass-9876"
    url = mistral_server.url.replace("http://", f"http://user:{password}@")
    judge = fast_judge(server_url=url, max_attempts=1, transport=transport)
    assert judge.backend.server_url == mistral_server.url  # type: ignore[attr-defined]
    mistral_server.enqueue(Fail(400, {"message": f"proxy said {password}"}))
    verdict = judge.score(DOC, GOOD)
    assert verdict.error is not None and verdict.error.startswith("BadRequestError")
    for text in (verdict.error, repr(judge.backend), json.dumps(judge.settings())):
        assert password not in text


# -- event loops and connections ----------------------------------------------------------------


def test_one_backend_serves_many_event_loops(mistral_env: MistralFakeServer) -> None:
    judge = Judge("mistral:open-mistral-7b")
    assert judge.score(DOC, GOOD).label == "consistent"  # the per-thread loop of run_sync
    for _ in range(2):  # fresh loops of the caller's own
        verdicts = asyncio.run(judge.ascore_many([(DOC, GOOD), (DOC, BAD)]))
        assert [v.label for v in verdicts] == ["consistent", "inconsistent"]
    results: list[str] = []

    def in_thread() -> None:  # another thread: another run_sync loop
        results.append(judge.score(DOC, BAD).label)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert results == ["inconsistent"]
    assert judge.score(DOC, BAD).label == "inconsistent"  # the first loop's client still works
    backend = judge.backend
    assert isinstance(backend, MistralBackend)
    for _ in range(3):  # clients of closed loops (asyncio.run) are dropped, not accumulated
        asyncio.run(judge.ascore(DOC, GOOD))
    # this thread's loop, the other thread's, the last run's
    assert len(backend.connection._clients) <= 3
    judge.close()


async def test_aclose_closes_and_a_new_client_follows(mistral_env: MistralFakeServer) -> None:
    backend = MistralBackend("open-mistral-7b")
    await backend.complete(request_for())
    client = backend.connection.sdk()
    http = backend.connection.client().http
    assert client.sdk_configuration.async_client is http  # the SDK uses our pooled client
    await backend.aclose()
    assert http.is_closed
    await backend.aclose()  # twice is fine
    response = await backend.complete(request_for())
    assert response.text
    assert backend.connection.sdk() is not client
    await backend.aclose()


async def test_connections_are_reused_with_32_in_flight(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    mistral_env.latency_s = 0.15
    judge = Judge("mistral:open-mistral-7b", transport=transport)
    pairs = [(DOC, GOOD)] * 32
    started = time.monotonic()
    for _ in range(2):
        verdicts = await judge.ascore_many(pairs, concurrency=32)
        assert all(v.label == "consistent" for v in verdicts)
    elapsed = time.monotonic() - started
    ports = {r.client_port for r in mistral_env.chat_requests}
    assert len(mistral_env.chat_requests) == 64
    assert len(ports) <= 32  # the second round reused the first round's connections
    assert elapsed < 6.0  # two rounds of 0.15 s, not 64 x 0.15 s (loose: CI cores are busy)
    await judge.aclose()


# -- log-probabilities (opt-in: not in the published spec) ----------------------------------------


def test_logprobs_on_request_give_a_score(mistral_env: MistralFakeServer, transport: str) -> None:
    mistral_env.register_model(FT_ID)
    mistral_env.enqueue(Answer("0", logprobs=[("0", -0.2, {"0": -0.2, "1": -1.8})]))
    verdict = Judge(FT_ID, logprobs=True, transport=transport).score(DOC, BAD)
    assert verdict.label == "inconsistent"
    assert verdict.score == pytest.approx(0.1680, abs=1e-3)  # e^-1.8 / (e^-1.8 + e^-0.2)
    body = mistral_env.chat_requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 5
    errors = mistral_env.validation_errors
    if mistral_env.spec is not None:  # the published spec lacks these fields: say so, precisely
        assert len(errors) == 1 and "'logprobs', 'top_logprobs' were unexpected" in errors[0]
    mistral_env.check_spec = False


# -- the classifier backend ---------------------------------------------------------------------


def test_classifier_input_template() -> None:
    example = Example(document="D text", summary="S text")
    assert classifier_input(example) == "Document:\nD text\n\nSummary:\nS text"
    assert CLASSIFIER_TARGET == "consistency"
    assert CLASSIFIER_LABELS == ("consistent", "inconsistent")


def test_classifier_fine_tune_scores_with_probabilities(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    mistral_env.register_model(CLS_ID, job_type="classifier", root="ministral-3b-latest")
    judge = Judge(f"mistral-classifier:{CLS_ID}", transport=transport)
    assert isinstance(judge.backend, MistralClassifierBackend)
    assert judge.backend.uses_prompt is False
    good, bad = judge.score(DOC, GOOD), judge.score(DOC, BAD)
    assert (good.label, bad.label) == ("consistent", "inconsistent")
    assert good.score == pytest.approx(0.9) and bad.score == pytest.approx(0.1)
    assert good.model == f"mistral-classifier:{CLS_ID}"
    first = mistral_env.requests_to("/v1/classifications")[0].body
    assert first == {
        "model": CLS_ID,
        "input": [classifier_input(Example(document=DOC, summary=GOOD))],
    }


def test_classifier_without_the_target_is_unscored(
    mistral_env: MistralFakeServer, transport: str
) -> None:
    mistral_env.register_model(
        CLS_ID, job_type="classifier", classifier_targets=[{"name": "topic", "labels": ["a", "b"]}]
    )
    verdict = fast_judge(f"mistral-classifier:{CLS_ID}", transport=transport).score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.error is not None and "'consistency' target" in verdict.error
    assert "topic" in verdict.error
    assert len(mistral_env.requests) == 1  # a wrong model is not retried


def test_chat_model_used_as_classifier_is_a_bad_request(mistral_env: MistralFakeServer) -> None:
    mistral_env.register_model(FT_ID)
    verdict = fast_judge(f"mistral-classifier:{FT_ID}").score(DOC, GOOD)
    assert verdict.label == "unscored"
    assert verdict.error is not None and verdict.error.startswith("BadRequestError: HTTP 400")


# -- the fake itself: faithful to the spec, so other tests can rely on it ------------------------


@needs_spec
def test_spec_loads_once_and_validates_for_real() -> None:
    spec = mistral_spec()
    assert spec is not None and mistral_spec() is spec  # cached
    assert "ChatCompletionResponse.required" in SPEC_QUIRKS
    assert (
        spec.match("POST", "/v1/fine_tuning/jobs/abc/start")
        == "/v1/fine_tuning/jobs/{job_id}/start"
    )
    assert spec.match("GET", "/v1/files/abc/content") == "/v1/files/{file_id}/content"
    assert spec.match("PUT", "/v1/chat/completions") is None
    good = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert spec.validate_request("POST", "/v1/chat/completions", good) == []
    bad = {**good, "temperature": 3, "messages": [{"role": "robot", "content": "hi"}]}
    assert len(spec.validate_request("POST", "/v1/chat/completions", bad)) == 2
    assert spec.validate_request("POST", "/v1/chat/completions", None) != []
    assert spec.validate_request(
        "POST", "/v1/fine_tuning/jobs", {"model": "m", "hyperparameters": {}},
        query={"dry_run": ["maybe"], "nope": ["1"]},
    )  # fmt: skip
    assert isinstance(OpenAPISpec.load(str(spec_path())), OpenAPISpec)


def spec_path() -> Any:
    from fakes.openapi import MISTRAL_SPEC_PATH

    return MISTRAL_SPEC_PATH


@needs_spec
def test_fake_chat_and_models_answers_match_the_spec(mistral_env: MistralFakeServer) -> None:
    from mistralai.client import Mistral

    spec = mistral_spec()
    assert spec is not None
    client = Mistral(api_key="k", server_url=mistral_env.url)
    mistral_env.register_model(FT_ID)
    mistral_env.register_model(CLS_ID, job_type="classifier")
    out = client.chat.complete(model="open-mistral-7b", messages=[{"role": "user", "content": "x"}])
    assert out.choices[0].message.content
    assert {m.id for m in client.models.list().data} >= {"open-mistral-7b", FT_ID, CLS_ID}
    assert client.models.retrieve(model_id=FT_ID).type == "fine-tuned"
    assert client.models.retrieve(model_id="open-mistral-7b").type == "base"
    result = client.classifiers.classify(model=CLS_ID, inputs=["Summary: fine"])
    assert result.results[0]["consistency"].scores["consistent"] == pytest.approx(0.9)
    raw = httpx.post(
        mistral_env.url + "/v1/chat/classifications",
        json={"model": CLS_ID, "input": {"messages": [{"role": "user", "content": BAD}]}},
    )
    assert raw.json()["results"][0]["consistency"]["scores"]["inconsistent"] == pytest.approx(0.9)
    missing = httpx.get(mistral_env.url + "/v1/models/nope")
    assert missing.status_code == 404
    assert mistral_env.response_errors == []


@needs_spec
def test_fake_files_fine_tuning_and_batch_follow_the_spec(mistral_env: MistralFakeServer) -> None:
    from mistralai.client import Mistral

    spec = mistral_spec()
    assert spec is not None
    client = Mistral(api_key="k", server_url=mistral_env.url)
    api = httpx.Client(base_url=mistral_env.url + "/v1", headers={"Authorization": "Bearer k"})
    line = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "1"}]}
    data = (json.dumps(line) + "\n").encode() * 40
    upload = client.files.upload(
        file={"file_name": "train.jsonl", "content": data}, purpose="fine-tune"
    )
    assert upload.num_lines == 40 and upload.size_bytes == len(data)
    assert client.files.download(file_id=upload.id).read() == data
    assert client.files.retrieve(file_id=upload.id).deleted is False
    assert api.get("/files").json()["total"] == 1

    job_in = {
        "model": "open-mistral-7b",
        "training_files": [{"file_id": upload.id, "weight": 1}],
        "hyperparameters": {"training_steps": 10, "learning_rate": 1e-4},
        "auto_start": True,
    }
    estimate = api.post("/fine_tuning/jobs", params={"dry_run": "true"}, json=job_in).json()
    assert estimate["object"] == "job.metadata"
    assert estimate["train_tokens"] == 10 * estimate["train_tokens_per_step"]
    assert estimate["data_tokens"] == len(data) // 4 + (len(data) % 4 > 0)
    assert estimate["epochs"] == pytest.approx(estimate["train_tokens"] / estimate["data_tokens"])
    assert estimate["cost"] > 0 and estimate["cost_currency"] == "EUR"
    assert spec.validate_schema("LegacyJobMetadataOut", estimate) == []

    job = api.post("/fine_tuning/jobs", json=job_in).json()
    assert job["status"] == "QUEUED" and job["fine_tuned_model"] is None
    seen = [api.get(f"/fine_tuning/jobs/{job['id']}").json() for _ in range(5)]
    assert [j["status"] for j in seen] == [
        "VALIDATING",
        "VALIDATED",
        "RUNNING",
        "SUCCESS",
        "SUCCESS",
    ]
    model_id = seen[-1]["fine_tuned_model"]
    assert model_id.startswith("ft:open-mistral-7b:") and len(model_id.split(":")) == 5
    assert seen[-1]["checkpoints"] and seen[-1]["trained_tokens"] == estimate["train_tokens"]
    answer = client.chat.complete(model=model_id, messages=[{"role": "user", "content": "x"}])
    assert answer.choices[0].message.content  # the new fine-tune answers chat completions

    manual = api.post("/fine_tuning/jobs", json={**job_in, "auto_start": False}).json()
    statuses = [api.get(f"/fine_tuning/jobs/{manual['id']}").json()["status"] for _ in range(3)]
    assert statuses == ["VALIDATING", "VALIDATED", "VALIDATED"]  # waits for start
    assert api.post(f"/fine_tuning/jobs/{manual['id']}/start").json()["status"] == "STARTED"
    assert api.get(f"/fine_tuning/jobs/{manual['id']}").json()["status"] == "RUNNING"
    cancelled = api.post(f"/fine_tuning/jobs/{manual['id']}/cancel").json()
    assert cancelled["status"] == "CANCELLATION_REQUESTED"
    assert api.get(f"/fine_tuning/jobs/{manual['id']}").json()["status"] == "CANCELLED"

    mistral_env.fail_next_job("FAILED_VALIDATION", "bad line 3")
    failing = api.post("/fine_tuning/jobs", json=job_in).json()
    last = [api.get(f"/fine_tuning/jobs/{failing['id']}").json() for _ in range(3)][-1]
    assert last["status"] == "FAILED_VALIDATION"
    assert last["events"][-1]["data"]["error"] == "bad line 3"

    classifier = api.post(
        "/fine_tuning/jobs",
        json={
            **job_in,
            "model": "ministral-3b-latest",
            "job_type": "classifier",
            "hyperparameters": {"training_steps": 5, "learning_rate": 1e-4},
            "classifier_targets": [{"name": "consistency", "labels": list(CLASSIFIER_LABELS)}],
        },
    ).json()
    done = [api.get(f"/fine_tuning/jobs/{classifier['id']}").json() for _ in range(4)][-1]
    assert done["status"] == "SUCCESS" and done["classifier_targets"][0]["weight"] == 1.0
    scores = client.classifiers.classify(model=done["fine_tuned_model"], inputs=[BAD])
    assert scores.results[0]["consistency"].scores["inconsistent"] == pytest.approx(0.9)
    listed = api.get("/fine_tuning/jobs").json()
    assert listed["total"] == 4 and spec.validate_schema("JobsOut", listed) == []

    requests = [
        {"custom_id": f"row-{i}", "body": {"messages": [{"role": "user", "content": s}]}}
        for i, s in enumerate([f"Summary: {GOOD}", f"Summary: {BAD}", "Summary: fine"])
    ]
    batch_file = client.files.upload(
        file={
            "file_name": "batch.jsonl",
            "content": "".join(json.dumps(r) + "\n" for r in requests).encode(),
        },
        purpose="batch",
    )
    batch = client.batch.jobs.create(
        input_files=[batch_file.id], endpoint="/v1/chat/completions", model="open-mistral-7b"
    )
    assert batch.status == "QUEUED" and batch.total_requests == 3
    assert client.batch.jobs.get(job_id=batch.id).status == "RUNNING"
    finished = client.batch.jobs.get(job_id=batch.id)
    assert finished.status == "SUCCESS" and finished.succeeded_requests == 3
    assert finished.output_file is not None
    lines = client.files.download(file_id=finished.output_file).read().decode().splitlines()
    outputs = {row["custom_id"]: row for row in map(json.loads, lines)}
    assert set(outputs) == {"row-0", "row-1", "row-2"}
    content = outputs["row-1"]["response"]["body"]["choices"][0]["message"]["content"]
    assert json.loads(content)["consistency"] == 0
    for row in outputs.values():
        assert spec.validate_schema("ChatCompletionResponse", row["response"]["body"]) == []
    inline = api.get(f"/batch/jobs/{batch.id}", params={"inline": "true"}).json()
    assert len(inline["outputs"]) == 3
    other = client.batch.jobs.create(
        requests=requests, endpoint="/v1/chat/completions", model="open-mistral-7b"
    )
    assert client.batch.jobs.cancel(job_id=other.id).status == "CANCELLATION_REQUESTED"
    assert client.batch.jobs.get(job_id=other.id).status == "CANCELLED"
    assert client.batch.jobs.list().total == 2
    assert api.delete(f"/files/{upload.id}").json()["deleted"] is True
    assert mistral_env.response_errors == []
    api.close()


def test_classifier_training_data_matches_the_backend() -> None:
    # Fine-tuning data and inference must agree on target, labels and input text.
    data = pytest.importorskip("hallujudge._finetune._data")
    assert data.CLASSIFIER_TARGET == CLASSIFIER_TARGET
    assert tuple(data.CLASSIFIER_LABELS) == CLASSIFIER_LABELS


# -- live (real API; skipped without MISTRAL_API_KEY) ---------------------------------------------


@pytest.mark.live
@pytest.mark.parametrize("transport", ["sdk", "http"])
def test_live_mistral_judges_an_obvious_pair(transport: str) -> None:
    import os

    if not os.environ.get("MISTRAL_API_KEY"):
        pytest.skip("live test: set MISTRAL_API_KEY to run it against the real Mistral API")
    judge = Judge("mistral:mistral-small-latest", transport=transport, max_attempts=3)
    verdict = judge.score("Paris is the capital of France.", "The capital of France is Berlin.")
    assert verdict.label == "inconsistent", verdict
    assert verdict.usage is not None and verdict.usage.prompt_tokens > 0
