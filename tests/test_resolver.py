"""Model strings to backends: prefixes, bare Mistral names, ft: ids, typos, third parties."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from hallujudge import Backend, ConfigurationError, FakeBackend, Judge, Request, Response
from hallujudge._backends import _resolver
from hallujudge._backends._resolver import available_backends, register_backend, resolve_backend

HAS_MISTRAL = importlib.util.find_spec("mistralai") is not None
HAS_OPENAI = importlib.util.find_spec("hallujudge._backends._openai") is not None
needs_mistral = pytest.mark.skipif(not HAS_MISTRAL, reason="Mistral backend not built yet")
KEY = {"api_key": "test-key-not-real"}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A private copy of the prefix registry, so registrations do not leak into other tests."""
    copy = dict(_resolver._BACKENDS)
    monkeypatch.setattr(_resolver, "_BACKENDS", copy)
    return copy


def test_builtin_prefixes() -> None:
    prefixes = available_backends()
    assert prefixes == sorted(prefixes)
    assert {"mistral", "mistral-classifier", "ft", "openai", "local", "fake"} <= set(prefixes)


@pytest.mark.parametrize(
    ("model", "name"), [("fake", "fake"), ("fake:x", "fake:x"), (" fake ", "fake")]
)
def test_fake(model: str, name: str) -> None:
    backend = resolve_backend(model)
    assert isinstance(backend, FakeBackend)
    assert backend.name == name


@needs_mistral
@pytest.mark.parametrize(
    ("model", "model_id"),
    [
        ("mistral:open-mistral-7b", "open-mistral-7b"),
        ("mistral-large-latest", "mistral-large-latest"),
        ("open-mistral-7b", "open-mistral-7b"),
        ("ministral-8b-latest", "ministral-8b-latest"),
        ("open-mixtral-8x7b", "open-mixtral-8x7b"),
    ],
)
def test_mistral_names(model: str, model_id: str) -> None:
    from hallujudge._backends.mistral import MistralBackend

    backend = resolve_backend(model, **KEY)
    assert type(backend) is MistralBackend
    assert backend.name == f"mistral:{model_id}"
    assert backend.default_prompt == "zero-shot"


@needs_mistral
def test_fine_tuned_id_goes_to_mistral_whole() -> None:
    from hallujudge._backends.mistral import MistralBackend

    ft_id = "ft:open-mistral-7b:7a2b9c1d:20241104:5f3e8a21"
    backend = resolve_backend(ft_id, **KEY)
    assert type(backend) is MistralBackend
    assert backend.name == f"mistral:{ft_id}"
    assert backend.default_prompt == "fine-tune"  # the prompt the fine-tune was trained on
    judge = Judge(ft_id, **KEY)
    assert judge.prompt.startswith("fine-tune@")


def test_bare_ft_prefix_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="fine-tuned model id is required"):
        resolve_backend("ft:", **KEY)


@needs_mistral
def test_mistral_classifier_prefix() -> None:
    from hallujudge._backends.mistral import MistralClassifierBackend

    backend = resolve_backend("mistral-classifier:ft:classifier:ministral-3b:abc", **KEY)
    assert type(backend) is MistralClassifierBackend
    assert backend.uses_prompt is False


@pytest.mark.skipif(not HAS_OPENAI, reason="OpenAI backend not built yet")
def test_openai_prefix() -> None:
    backend = resolve_backend("openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", **KEY)
    assert type(backend).__name__ == "OpenAIBackend"
    assert backend.name == "openai:gpt-4o-mini"


def test_local_resolves_to_the_local_backend() -> None:
    if importlib.util.find_spec("hallujudge._backends._local") is None:
        pytest.skip("local backend not built yet")
    try:
        backend = resolve_backend("local")
    except ValueError as exc:  # the embedded model is being retrained in this tree
        pytest.skip(f"embedded model not loadable: {exc}")
    assert type(backend).__name__ == "LocalBackend"
    assert backend.uses_prompt is False


@pytest.mark.parametrize(
    ("model", "suggestion"),
    [
        ("mistrl:open-mistral-7b", "mistral:open-mistral-7b"),
        ("opneai:gpt-4o", "openai:gpt-4o"),
        ("loca", "local"),
        ("Mistral-large-latest", "mistral-large-latest"),
    ],
)
def test_typos_get_a_suggestion(model: str, suggestion: str) -> None:
    with pytest.raises(ConfigurationError, match=f"Did you mean '{suggestion}'"):
        resolve_backend(model)


