"""Shared fixtures: a clean environment per test and the local fake Mistral API.

* Every test starts without vendor keys or URLs in the environment (so nothing can reach a real
  API by accident), with ``HF_HUB_OFFLINE=1`` and ``WANDB_ERROR_REPORTING=false``. Tests marked
  ``live`` keep the real ``MISTRAL_API_KEY``/``OPENAI_API_KEY`` and are skipped without them.
* ``mistral_server``: a running :class:`fakes.mistral_server.MistralFakeServer`; at teardown it
  fails the test if a request broke the published spec or if a fake answer did. A test that sends
  invalid requests on purpose sets ``mistral_server.check_spec = False``. Without
  ``../shared/mistral/openapi.yaml`` the fake still runs, unvalidated.
* ``mistral_env``: the same server, with ``MISTRAL_SERVER_URL`` pointing at it and a dummy
  ``MISTRAL_API_KEY`` set.
* The neural local judge's built model is cached in one temporary folder per test session
  (``HALLUJUDGE_CACHE_DIR``), never in the user's cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy  # noqa: F401  # see below
import pytest

from fakes.mistral_server import TEST_API_KEY, MistralFakeServer

# numpy is imported once for the whole session: pytester's in-process runs (the pytest plugin's
# tests) drop the modules first imported inside them, and numpy cannot be imported twice in one
# process. ``import hallujudge`` is lazy, so nothing else imports numpy before them.

_VENDOR_ENV = (
    "MISTRAL_API_KEY",
    "MISTRAL_SERVER_URL",
    "MISTRAL_DEBUG",
    "MISTRAL_SA_TOKEN_PATH",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "WANDB_API_KEY",
    "WANDB_BASE_URL",
    "WF_TRACE_SERVER_URL",
)
# Set at import too: weave and huggingface_hub read these when first imported (at collection),
# and error reporting that cannot reach its server retries for seconds per event.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_ERROR_REPORTING"] = "false"

_LIVE_KEYS = {k: os.environ[k] for k in ("MISTRAL_API_KEY", "OPENAI_API_KEY") if k in os.environ}


@pytest.fixture(scope="session", autouse=True)
def _neural_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HALLUJUDGE_CACHE_DIR", str(tmp_path_factory.mktemp("hallujudge-cache")))
        yield


@pytest.fixture(autouse=True)
def _clean_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VENDOR_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    if request.node.get_closest_marker("live") is not None:
        for name, value in _LIVE_KEYS.items():
            monkeypatch.setenv(name, value)


@pytest.fixture
def mistral_server() -> Iterator[MistralFakeServer]:
    server = MistralFakeServer().start()
    try:
        yield server
    finally:
        server.stop()
    if server.check_spec:
        assert server.validation_errors == [], "requests broke the Mistral spec"
    assert server.response_errors == [], "the fake's answers broke the Mistral spec"


@pytest.fixture
def mistral_env(
    mistral_server: MistralFakeServer, monkeypatch: pytest.MonkeyPatch
) -> MistralFakeServer:
    monkeypatch.setenv("MISTRAL_SERVER_URL", mistral_server.url)
    monkeypatch.setenv("MISTRAL_API_KEY", TEST_API_KEY)
    return mistral_server
