"""The Python examples in the quickstart and concept pages run against the current code, offline.

Each page's ```python blocks run in order, in one namespace, in a fresh interpreter (pages
register prompts and backends, which must not leak into other tests). A block preceded by the
line ``<!-- docs-test: skip -->`` is not run. Placeholders the pages use without defining
(``document``, ``summary``, ``doc1``...) come from a small prelude. Model strings that need a
key only construct judges here; the fake Mistral API answers if a block calls one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [DOCS / "quickstart.md", *sorted((DOCS / "concepts").glob("*.md"))]
SKIP = "<!-- docs-test: skip -->"
BLOCK = re.compile(
    r"^(?P<marker>" + re.escape(SKIP) + r"\n)?```python\n(?P<code>.*?)^```", re.M | re.S
)

PRELUDE = """
document = "Milbrook council has approved plans for 120 new homes on the former brickworks site."
summary = "Milbrook council rejected plans for 120 new homes."
doc1, sum1 = document, summary
doc2, sum2 = document, "The council approved 120 homes."
context, answer = document, "The council approved 120 homes. The mayor resigned."

async def call_my_model(messages):
    return '{"consistency": 1, "reason": "supported"}'
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


def blocks_of(page: Path) -> list[tuple[str, str]]:
    found = []
    for i, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8"))):
        if not match.group("marker"):
            found.append((f"{page.relative_to(ROOT)} block {i}", match.group("code")))
    return found


def test_pages_have_python_blocks() -> None:
    assert sum(len(blocks_of(p)) for p in PAGES) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_snippets_run(page: Path, mistral_env: object, tmp_path: Path) -> None:
    blocks = blocks_of(page)
    if not blocks:
        pytest.skip(f"{page.name} has no runnable Python block")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(blocks), PRELUDE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{page.name}: a snippet failed\n{result.stderr[-3000:]}"
    assert f"ran {len(blocks)}" in result.stdout