def test_unknown_bare_name_lists_the_prefixes() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_backend("gpt-4o")
    message = str(info.value)
    assert "unknown model 'gpt-4o'" in message
    for prefix in ("mistral:", "openai:", "ft:", "fake:"):
        assert prefix in message
    assert "register_backend" in message


@pytest.mark.parametrize("model", ["", "   ", None, 42])
def test_not_a_model_string(model: object) -> None:
    with pytest.raises(ConfigurationError, match="non-empty string"):
        resolve_backend(model)  # type: ignore[arg-type]


class EchoBackend(Backend):
    """A third-party backend: answers consistent when the summary is in the document."""

    def __init__(self, name: str, *, flavour: str = "plain") -> None:
        self.name = f"echo:{name}"
        self.flavour = flavour

    async def complete(self, request: Request) -> Response:
        ok = request.example.summary in request.example.document
        return Response(text=f'{{"consistency": {int(ok)}}}')


def test_register_backend_for_a_third_party_prefix(registry: dict[str, Any]) -> None:
    register_backend("echo", EchoBackend)
    assert "echo" in available_backends()
    backend = resolve_backend("echo:v2", flavour="spicy")
    assert isinstance(backend, EchoBackend)
    assert backend.name == "echo:v2"
    assert backend.flavour == "spicy"
    judge = Judge("echo:v2")
    assert judge.score("The sky is blue.", "The sky is blue").label == "consistent"
    assert judge.score("The sky is blue.", "The sky is red").label == "inconsistent"
    assert judge.model == "echo:v2"


def test_register_backend_rejects_bad_prefixes(registry: dict[str, Any]) -> None:
    for prefix in ("", "a:b"):
        with pytest.raises(ConfigurationError, match="colon-free"):
            register_backend(prefix, EchoBackend)


def test_register_backend_rejects_non_factories(registry: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="pass a backend object to Judge"):
        register_backend("obj", FakeBackend())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="factory"):
        register_backend("num", 3)  # type: ignore[arg-type]
    register_backend("bad", lambda name, **options: "not a backend")  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="returned str, not a Backend"):
        Judge("bad:x")


def test_registered_prefix_can_override_a_builtin(registry: dict[str, Any]) -> None:
    register_backend("fake", lambda name, **o: EchoBackend(name or "default"))
    assert isinstance(resolve_backend("fake:x"), EchoBackend)


def test_backend_objects_pass_through() -> None:
    fake = FakeBackend()
    assert resolve_backend(fake) is fake
    assert Judge(fake).backend is fake


def test_options_with_a_backend_object_are_an_error() -> None:
    with pytest.raises(ConfigurationError, match="only apply to model strings"):
        resolve_backend(FakeBackend(), api_key="x")
    with pytest.raises(ConfigurationError, match="api_key"):
        Judge(FakeBackend(), api_key="x")


def test_missing_optional_dependency_is_a_configuration_error(registry: dict[str, Any]) -> None:
    register_backend(
        "ghost", _resolver._lazy("ghost_sdk_not_installed", "GhostBackend", prefix="ghost")
    )
    with pytest.raises(ConfigurationError, match=r"Judge\('ghost:x'\) needs the 'all' extra"):
        resolve_backend("ghost:x")


@pytest.mark.parametrize(
    ("model", "option", "hint"),
    [
        ("mistral:open-mistral-7b", "max_attempt", "did you mean max_attempts=?"),  # Judge keyword
        ("mistral:open-mistral-7b", "server_ur", "did you mean server_url=?"),
        ("openai:m", "api_ky", "did you mean api_key=?"),
        ("mistral:open-mistral-7b", "colour", "the backend takes api_key="),
    ],
)
def test_a_mistyped_option_is_a_configuration_error_naming_the_valid_ones(
    model: str, option: str, hint: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"unknown option {option}=") as info:
        Judge(model, api_key="k", base_url="http://127.0.0.1:1/v1", **{option: 1})
    assert hint in str(info.value)


def test_a_registered_factory_refusing_an_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="does not take that option"):
        Judge("fake", colour="red")
