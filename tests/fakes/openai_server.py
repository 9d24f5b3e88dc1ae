"""A local fake of an OpenAI-compatible server, shaped like vLLM's (``vllm serve``).

Stdlib only: a ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread. It serves
``GET /v1/models`` and ``POST /v1/chat/completions`` with vLLM's response shapes, including
``logprobs`` / ``top_logprobs`` computed over a realistic tokenisation of the answer
(``{"``, ``consistency``, ``":``, `` ``, ``1``, ``,``, ...), so log-probability scoring is tested
against the pieces real servers return.

Every request is logged (``fake.requests``) and checked against the OpenAI chat-completions
request shape; problems go to ``fake.violations`` and get the HTTP 400 a strict server sends.
Outcomes can be scripted per chat call (``fake.script(error(429, retry_after=1), DROP, ...)``);
answers come from ``responder(body) -> Reply | str``.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "DROP",
    "NON_JSON",
    "TRUNCATED_JSON",
    "FakeOpenAIServer",
    "Outcome",
    "RecordedRequest",
    "Reply",
    "error",
    "label_token_index",
    "slow",
    "tokenize",
]

# Pieces a BPE tokenizer makes of a JSON answer: '{"', words, '":', ' ', single digits, ','.
_TOKEN = re.compile(r'\{"|":|\s?"|\s?[A-Za-z]+|\d|\s|.', re.DOTALL)
# SentencePiece attaches the preceding space to digits too: ' 1' is one piece.
_SP_TOKEN = re.compile(r'\{"|":|\s?"|\s?[A-Za-z]+|\s?\d|\s|.', re.DOTALL)
_LABEL_IN_JSON = re.compile(r'"consistency"\s*:\s*"?([01])')
_BARE_LABEL = re.compile(r"^\s*([01])\s*$")
_FILLERS = (" ", "\n", "the", " and", ".", "2", "Yes")
_VLLM_NEG_INF = -9999.0  # vLLM's stand-in for log(0), which JSON cannot carry

_ALLOWED_KEYS = {
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
    "logit_bias", "logprobs", "top_logprobs", "user", "seed", "response_format", "tools",
    "tool_choice", "parallel_tool_calls",
}  # fmt: skip
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def tokenize(text: str, *, space_joins_digits: bool = False) -> list[str]:
    """Split text into the pieces a BPE tokenizer would emit; they join back to ``text``."""
    pieces = (_SP_TOKEN if space_joins_digits else _TOKEN).findall(text)
    assert "".join(pieces) == text
    return pieces


def label_token_index(pieces: Sequence[str]) -> int | None:
    """Index of the token holding the 0/1 label (JSON ``consistency`` value or a bare digit)."""
    text = "".join(pieces)
    match = _LABEL_IN_JSON.search(text) or _BARE_LABEL.match(text)
    if match is None:
        return None
    position = 0
    for index, piece in enumerate(pieces):
        if position <= match.start(1) < position + len(piece):
            return index
        position += len(piece)
    return None  # pragma: no cover - the match lies inside the text


@dataclass(frozen=True)
class Reply:
    """What the fake model answers.

    Attributes:
        content: The assistant message text.
        p_consistent: Probability the fake gives the token ``1`` at the label position (``0``
            gets the rest, minus 2 % spread over unrelated tokens). None: 0.9 for the label
            the content chose.
        finish_reason: ``stop`` or ``length``.
    """

    content: str
    p_consistent: float | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Outcome:
    """A scripted outcome for one chat call (build with :func:`error`, :func:`slow`, ...)."""

    kind: str
    status: int = 200
    message: str = ""
    retry_after: str | None = None
    delay_s: float = 0.0
    reply: Reply | str | None = None
    body: Any = None


def error(
    status: int, message: str = "scripted failure", *, retry_after: float | None = None,
    body: Any = None,
) -> Outcome:  # fmt: skip
    """An HTTP error in OpenAI's shape (or ``body`` verbatim), optionally with Retry-After."""
    return Outcome(
        kind="error",
        status=status,
        message=message,
        retry_after=None if retry_after is None else f"{retry_after:g}",
        body=body,
    )


