"""The pytest plugin (entry point ``pytest11: hallujudge``), loaded by every pytest run.

It adds:

* the ``judge`` fixture (one session-wide :class:`~hallujudge.Judge`, built on first use): its
  model comes from ``--hallujudge-model``, else the ``hallujudge_model`` ini option, else the
  ``HALLUJUDGE_MODEL`` environment variable, else ``"local"`` (offline, no key);
* the ``hallujudge_api`` marker: the test is skipped when the judge it uses (the configured one,
  or ``model=`` on the marker) is an API judge whose key is not set;
* a terminal summary of what :mod:`hallujudge.testing`'s assertions judged (pairs, failures,
  unscored, latency, tokens, cost with ``--hallujudge-price``), printed only when some were.

Because it loads in every run of every project that installs hallujudge, it imports nothing
but :mod:`hallujudge.testing` (which imports nothing heavy) and builds no judge until a test
asks for one. ``-p no:hallujudge`` turns it off.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import pytest

from . import testing

if TYPE_CHECKING:
    from ._judge import Judge

__all__ = [
    "ENV_MODEL",
    "judge",
    "missing_key",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_setup",
    "pytest_terminal_summary",
    "pytest_unconfigure",
    "summary_lines",
]

ENV_MODEL = "HALLUJUDGE_MODEL"
_MARKER = "hallujudge_api"
_MISTRAL_PREFIXES = ("mistral:", "mistral-classifier:", "ft:")
_MISTRAL_FAMILIES = (
    "mistral",
    "open-mistral",
    "mixtral",
    "open-mixtral",
    "ministral",
    "codestral",
    "magistral",
    "pixtral",
    "devstral",
    "voxtral",
)


def missing_key(model: str) -> str | None:
    """The environment variable an API judge needs and that is not set, if any.

    Args:
        model: A model string.

    Returns:
        ``"MISTRAL_API_KEY"`` or ``"OPENAI_API_KEY"`` when that judge needs it and it is unset;
        None for offline judges, for OpenAI-compatible servers at ``OPENAI_BASE_URL`` (local
        servers take no key) and for prefixes registered by third parties.
    """
    name = model.strip()
    if name.startswith(_MISTRAL_PREFIXES) or (
        ":" not in name and name.startswith(_MISTRAL_FAMILIES)
    ):
        return None if os.environ.get("MISTRAL_API_KEY") else "MISTRAL_API_KEY"
    if name.startswith("openai:"):
        if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
            return None
        return "OPENAI_API_KEY"
    return None


class _Session:
    """One pytest session's judge (built on first use) and tally."""

    def __init__(self, config: pytest.Config) -> None:
        self.model = _configured_model(config)
        self.price = _price(config)
        self.tally = testing.Tally()
        self._judge: Judge | None = None
        self._lock = threading.Lock()

    def judge(self) -> Judge:
        with self._lock:
            if self._judge is None:
                variable = missing_key(self.model)
                if variable is not None:
                    pytest.fail(
                        f"the hallujudge judge {self.model!r} needs {variable}: set it, choose "
                        "an offline judge with --hallujudge-model local, or mark API-judge "
                        f"tests @pytest.mark.{_MARKER} so they skip without a key",
                        pytrace=False,
                    )
                from ._judge import Judge

                self._judge = Judge(self.model)
            return self._judge

    def close(self) -> None:
        if self._judge is not None:
            self._judge.close()


_SESSION = pytest.StashKey[_Session]()


def _configured_model(config: pytest.Config) -> str:
    option = config.getoption("hallujudge_model")
    ini = config.getini("hallujudge_model")
    for value in (option, ini, os.environ.get(ENV_MODEL)):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "local"


def _price(config: pytest.Config) -> tuple[float, float] | None:
    text = config.getoption("hallujudge_price") or config.getini("hallujudge_price")
    if not text:
        return None
    try:
        prompt, completion = (float(part) for part in str(text).split(","))
    except ValueError:
        raise pytest.UsageError(
            f"--hallujudge-price takes USD per million tokens as PROMPT,COMPLETION "
            f"(for example 0.25,0.25), not {text!r}"
        ) from None
    return prompt, completion


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--hallujudge-model``, ``--hallujudge-price`` and their ini options."""
    group = parser.getgroup("hallujudge", "hallucination judges (hallujudge)")
    group.addoption(
        "--hallujudge-model",
        dest="hallujudge_model",
        default=None,
        metavar="MODEL",
        help=f"model of the `judge` fixture and of hallujudge.testing's assertions "
        f"(default: ini hallujudge_model, then ${ENV_MODEL}, then 'local', offline)",
    )
    group.addoption(
        "--hallujudge-price",
        dest="hallujudge_price",
        default=None,
        metavar="PROMPT,COMPLETION",
        help="USD per million prompt and completion tokens, for the cost in the summary",
    )
    parser.addini("hallujudge_model", "model of the `judge` fixture (see --hallujudge-model)")
    parser.addini("hallujudge_price", "USD per million tokens as PROMPT,COMPLETION")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and make this session's judge the assertions' default."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(model=None): an API-judge test, skipped when the judge's API key is not set",
    )
    session = _Session(config)
    config.stash[_SESSION] = session
    testing.push_context(session.tally, session.judge)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the session's judge, if one was built."""
    session = config.stash.get(_SESSION, None)
    if session is not None:
        testing.pop_context(session.tally)
        session.close()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip ``hallujudge_api`` tests whose judge has no key."""
    marker = item.get_closest_marker(_MARKER)
    if marker is None:
        return
    model = marker.kwargs.get("model") or item.config.stash[_SESSION].model
    variable = missing_key(str(model))
    if variable is not None:
        pytest.skip(f"{variable} is not set: the judge {model!r} needs it")


@pytest.fixture(scope="session")
def judge(pytestconfig: pytest.Config) -> Judge:
    """The session's hallucination judge (see ``--hallujudge-model``)."""
    return pytestconfig.stash[_SESSION].judge()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print what the assertions judged, when they judged anything."""
    session = config.stash.get(_SESSION, None)
    if session is None or session.tally.pairs == 0:
        return
    terminalreporter.write_sep("=", "hallujudge")
    for line in summary_lines(session.tally, session.price):
        terminalreporter.write_line(line)


def summary_lines(tally: testing.Tally, price: tuple[float, float] | None) -> list[str]:
    """The terminal summary's lines.

    Args:
        tally: What the session judged.
        price: USD per million prompt and completion tokens, or None.

    Returns:
        Pairs and outcomes, latency, tokens and cost.
    """
    lat = sorted(tally.latency_s)
    total = sum(lat)
    latency = "latency: n/a"
    if lat:
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        latency = (
            f"latency: {total:.2f} s in total, {total / len(lat) * 1e3:.1f} ms mean, "
            f"{p95 * 1e3:.1f} ms p95"
        )
    tokens = tally.prompt_tokens + tally.completion_tokens
    cost = tally.cost_usd(price)
    cost_text = f"${cost:.4f}" if cost is not None else "n/a (set --hallujudge-price)"
    if not tokens:
        cost_text = "$0 (no tokens reported)"
    return [
        f"{tally.pairs} pairs judged by {', '.join(tally.models) or 'the judge'}: "
        f"{tally.failures} failed, {tally.unscored} unscored",
        latency,
        f"tokens: {tally.prompt_tokens} prompt + {tally.completion_tokens} completion; "
        f"cost: {cost_text}",
    ]
