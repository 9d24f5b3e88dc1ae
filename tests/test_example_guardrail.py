"""The guardrail web-service example, called through FastAPI's test client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from hallujudge import FunctionBackend, Judge, Request, Response

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "guardrail_fastapi.py"
DOCUMENT = (
    "The Harbour Museum opened in 1998 in a former customs house. It holds 4,000 paintings of "
    "ships. Entry is free on Sundays."
)


def _load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("guardrail_fastapi", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["guardrail_fastapi"] = module
    spec.loader.exec_module(module)
    return module


def _verbatim(request: Request) -> Response:
    ok = request.example.summary.rstrip(".") in request.example.document
    return Response(text="", p_consistent=0.95 if ok else 0.05)


@pytest.fixture
def client() -> TestClient:
    example = _load_example()
    judge = Judge(FunctionBackend(_verbatim, uses_prompt=False))
    return TestClient(example.create_app(judge))


def test_supported_answer_passes(client: TestClient) -> None:
    r = client.post("/answer", json={"document": DOCUMENT, "question": "What is it?"})
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "answer": "The Harbour Museum opened in 1998 in a former customs house.",
        "passed": True,
        "removed": [],
    }


def test_hallucinated_sentence_is_filtered(client: TestClient) -> None:
    r = client.post("/answer", json={"document": DOCUMENT, "question": "When was it built?"})
    assert r.status_code == 200
    body = r.json()
    assert body["passed"] is False
    assert body["removed"] == ["It all happened in 1875 under King Edward."]
    assert "1875" not in body["answer"]
    assert body["answer"].startswith("The Harbour Museum opened in 1998")


def test_refuse_mode_returns_422(client: TestClient) -> None:
    r = client.post(
        "/answer",
        json={"document": DOCUMENT, "question": "When was it built?", "mode": "refuse"},
    )
    assert r.status_code == 422
    assert "not supported" in r.json()["detail"]