def slow(delay_s: float, then: Reply | str | None = None) -> Outcome:
    """Wait ``delay_s`` seconds, then answer (``then``, or the responder's answer)."""
    return Outcome(kind="slow", delay_s=delay_s, reply=then)


NON_JSON = Outcome(kind="non_json")
"""HTTP 200 with an HTML body, as a misconfigured proxy sends."""
TRUNCATED_JSON = Outcome(kind="truncated")
"""HTTP 200 whose JSON body is cut in half."""
DROP = Outcome(kind="drop")
"""Close the connection without answering."""


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    violations: list[str] = field(default_factory=list)
    peer: tuple[str, int] = ("", 0)
    """The client's address: the same port means the same (kept-alive) connection."""


def check_chat_request(body: Any, headers: dict[str, str]) -> list[str]:
    """Problems with a chat-completions request, per OpenAI's API reference (empty if none)."""
    problems: list[str] = []
    if not headers.get("content-type", "").startswith("application/json"):
        problems.append("Content-Type must be application/json")
    if not isinstance(body, dict):
        return [*problems, "the body must be a JSON object"]
    unknown = sorted(set(body) - _ALLOWED_KEYS)
    if unknown:
        problems.append(f"Unrecognized request argument supplied: {', '.join(unknown)}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        problems.append("'model' is required and must be a non-empty string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append("'messages' is required and must be a non-empty array")
    else:
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in _ROLES:
                problems.append(f"messages[{i}].role must be one of {sorted(_ROLES)}")
            elif not isinstance(m.get("content"), str | list):
                problems.append(f"messages[{i}].content must be a string or an array of parts")
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        problems.append("'temperature' must be a number in [0, 2]")
    for key in ("seed", "max_tokens"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"'{key}' must be an integer")
    if isinstance(body.get("max_tokens"), int) and body["max_tokens"] < 1:
        problems.append("'max_tokens' must be at least 1")
    logprobs = body.get("logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        problems.append("'logprobs' must be a boolean")
    top = body.get("top_logprobs")
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 20:
            problems.append("'top_logprobs' must be an integer in [0, 20]")
        if logprobs is not True:
            problems.append("'top_logprobs' requires 'logprobs': true")
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") not in (
            "text", "json_object", "json_schema",
        ):  # fmt: skip
            problems.append("response_format.type must be text, json_object or json_schema")
        elif fmt["type"] == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not _SCHEMA_NAME.match(str(spec.get("name", ""))):
                problems.append("response_format.json_schema.name is required ([A-Za-z0-9_-])")
            elif not isinstance(spec.get("schema"), dict):
                problems.append("response_format.json_schema.schema must be an object")
    return problems


def default_responder(body: dict[str, Any]) -> Reply | str:
    """Answer ``consistent``: JSON when a response_format was asked for, else the bare digit."""
    if body.get("response_format"):
        return '{"consistency": 1, "reason": "The document states every claim."}'
    return "1"


class FakeOpenAIServer:
    """A vLLM-shaped OpenAI-compatible server on 127.0.0.1 (use as a context manager).

    Args:
        models: Served model names (``--served-model-name``); others get vLLM's 404.
        responder: ``responder(request_body) -> Reply | str`` for unscripted calls.
        logprobs: Whether the server returns log-probabilities (False: like servers that
            ignore the field, ``"logprobs": null``).
        reject_logprobs: Answer requests that ask for logprobs with HTTP 400, as reasoning
            models and some gateways do.
        space_marker: Show tokens as raw tokenizer pieces, a leading space written as this
            marker (``"▁"`` SentencePiece, ``"Ġ"`` byte-level BPE), as some servers do.
        api_key: When set, requests need ``Authorization: Bearer <api_key>`` (vLLM's
            ``--api-key``); a wrong key gets a 401 that echoes it, as OpenAI's does.
        latency_s: Delay before every chat answer.
        max_model_len: Reported in ``/v1/models``.

    Attributes:
        url: ``http://127.0.0.1:PORT`` (the API lives under ``/v1``).
        requests: Every request received, in order.
        violations: Request-shape problems found, across all requests.
    """

    def __init__(
        self,
        models: Iterable[str] = ("org/model-ft",),
        *,
        responder: Callable[[dict[str, Any]], Reply | str] = default_responder,
        logprobs: bool = True,
        reject_logprobs: bool = False,
        space_marker: str | None = None,
        api_key: str | None = None,
        latency_s: float = 0.0,
        max_model_len: int = 8192,
    ) -> None:
        self.models = list(models)
        self.responder = responder
        self.logprobs = logprobs
        self.reject_logprobs = reject_logprobs
        self.space_marker = space_marker
        self.api_key = api_key
        self.latency_s = latency_s
        self.max_model_len = max_model_len
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._script: deque[Outcome | Reply | str] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", 0), handler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------------

    def script(self, *outcomes: Outcome | Reply | str) -> None:
        """Queue outcomes for the next chat calls, one each, before the responder takes over."""
        with self._lock:
            self._script.extend(outcomes)

    def _next(self) -> Outcome | Reply | str | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completions requests only."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- responses --------------------------------------------------------------------------

    def models_body(self) -> dict[str, Any]:
        """``GET /v1/models`` as vLLM returns it."""
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": created,
                    "owned_by": "vllm",
                    "root": name,
                    "parent": None,
                    "max_model_len": self.max_model_len,
                    "permission": [
                        {
                            "id": f"modelperm-{uuid.uuid4().hex}",
                            "object": "model_permission",
                            "created": created,
                            "allow_create_engine": False,
                            "allow_sampling": True,
                            "allow_logprobs": True,
                            "allow_search_indices": False,
                            "allow_view": True,
                            "allow_fine_tuning": False,
                            "organization": "*",
                            "group": None,
                            "is_blocking": False,
                        }
                    ],
                }
                for name in self.models
            ],
        }

    def completion_body(self, body: dict[str, Any], reply: Reply | str) -> dict[str, Any]:
        """A vLLM chat-completion response for ``reply`` to the request ``body``."""
        if isinstance(reply, str):
            reply = Reply(reply)
        pieces = tokenize(reply.content, space_joins_digits=self.space_marker is not None)
        finish = reply.finish_reason
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and len(pieces) > max_tokens:
            pieces, finish = pieces[:max_tokens], "length"
        content = "".join(pieces)
        logprobs = None
        if self.logprobs and body.get("logprobs") is True:
            top_n = body.get("top_logprobs") or 0
            logprobs = {"content": _token_logprobs(pieces, reply, top_n, self.space_marker)}
        prompt_chars = sum(
            len(m.get("content", "")) for m in body["messages"] if isinstance(m.get("content"), str)
        )
        prompt_tokens = max(1, prompt_chars // 4)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "reasoning_content": None,
                        "content": content,
                        "tool_calls": [],
                    },
                    "logprobs": logprobs,
                    "finish_reason": finish,
                    "stop_reason": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "total_tokens": prompt_tokens + len(pieces),
                "completion_tokens": len(pieces),
                "prompt_tokens_details": None,
            },
            "prompt_logprobs": None,
        }


