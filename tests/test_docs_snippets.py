"""Every Python block of the README and of docs/ runs against the current code, offline.

Each page's ```python blocks run in order, in one namespace, in a fresh interpreter (pages
register prompts and backends, which must not leak into other tests), in a scratch folder where
``../shared/data`` is the shared data when it exists (a page that reads it is skipped when it
does not). A block preceded by the line ``<!-- docs-test: skip -->`` is not run: the page says
why. Placeholders the pages use without defining (``document``, ``summary``, ``pairs``...) come
from a small prelude. Model strings that need a key only construct judges here; the fake Mistral
API answers if a block calls one, the fake OpenAI-compatible server answers for the
``http://localhost:PORT/v1`` servers the pages name, and the fake Weave server for
``weave.init``. Sleeps are cut to 10 ms (the fakes advance a polled job one step per poll).

What a block claims it prints is checked: a ``print(...)`` line ending in ``# -> TEXT`` must
print exactly ``TEXT`` (or start with it, when ``TEXT`` ends in ``...``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fakes.openai_server import FakeOpenAIServer
from fakes.weave_server import FakeWeaveServer
from hallujudge import Dataset

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHARED = ROOT.parent / "shared"
PAGES = [
    ROOT / "README.md",
    DOCS / "index.md",
    DOCS / "quickstart.md",
    *sorted((DOCS / "concepts").glob("*.md")),
    *sorted((DOCS / "guides").glob("*.md")),
]
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(
    r"^(?P<marker>" + re.escape(SKIP) + r"\n)?```python\n(?P<code>.*?)^```", re.M | re.S
)
CLAIM = re.compile(r"^(?P<indent>\s*)print\((?P<args>.*)\)\s*#\s*->\s*(?P<text>.*?)\s*$", re.M)
LOCAL_SERVER = re.compile(r"http://localhost:\d+/v1")
# The models the pages name on OpenAI-compatible servers (vLLM, Ollama, llama.cpp).
OPENAI_MODELS = ["org/model-ft", "llama3.1:8b", "judge-ft", "my-model"]

PRELUDE = """
document = "Milbrook council has approved plans for 120 new homes on the former brickworks site."
summary = "Milbrook council rejected plans for 120 new homes."
doc1, sum1 = document, summary
doc2, sum2 = document, "The council approved 120 homes."
context, answer = document, "The council approved 120 homes. The mayor resigned."
pairs = [(doc1, sum1), (doc2, sum2)]

async def call_my_model(messages):
    return '{"consistency": 1, "reason": "supported"}'

def _docs_claim(expected, *args):
    text = " ".join(str(a) for a in args)
    print(text)
    ok = text.startswith(expected[:-3]) if expected.endswith("...") else text == expected
    if not ok:
        raise AssertionError(f"printed {text!r}, but the page says {expected!r}")

# The fakes advance a batch or fine-tuning job one step per poll: waiting between polls (30 s
# in the pages) only slows the test, so every sleep is cut to 10 ms.
import asyncio as _asyncio, time as _time
_real_async_sleep, _real_sleep = _asyncio.sleep, _time.sleep

async def _short_async_sleep(delay, result=None):
    return await _real_async_sleep(min(delay, 0.01), result)

_asyncio.sleep = _short_async_sleep
_time.sleep = lambda delay: _real_sleep(min(delay, 0.01))

try:  # weave.init asks pypi.org for a newer weave: no network in tests
    import weave.trace.init_message as _init_message
    _init_message._print_version_check = lambda: None
except ImportError:
    pass
"""

RUNNER = """
import json, sys
blocks = json.loads(sys.argv[1])
namespace = {"__name__": "__docs__"}
exec(compile(sys.argv[2], "prelude", "exec"), namespace)
for name, code in blocks:
    exec(compile(code, name, "exec"), namespace)
print("ran", len(blocks))
"""


def checked(code: str, openai_url: str) -> str:
    """A block with its printed claims asserted and local servers pointed at the fakes."""
    code = CLAIM.sub(lambda m: f"{m['indent']}_docs_claim({m['text']!r}, {m['args']})", code)
    return LOCAL_SERVER.sub(openai_url + "/v1", code)


def blocks_of(page: Path) -> list[tuple[str, str]]:
    found = []
    for i, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
        if not match.group("marker"):
            found.append((f"{page.relative_to(ROOT)} block {i}", match.group("code")))
    return found


def test_pages_have_python_blocks_and_claims() -> None:
    assert sum(len(blocks_of(p)) for p in PAGES) >= 30
    claims = [m for p in PAGES for _, code in blocks_of(p) for m in CLAIM.finditer(code)]
    assert len(claims) >= 4


def test_a_false_claim_fails() -> None:
    code = checked("print(1 + 1)  # -> 3\n", "http://127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps([("claim", code)]), PRELUDE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "printed '2', but the page says '3'" in result.stderr


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A working folder whose ``../shared`` is the shared data (when there is any)."""
    work = tmp_path / "work"
    work.mkdir()
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    # The guides' own small file: labelled pairs we wrote (the built-in minimal pairs).
    rows = Dataset.load("minimal-pairs").head(8)
    with (work / "fib-val.jsonl").open("w", encoding="utf-8") as out:
        for e in rows:
            out.write(json.dumps({"document": e.document, "summary": e.summary, "label": e.label}))
            out.write("\n")
    return work


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_snippets_run(page: Path, mistral_env: object, scratch: Path) -> None:
    blocks = blocks_of(page)
    if not blocks:
        pytest.skip(f"{page.name} has no runnable Python block")
    if any("../shared/data" in code for _, code in blocks) and not (SHARED / "data").is_dir():
        pytest.skip(f"{page.name} reads ../shared/data, which is absent here")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with contextlib.ExitStack() as stack:
        openai = stack.enter_context(FakeOpenAIServer(models=OPENAI_MODELS))
        if any("import weave" in code for _, code in blocks):
            env.update(stack.enter_context(FakeWeaveServer()).env())
        blocks = [(name, checked(code, openai.url)) for name, code in blocks]
        result = subprocess.run(
            [sys.executable, "-c", RUNNER, json.dumps(blocks), PRELUDE],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, f"{page.name}: a snippet failed\n{result.stderr[-3000:]}"
    assert f"ran {len(blocks)}" in result.stdout
