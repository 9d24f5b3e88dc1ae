"""Turn model strings into backends.

``"mistral:NAME"``, a bare Mistral name (``"mistral-large-latest"``), and fine-tuned ids
(``"ft:..."``) go to Mistral; ``"mistral-classifier:ID"`` to a Mistral classifier fine-tune;
``"openai:NAME"`` to any OpenAI-compatible server; ``"local"`` / ``"local:/path"`` to the embedded
model; ``"fake"`` to a :class:`FakeBackend`. Optional backends are imported only when used.
Third parties add prefixes with :func:`register_backend`.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ConfigurationError
from .._extras import import_extra
from ._base import Backend
from ._fake import FakeBackend

__all__ = [
    "BackendFactory",
    "available_backends",
    "register_backend",
    "resolve_backend",
    "resolve_job",
    "split_model",
]

BackendFactory = Callable[..., Backend]
"""``factory(model_name, **options) -> Backend``: ``model_name`` is what follows the prefix."""


def _lazy(module: str, attr: str, *, prefix: str, extra: str | None = None) -> BackendFactory:
    def factory(name: str, **options: Any) -> Backend:
        mod = import_extra(
            module, package=__package__, extra=extra, feature=f"Judge({prefix + ':' + name!r})"
        )
        cls = getattr(mod, attr)
        check_options(cls, options, what=f"{prefix}: models")
        backend: Backend = cls(name, **options)
        return backend

    return factory


def check_options(cls: Callable[..., object], options: Mapping[str, object], *, what: str) -> None:
    """Refuse keyword options that ``cls`` does not take, naming the valid ones.

    Args:
        cls: The backend class (or factory) the options go to.
        options: The keyword options given.
        what: How the message names the target (``"mistral: models"``).

    Raises:
        ConfigurationError: For an unknown option, with a did-you-mean suggestion drawn from
            the backend's options and the Judge's own keywords.
    """
    params = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    first = next(iter(params), None)  # the name from the model string, never an option
    valid = sorted(
        n
        for n, p in params.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n != first
    )
    for option in options:
        if option not in valid:
            from .._judge import Judge  # the Judge's keywords, for did-you-mean only

            judge = [n for n in inspect.signature(Judge).parameters if n != "model"]
            close = difflib.get_close_matches(option, [*valid, *judge], n=1)
            hint = f" (did you mean {close[0]}=?)" if close else ""
            raise ConfigurationError(
                f"unknown option {option}= for {what}{hint}; the backend takes "
                f"{', '.join(v + '=' for v in valid) or 'no options'}"
            )


def _fake(name: str, **options: Any) -> Backend:
    return FakeBackend(name=f"fake:{name}" if name else "fake", **options)


def _fine_tuned(name: str, **options: Any) -> Backend:
    if not name.strip():  # "ft:" alone would only fail later, at the first call
        raise ConfigurationError(
            "a fine-tuned model id is required after 'ft:', such as 'ft:open-mistral-7b:...'"
        )
    return _BACKENDS["mistral"]("ft:" + name, **options)


_BACKENDS: dict[str, BackendFactory] = {
    "mistral": _lazy(".mistral._chat", "MistralBackend", prefix="mistral", extra="mistral"),
    "mistral-classifier": _lazy(
        ".mistral._classifier",
        "MistralClassifierBackend",
        prefix="mistral-classifier",
        extra="mistral",
    ),
    "ft": _fine_tuned,
    "openai": _lazy("._openai", "OpenAIBackend", prefix="openai"),
    "local": _lazy("._local", "LocalBackend", prefix="local"),
    "fake": _fake,
}

_MISTRAL_NAME = re.compile(
    r"^(open-)?(mistral|mixtral|ministral|codestral|magistral|pixtral|devstral|voxtral)[\w.-]*$"
)
_KNOWN_MISTRAL = [
    "open-mistral-7b",
    "open-mistral-nemo",
    "open-mixtral-8x7b",
    "mistral-small-latest",
    "mistral-medium-latest",
    "mistral-large-latest",
    "ministral-3b-latest",
    "ministral-8b-latest",
]


def register_backend(prefix: str, factory: BackendFactory) -> None:
    """Make ``"prefix:NAME"`` model strings resolve to your backend.

    Args:
        prefix: The part before the colon (no colon itself).
        factory: Called as ``factory(NAME, **options)`` with the Judge's backend options.

    Raises:
        ConfigurationError: If the prefix is empty or contains a colon.
    """
    if not prefix or ":" in prefix:
        raise ConfigurationError(f"a backend prefix must be non-empty and colon-free: {prefix!r}")
    if not callable(factory) or isinstance(factory, Backend):
        raise ConfigurationError(
            "register_backend needs a factory called as factory(name, **options) -> Backend, "
            f"not {type(factory).__name__}; pass a backend object to Judge() directly instead"
        )
    _BACKENDS[prefix] = factory


def _checked(prefix: str, backend: object) -> Backend:
    if not isinstance(backend, Backend):
        raise ConfigurationError(
            f"the factory registered for {prefix + ':'!r} returned {type(backend).__name__}, "
            "not a Backend"
        )
    return backend


def available_backends() -> list[str]:
    """The registered prefixes, sorted."""
    return sorted(_BACKENDS)


def resolve_backend(model: str | Backend, **options: Any) -> Backend:
    """Turn a model string into a backend (a backend object passes through).

    Args:
        model: ``"prefix:name"``, a bare Mistral model name, ``"local"``, or a Backend.
        **options: Passed to the backend's factory (``api_key``, ``base_url``, ...).

    Returns:
        The backend.

    Raises:
        ConfigurationError: For an unknown prefix or name, with a did-you-mean suggestion.
    """
    if isinstance(model, Backend):
        if options:
            raise ConfigurationError(
                f"backend options {sorted(options)} only apply to model strings; "
                "configure the backend object itself instead"
            )
        return model
    prefix, name = split_model(model)
    try:
        backend = _BACKENDS[prefix](name, **options)
    except TypeError as exc:  # a registered factory's own signature refused an option
        if "unexpected keyword argument" not in str(exc):
            raise
        raise ConfigurationError(
            f"the {prefix}: backend does not take that option ({exc}); check the keyword"
        ) from exc
    return _checked(prefix, backend)


def split_model(model: str) -> tuple[str, str]:
    """Split a model string into its registered prefix and the name after it.

    The one reading of model strings, for the Judge and the FineTuner alike: ``"prefix:NAME"``
    for a registered prefix, ``"local"`` / ``"fake"`` alone, or a bare Mistral model name
    (``"mistral-large-latest"`` -> ``("mistral", "mistral-large-latest")``).

    Args:
        model: The model string.

    Returns:
        ``(prefix, name)``; ``name`` may be empty (``"local"``).

    Raises:
        ConfigurationError: For an unknown prefix or name, with a did-you-mean suggestion.
    """
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(
            f"model must be a non-empty string such as 'mistral:open-mistral-7b' or a Backend, "
            f"not {model!r}"
        )
    model = model.strip()
    prefix, sep, rest = model.partition(":")
    if sep and prefix in _BACKENDS:
        return prefix, rest
    if not sep and model in _BACKENDS and model in ("local", "fake"):
        return model, ""
    if not sep and _MISTRAL_NAME.match(model):
        return "mistral", model
    raise ConfigurationError(
        f"unknown model {model!r}.{_did_you_mean(model)} Use one of the prefixes "
        f"{', '.join(p + ':' for p in available_backends())}, a bare Mistral model name, or "
        "'local'; register_backend() adds your own."
    )


def _did_you_mean(model: str) -> str:
    prefix, sep, rest = model.partition(":")
    candidates = [f"{p}:" for p in _BACKENDS] + _KNOWN_MISTRAL + ["local"]
    close = difflib.get_close_matches(prefix + ":" if sep else model, candidates, n=1, cutoff=0.6)
    if not close:
        return ""
    suggestion = close[0] + rest if (sep and close[0].endswith(":")) else close[0]
    return f" Did you mean {suggestion!r}?"


def resolve_job(job_id: str, **options: Any) -> Any:
    """The drop-in Judge of a finished fine-tuning job (``Judge.from_job``).

    The fine-tuning feature is imported here, lazily, so the Judge depends on no vendor
    feature (the resolver is the one place that reaches optional parts).

    Args:
        job_id: The job's id.
        **options: ``prompt=``, ``lineage=``, ``api_key=``, ``server_url=``, any Judge option.

    Returns:
        The Judge (typed ``Any`` here: the Judge's module imports this one).
    """
    from .._finetune import judge_from_job

    return judge_from_job(job_id, **options)
