"""Everything Mistral, in one home: one connection shared by every feature.

* :mod:`._credentials`: the one credential and server-URL rule (no SDK import);
* :mod:`._errormap`: the one map from SDK/``httpx2`` exceptions to our error tree;
* :mod:`._connection`: :class:`MistralConnection` (clients per event loop, errors, retries,
  the rate state shared per server and key);
* :mod:`._chat`: :class:`MistralBackend` (chat models, ``ft:`` ids), with batch as a capability
  (:mod:`._batch`); :mod:`._classifier`: :class:`MistralClassifierBackend`;
* :mod:`._files`: uploads and downloads; :mod:`._jobs`: fine-tuning jobs.

Names are loaded lazily (PEP 562): importing a submodule that needs no SDK (credentials,
classifier inputs, job models) does not import ``mistralai``. Install the SDK with
``pip install 'hallujudge[mistral]'``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._chat import CONTEXT_TOKENS, DEFAULT_CONTEXT_TOKENS, MistralBackend
    from ._classifier import MistralClassifierBackend
    from ._common import Transport
    from ._connection import MistralConnection
    from ._credentials import DEFAULT_SERVER, mistral_credentials, without_userinfo
    from ._errormap import map_mistral_error
    from ._inputs import (
        CLASSIFIER_INPUT_VERSION,
        CLASSIFIER_LABELS,
        CLASSIFIER_TARGET,
        classifier_input,
    )
    from ._jobs import MistralJobsClient

__all__ = [
    "CLASSIFIER_INPUT_VERSION",
    "CLASSIFIER_LABELS",
    "CLASSIFIER_TARGET",
    "CONTEXT_TOKENS",
    "DEFAULT_CONTEXT_TOKENS",
    "DEFAULT_SERVER",
    "MistralBackend",
    "MistralClassifierBackend",
    "MistralConnection",
    "MistralJobsClient",
    "Transport",
    "classifier_input",
    "map_mistral_error",
    "mistral_credentials",
    "without_userinfo",
]

_HOME = {
    "CLASSIFIER_INPUT_VERSION": "_inputs",
    "CLASSIFIER_LABELS": "_inputs",
    "CLASSIFIER_TARGET": "_inputs",
    "CONTEXT_TOKENS": "_chat",
    "DEFAULT_CONTEXT_TOKENS": "_chat",
    "DEFAULT_SERVER": "_credentials",
    "MistralBackend": "_chat",
    "MistralClassifierBackend": "_classifier",
    "MistralConnection": "_connection",
    "MistralJobsClient": "_jobs",
    "Transport": "_common",
    "classifier_input": "_inputs",
    "map_mistral_error": "_errormap",
    "mistral_credentials": "_credentials",
    "without_userinfo": "_credentials",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
