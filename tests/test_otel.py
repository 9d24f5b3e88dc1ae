"""OpenTelemetry evaluation events, with the real SDK: in-memory spans and one OTLP/HTTP export.

The OTLP test runs a tiny receiver on 127.0.0.1 that decodes the exporter's protobuf body with
``opentelemetry-proto``, the way a collector would.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from hallujudge import FakeBackend, Guard, HallucinationError, Judge, otel

ROOT = Path(__file__).resolve().parents[1]
DOC = "The company was founded in 1998 in Paris by Anna Smith."
GOOD = "The company was founded in 1998 in Paris."
BAD = "The company was founded in 2005 in Berlin."
KEY = "sk-test-0123456789abcdef0123456789"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture(scope="module")
def gbm() -> Judge:
    return Judge("local:gbm")


def _named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def _all_values(span: ReadableSpan) -> str:
    values = [str(v) for v in (span.attributes or {}).values()]
    for event in span.events:
        values += [str(v) for v in (event.attributes or {}).values()]
    return " ".join(values)


def test_judgment_span_is_a_child_of_the_callers_span_with_the_evaluation_event(
    spans: tuple[TracerProvider, InMemorySpanExporter], gbm: Judge
) -> None:
    provider, exporter = spans
    caller = provider.get_tracer("app")
    gbm.score(DOC, GOOD)  # a sync call before the span exists must not pin the old context
    with otel.instrument(provider), caller.start_as_current_span("chat open-mistral-7b") as llm:
        verdict = gbm.score(DOC, BAD)
    finished = exporter.get_finished_spans()
    (span,) = _named(finished, "hallujudge.judge")
    assert span.parent is not None
    assert span.parent.span_id == llm.get_span_context().span_id
    assert span.context.trace_id == llm.get_span_context().trace_id
    (event,) = span.events
    assert event.name == "gen_ai.evaluation.result"
    attrs = dict(event.attributes or {})
    assert attrs["gen_ai.evaluation.name"] == "hallucination"
    assert attrs["gen_ai.evaluation.score.label"] == "inconsistent"
    assert attrs["gen_ai.evaluation.score.value"] == pytest.approx(verdict.score)
    assert attrs["gen_ai.evaluation.explanation"] == verdict.reason
    assert attrs["hallujudge.judge.model"] == gbm.model
    assert attrs["hallujudge.judge.prompt"] == gbm.prompt == "local-features@1"
    assert re.fullmatch(r"[0-9a-f]{12}", str(attrs["hallujudge.judge.settings_revision"]))
    span_attrs = dict(span.attributes or {})
    assert span_attrs["hallujudge.verdict.unsupported_offsets"] == ("27:31", "35:41")
    assert span_attrs["gen_ai.evaluation.score.label"] == "inconsistent"
    # No text of the pair unless asked for: not the document, not the summary.
    assert DOC not in _all_values(span) and BAD not in _all_values(span)


def test_capture_content_opt_in_and_explanation_opt_out(
    spans: tuple[TracerProvider, InMemorySpanExporter], gbm: Judge
) -> None:
    provider, exporter = spans
    with otel.instrument(provider, capture_content=True, explanation=False):
        gbm.score(DOC, GOOD)
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["hallujudge.document"] == DOC and attrs["hallujudge.summary"] == GOOD
    assert "gen_ai.evaluation.explanation" not in dict(span.events[0].attributes or {})
    assert span.events[0].attributes["gen_ai.evaluation.score.label"] == "consistent"  # type: ignore[index]


def test_unscored_verdict_has_error_type_and_no_score(
    spans: tuple[TracerProvider, InMemorySpanExporter], gbm: Judge
) -> None:
    provider, exporter = spans
    with otel.instrument(provider):
        verdict = gbm.score("   ", GOOD)
    assert verdict.label == "unscored"
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.events[0].attributes or {})
    assert attrs["error.type"] == "unscored"
    assert "gen_ai.evaluation.score.value" not in attrs
    assert "gen_ai.evaluation.score.label" not in attrs
    assert attrs["gen_ai.evaluation.explanation"] == verdict.error
    assert span.status.status_code is StatusCode.ERROR


def test_api_key_never_reaches_a_span(
    spans: tuple[TracerProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    answer = json.dumps({"consistency": 0, "reason": f"the key {KEY} was in the answer"})
    judge = Judge(FakeBackend(default=answer))
    provider, exporter = spans
    with otel.instrument(provider):
        verdict = judge.score(DOC, BAD)
    assert KEY in (verdict.reason or "")  # the verdict keeps what the model said...
    (span,) = exporter.get_finished_spans()
    assert KEY not in _all_values(span)  # ...the trace does not
    assert "[redacted]" in str(span.events[0].attributes["gen_ai.evaluation.explanation"])  # type: ignore[index]


def test_settings_revision_follows_the_settings() -> None:
    a, b = Judge("local:gbm"), Judge("local:gbm")
    assert otel.settings_revision(a) == otel.settings_revision(b)
    assert otel.settings_revision(a) != otel.settings_revision(Judge("local:gbm", threshold=0.7))
    assert otel.settings_revision(object()) == "unknown"


def test_guard_check_span_holds_its_sentence_judgments(
    spans: tuple[TracerProvider, InMemorySpanExporter], gbm: Judge
) -> None:
    provider, exporter = spans
    answer = f"{GOOD} {BAD}"
    with otel.instrument(provider):
        result = Guard(gbm).check(DOC, answer)
        with pytest.raises(HallucinationError):
            Guard(gbm, on_fail="raise").check(DOC, answer)
    assert not result.passed
    finished = exporter.get_finished_spans()
    flagged, raised = _named(finished, "hallujudge.guard")
    children = [s for s in _named(finished, "hallujudge.judge") if s.parent]
    assert len(children) == 4
    assert {s.parent.span_id for s in children} == {  # type: ignore[union-attr]
        flagged.context.span_id,
        raised.context.span_id,
    }
    attrs = dict(flagged.events[0].attributes or {})
    assert attrs["gen_ai.evaluation.name"] == "hallucination.guard"
    assert attrs["gen_ai.evaluation.score.label"] == "fail"
    assert attrs["gen_ai.evaluation.score.value"] == 0.5
    assert attrs["gen_ai.evaluation.explanation"] == "1 of 2 sentences unsupported; action flag"
    start = len(GOOD) + 1
    assert dict(flagged.attributes or {})["hallujudge.guard.unsupported_offsets"] == (
        f"{start}:{start + len(BAD)}",
    )
    assert dict(raised.attributes or {})["error.type"] == "HallucinationError"
    assert dict(raised.attributes or {})["hallujudge.guard.action"] == "raise"


def test_close_stops_the_spans(
    spans: tuple[TracerProvider, InMemorySpanExporter], gbm: Judge
) -> None:
    provider, exporter = spans
    instrumentation = otel.instrument(provider)
    gbm.score(DOC, GOOD)
    instrumentation.close()
    gbm.score(DOC, GOOD)
    assert len(exporter.get_finished_spans()) == 1


def test_base_install_imports_no_integration_package() -> None:
    code = (
        "import sys, hallujudge\n"
        "from hallujudge import Guard, Judge\n"
        "j = Judge('local:gbm'); j.score('a b c.', 'a b.'); Guard(j).check('a b c.', 'a b.')\n"
        "import hallujudge.testing\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('opentelemetry', 'ray', 'pytest')]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert out.stdout.strip() == "[]"


class _Receiver(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_otlp_http_export_reaches_a_receiver(gbm: Judge) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    handler = type("Handler", (_Receiver,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = TracerProvider()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    try:
        with otel.instrument(provider):
            verdict = gbm.score(DOC, BAD)
        provider.force_flush()
    finally:
        provider.shutdown()
        server.shutdown()
        server.server_close()
    ((path, content_type, body),) = handler.requests
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (span,) = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert span.name == "hallujudge.judge"
    scope = request.resource_spans[0].scope_spans[0].scope
    assert scope.name == "hallujudge"
    (event,) = span.events
    assert event.name == "gen_ai.evaluation.result"
    attrs = {a.key: a.value for a in event.attributes}
    assert attrs["gen_ai.evaluation.name"].string_value == "hallucination"
    assert attrs["gen_ai.evaluation.score.label"].string_value == "inconsistent"
    assert attrs["gen_ai.evaluation.score.value"].double_value == pytest.approx(verdict.score)
    assert DOC.encode() not in body and BAD.encode() not in body


def test_guide_example_runs() -> None:
    """The Python block of docs/guides/otel.md runs as written and prints what it claims."""
    page = (ROOT / "docs" / "guides" / "otel.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    expected = re.search(r"```text\n(.*?)```", page, re.S)
    assert expected is not None
    assert out.stdout.strip() == expected.group(1).strip()
