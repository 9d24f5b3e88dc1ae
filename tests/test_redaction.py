"""Redaction removes whole credential tokens and nothing else, everywhere a key could surface."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fakes.mistral_server import MistralFakeServer
from fakes.openai_server import FakeOpenAIServer
from hallujudge import AuthenticationError, FineTuner, Judge
from hallujudge._tracing import REDACTED, redact, scrub, scrub_exception

TOKEN_CHARS = string.ascii_letters + string.digits + "_-"
keys = st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=40)
texts = st.text(alphabet=string.printable, max_size=200)
_CREDENTIAL_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s")


@given(key=keys, text=texts)
def test_text_without_the_key_is_never_changed(key: str, text: str) -> None:
    assume(key not in text)
    assume(not _CREDENTIAL_SCHEME.search(text))  # "Bearer ..." goes whatever it holds
    assert redact(text, [key]) == text
    assert scrub({"message": text, "items": [text]}, [key]) == {"message": text, "items": [text]}


@given(key=keys, before=texts, after=texts)
def test_a_key_inside_a_longer_word_is_left_alone(key: str, before: str, after: str) -> None:
    assume(not _CREDENTIAL_SCHEME.search(before + after))
    text = f"{before} x{key}y {after}"
    assume(text.count(key) == 1)
    assert redact(text, [key]) == text


@given(key=st.text(alphabet=TOKEN_CHARS, min_size=4, max_size=40), words=st.lists(keys))
def test_a_whole_key_is_always_removed(key: str, words: list[str]) -> None:
    assume(key not in words)
    text = " ".join([*words, key, "(", key, ")", f"{key}."])
    out = redact(text, [key])
    assert re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", out) is None
    assert out.count(REDACTED) == 3


@pytest.mark.parametrize("key", ["e", "ch", "eac", "r"])
def test_short_keys_never_mangle_words(key: str) -> None:
    for message in ("could not reach Mistral", "rate limit exceeded", "the cache was checked"):
        assert redact(message, [key]) == message


@pytest.fixture
def echoing_mistral() -> Iterator[MistralFakeServer]:
    server = MistralFakeServer(api_key="the-right-key-0123456789").start()
    server.echo_key = True
    try:
        yield server
    finally:
        server.stop()


def test_a_short_mistral_key_leaves_error_messages_readable(
    echoing_mistral: MistralFakeServer,
) -> None:
    verdict = Judge(
        "mistral:open-mistral-7b", api_key="e", server_url=echoing_mistral.url, max_attempts=1
    ).score("The council approved the plan.", "The plan was approved.")
    assert verdict.meta["error_type"] == "AuthenticationError"
    assert "Unauthorized: key e" in (verdict.error or "")  # a 1-character key is no secret
    assert "***" not in (verdict.error or "") and REDACTED not in (verdict.error or "")


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def test_the_cause_chain_of_a_mistral_error_holds_no_key(
    echoing_mistral: MistralFakeServer,
) -> None:
    wrong = "wrong-key-passed-as-api-key-42"
    tuner = FineTuner("mistral:open-mistral-7b", api_key=wrong, server_url=echoing_mistral.url)
    with pytest.raises(AuthenticationError) as info:
        tuner.list_jobs()
    chain = list(_chain(info.value))
    assert len(chain) >= 2, "the SDK's exception should stay as the cause"
    assert "Unauthorized: key [redacted]" in str(info.value)
    for exc in chain:
        texts = [str(exc), repr(exc.args), *(v for v in vars(exc).values() if isinstance(v, str))]
        assert all(wrong not in text for text in texts), type(exc).__name__


def test_the_cause_chain_of_an_openai_error_holds_no_password() -> None:
    password = "url-password-0123456789"
    url = f"http://user:{password}@127.0.0.1:9/v1"  # nothing listens on port 9
    verdict = Judge("openai:m", base_url=url, max_attempts=1).score("A doc.", "A doc.")
    assert verdict.meta["error_type"] == "BackendConnectionError"
    assert password not in (verdict.error or "")


def test_scrub_exception_cleans_every_link_and_string_attribute() -> None:
    key = "a-key-of-the-user-1234"

    class VendorError(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.body = f'{{"message": "bad key {key}"}}'

    def fail() -> None:
        try:
            raise VendorError(f"refused {key}")
        except VendorError as inner:
            raise RuntimeError(f"wrapped ({key})") from inner

    with pytest.raises(RuntimeError) as info:
        fail()
    scrub_exception(info.value, [key])
    assert str(info.value) == f"wrapped ({REDACTED})"
    cause = info.value.__cause__
    assert isinstance(cause, VendorError)
    assert str(cause) == f"refused {REDACTED}"
    assert cause.body == f'{{"message": "bad key {REDACTED}"}}'


def test_an_openai_key_given_as_api_key_is_redacted_in_later_text() -> None:
    key = "sk-given-not-in-env-987654"
    with FakeOpenAIServer(models=["m"], api_key="the-right-one") as fake:
        judge = Judge("openai:m", base_url=fake.url + "/v1", api_key=key, max_attempts=1)
        verdict = judge.score("A doc.", "A doc.")
        judge.close()
    assert verdict.meta["error_type"] == "AuthenticationError"
    assert key not in (verdict.error or "")
    assert redact(f"the server said {key}") == f"the server said {REDACTED}"