def _lp(p: float) -> float:
    return math.log(p) if p > 0 else _VLLM_NEG_INF


def _entry(token: str, logprob: float, marker: str | None = None) -> dict[str, Any]:
    shown = marker + token[1:] if marker and token.startswith(" ") else token
    return {"token": shown, "logprob": logprob, "bytes": list(token.encode())}


def _token_logprobs(
    pieces: list[str], reply: Reply, top_n: int, marker: str | None = None
) -> list[dict[str, Any]]:
    label_at = label_token_index(pieces)
    out: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        if index == label_at:
            lead = piece[: len(piece) - len(piece.lstrip())]  # ' 1' has ' 0' as its rival
            p1 = reply.p_consistent
            if p1 is None:
                p1 = 0.9 if piece.strip() == "1" else 0.1
            # 98 % of the mass on the two labels, 2 % on unrelated tokens.
            dist = {lead + "1": 0.98 * p1, lead + "0": 0.98 * (1 - p1)}
            fillers = [f for f in _FILLERS if f not in dist][:3]
            dist.update({f: 0.02 / len(fillers) for f in fillers})
            own = dist[piece]
        else:
            own = 0.97
            fillers = [f for f in _FILLERS if f != piece][:4]
            dist = {piece: own, **{f: 0.03 / len(fillers) for f in fillers}}
        ranked = sorted(dist.items(), key=lambda kv: kv[1], reverse=True)[:top_n]
        out.append(
            {
                **_entry(piece, _lp(own), marker),
                "top_logprobs": [_entry(t, _lp(p), marker) for t, p in ranked],
            }
        )
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # slow handlers must not hold up the test's teardown
    request_queue_size = 256  # many clients connect at once; a backlog of 5 drops SYNs


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers: exercises the client's pool
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK stall

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(
        self, status: int, payload: Any, *, headers: dict[str, str] | None = None,
        raw: bytes | None = None, content_type: str = "application/json",
    ) -> None:  # fmt: skip
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str, **headers: str) -> None:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": status}}
        self._send(status, payload, headers=headers)

    def _authorised(self) -> bool:
        key = self.fake.api_key
        if key is None:
            return True
        given = self.headers.get("Authorization", "")
        if given == f"Bearer {key}":
            return True
        shown = given.removeprefix("Bearer ") or "<none>"
        self._error(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key in your settings.",
            "invalid_request_error",
        )
        return False

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def do_GET(self) -> None:
        """Serve ``/v1/models`` and vLLM's ``/health``."""
        self.fake.requests.append(
            RecordedRequest("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
        )
        if self.path == "/health":
            self._send(200, None, raw=b"")
        elif self.path == "/v1/models":
            if self._authorised():
                self._send(200, self.fake.models_body())
        else:
            self._error(404, f"Not Found: {self.path}", "NotFoundError")

    def do_POST(self) -> None:
        """Serve ``/v1/chat/completions``."""
        fake = self.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        record = RecordedRequest("POST", self.path, headers, body, peer=self.client_address[:2])
        fake.requests.append(record)
        if self.path != "/v1/chat/completions":
            self._error(404, f"Not Found: {self.path}", "NotFoundError")
            return
        record.violations = check_chat_request(body, headers)
        fake.violations.extend(record.violations)
        outcome = fake._next()
        reply: Reply | str | None = None
        if isinstance(outcome, Outcome):
            if outcome.kind == "drop":
                self.close_connection = True
                return
            if outcome.kind == "error":
                extra = {"Retry-After": outcome.retry_after} if outcome.retry_after else {}
                if outcome.body is not None:
                    self._send(outcome.status, outcome.body, headers=extra)
                else:
                    self._error(outcome.status, outcome.message, "ScriptedError", **extra)
                return
            if outcome.kind == "non_json":
                self._send(
                    200, None, raw=b"<html><body>502 Bad Gateway</body></html>",
                    content_type="text/html",
                )  # fmt: skip
                return
            if outcome.kind == "slow":
                time.sleep(outcome.delay_s)
                reply = outcome.reply
        elif outcome is not None:
            reply = outcome
        if fake.latency_s:
            time.sleep(fake.latency_s)
        if not self._authorised():
            return
        if record.violations:
            self._error(400, "; ".join(record.violations), "BadRequestError")
            return
        if fake.reject_logprobs and body.get("logprobs"):
            self._error(400, "logprobs is not supported with this model", "invalid_request_error")
            return
        if body["model"] not in fake.models:
            self._error(404, f"The model `{body['model']}` does not exist.", "NotFoundError")
            return
        if reply is None:
            reply = fake.responder(body)
        payload = fake.completion_body(body, reply)
        if isinstance(outcome, Outcome) and outcome.kind == "truncated":
            data = json.dumps(payload).encode()
            self._send(200, None, raw=data[: len(data) // 2])
            return
        self._send(200, payload)
