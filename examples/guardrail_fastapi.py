"""A question-answering service that refuses or filters hallucinated answers.

The service answers a question from a document with an "answerer" (here a toy extractive one, so
the example runs offline; swap in your LLM call) and passes every answer through a hallujudge
`Guard` before it leaves the service.

Run the service:      uvicorn examples.guardrail_fastapi:app --port 8000   (pip install uvicorn)
Run offline self-test: python examples/guardrail_fastapi.py --offline
With an LLM judge:     MISTRAL_API_KEY=... python examples/guardrail_fastapi.py \
                           --judge mistral-small-latest
"""

from __future__ import annotations

import argparse
import os

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from hallujudge import Guard, HallucinationError, Judge


class Question(BaseModel):
    document: str
    question: str
    mode: str = "filter"  # "filter": drop unsupported sentences; "refuse": 422 if any


class Answer(BaseModel):
    answer: str
    passed: bool
    removed: list[str]


def toy_answerer(document: str, question: str) -> str:
    """Stand-in for an LLM: the document's first sentence, plus a made-up claim for "when"."""
    first = document.split(". ")[0].rstrip(".") + "."
    if question.lower().startswith("when"):
        return first + " It all happened in 1875 under King Edward."  # a hallucination
    return first


def create_app(judge: Judge) -> FastAPI:
    """Build the service around one judge (shared by all requests)."""
    app = FastAPI(title="Guarded QA")
    filtering = Guard(judge, on_fail="filter", on_error="closed", timeout_s=5.0)
    refusing = Guard(judge, on_fail="raise", on_error="closed", timeout_s=5.0)

    @app.post("/answer", response_model=Answer)
    async def answer(q: Question) -> Answer:
        draft = toy_answerer(q.document, q.question)
        guard = refusing if q.mode == "refuse" else filtering
        try:
            result = await guard.acheck(q.document, draft)
        except HallucinationError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return Answer(
            answer=result.answer,
            passed=result.passed,
            removed=[s.text for s in (*result.unsupported, *result.unjudged)],
        )

    return app


app = create_app(Judge(os.environ.get("HALLUJUDGE_MODEL", "local")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="self-test with the local judge")
    parser.add_argument("--judge", default="local", help="model string of the guarding judge")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    client = TestClient(create_app(Judge("local" if args.offline else args.judge)))
    document = (
        "The Harbour Museum opened in 1998 in a former customs house. It holds 4,000 paintings "
        "of ships. Entry is free on Sundays."
    )
    for question, mode in [("What is the museum?", "filter"), ("When was it built?", "filter"),
                           ("When was it built?", "refuse")]:  # fmt: skip
        response = client.post(
            "/answer", json={"document": document, "question": question, "mode": mode}
        )
        print(f"{mode:>6} {question!r}: HTTP {response.status_code} {response.json()}")


if __name__ == "__main__":
    main()
