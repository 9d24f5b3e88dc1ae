"""A local fake of the W&B / Weave trace server, for the real ``weave`` client in tests.

It answers just enough of the API for ``weave.init`` and ``client.flush()`` to work offline:
``GET /traces/server_info``, ``POST /graphql`` (viewer, project, upsertModel), object, file and
table creation (with digests, or flush() hangs), call start/end/upsert and the v2
``calls/complete`` batch endpoint. Every request is recorded (method, path, headers, raw body)
so tests can assert on op names, inputs and outputs, and grep every payload for secrets.

Usage::

    with FakeWeaveServer() as server:
        os.environ.update(server.env())
        client = weave.init("test-entity/hallujudge")
        ...
        client.flush()
        calls = server.calls()
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAKE_WANDB_API_KEY", "FakeWeaveServer", "RecordedRequest"]

FAKE_WANDB_API_KEY = "wandbfake" + "0" * 31  # 40 characters, the length W&B expects
ENTITY = "test-entity"


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class _Handler(BaseHTTPRequestHandler):
    state: _State  # set on the subclass made per server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: bytes) -> RecordedRequest:
        req = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        with self.state.lock:
            self.state.requests.append(req)
        return req

    def _send(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._record(b"")
        path = self.path.split("?", 1)[0]
        if path.endswith("/server_info"):
            self._send(
                {"min_required_weave_python_version": "0.0.1", "trace_server_version": "99.0.0"}
            )
        elif path.endswith("/health"):
            self._send({"status": "ok"})
        else:
            self._send({}, 200)

    def do_POST(self) -> None:
        body = self._read_body()
        req = self._record(body)
        path = self.path.split("?", 1)[0]
        if path == "/graphql":
            self._send(self._graphql(req.json() or {}))
        elif path.endswith(("/obj/create", "/file/create", "/image/create")):
            self._send({"digest": _digest(body), "object_id": None})
        elif path.endswith("/table/create"):
            rows = ((req.json() or {}).get("table") or {}).get("rows") or []
            row_digests = [_digest(json.dumps(r, sort_keys=True).encode()) for r in rows]
            self._send({"digest": _digest(body), "row_digests": row_digests})
        elif path.endswith("/table/create_from_digests"):
            self._send({"digest": _digest(body)})
        elif path.endswith("/table/update"):
            self._send({"digest": _digest(body), "updated_row_digests": []})
        elif path.endswith("/call/start"):
            start = (req.json() or {}).get("start") or {}
            self._send(
                {
                    "id": start.get("id") or str(uuid.uuid4()),
                    "trace_id": start.get("trace_id") or str(uuid.uuid4()),
                }
            )
        elif path.endswith("/call/upsert_batch"):
            batch = (req.json() or {}).get("batch") or []
            self._send({"res": [{"req": item, "res": {}} for item in batch]})
        elif path.endswith("/calls/complete"):
            self._send({})
        elif path.endswith(("/obj/read", "/refs/read_batch")):
            self._send({"vals": []}, 404)
        else:  # call/end, feedback, ...: accept and say nothing
            self._send({})

    @staticmethod
    def _graphql(payload: dict[str, Any]) -> dict[str, Any]:
        query = str(payload.get("query", ""))
        variables = payload.get("variables") or {}
        if "upsertModel" in query:
            name = variables.get("name", "project")
            return {"data": {"upsertModel": {"model": {"name": name, "description": ""}}}}
        if "project(" in query:
            return {"data": {"project": {"name": variables.get("name", "project")}}}
        if "viewer" in query:
            return {
                "data": {
                    "viewer": {
                        "id": "user-1",
                        "username": "tester",
                        "defaultEntity": {"name": ENTITY},
                        "teams": {"edges": [{"node": {"name": ENTITY}}]},
                    }
                }
            }
        if "serverInfo" in query or "ServerInfo" in query:
            return {"data": {"serverInfo": {"cliVersionInfo": {}, "latestLocalVersionInfo": None}}}
        return {"data": {}}


class FakeWeaveServer:
    """A fake trace server on 127.0.0.1 in a background thread; records every request.

    Attributes:
        url: ``http://127.0.0.1:PORT``.
    """

    def __init__(self) -> None:
        self._state = _State()
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeWeaveServer:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWeaveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """Environment that points the real weave client here, offline and quiet."""
        return {
            "WANDB_BASE_URL": self.url,
            "WF_TRACE_SERVER_URL": f"{self.url}/traces",
            "WANDB_API_KEY": FAKE_WANDB_API_KEY,
            "WEAVE_USE_SERVER_CACHE": "false",
            "WEAVE_CAPTURE_CODE": "false",
            "WEAVE_IMPLICITLY_PATCH_INTEGRATIONS": "false",
            "WEAVE_PRINT_CALL_LINK": "false",
            "WEAVE_DISPLAY_VIEWER": "print",
            "WANDB_ERROR_REPORTING": "false",
        }

    # -- what was received ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far."""
        with self._state.lock:
            return list(self._state.requests)

    def clear(self) -> None:
        """Forget the requests received so far."""
        with self._state.lock:
            self._state.requests.clear()

    def trace_requests(self) -> list[RecordedRequest]:
        """Requests to the trace API (``/traces/...``), i.e. the ones that carry data."""
        return [r for r in self.requests if r.path.startswith("/traces/")]

    def calls(self) -> list[dict[str, Any]]:
        """Every call the client sent, merged by id from start/end/upsert/complete payloads.

        Each call is a dict with at least ``id``, ``op_name`` (the full ref), ``short_name``
        (the op's name, e.g. ``hallujudge.Judge.score``), ``inputs``, ``output``,
        ``exception``, ``parent_id``, ``trace_id``, ``summary``.
        """
        merged: dict[str, dict[str, Any]] = {}

        def add(part: dict[str, Any]) -> None:
            call_id = part.get("id")
            if not call_id:
                return
            merged.setdefault(call_id, {}).update({k: v for k, v in part.items() if v is not None})

        for req in self.requests:
            path = req.path.split("?", 1)[0]
            data = req.json()
            if not isinstance(data, dict):
                continue
            if path.endswith("/call/start"):
                add(data.get("start") or {})
            elif path.endswith("/call/end"):
                add(data.get("end") or {})
            elif path.endswith("/call/upsert_batch"):
                for item in data.get("batch") or []:
                    req_body = item.get("req") or {}
                    add(req_body.get("start") or {})
                    add(req_body.get("end") or {})
            elif path.endswith("/calls/complete"):
                for item in data.get("batch") or []:
                    add(item)
        for call in merged.values():
            call["short_name"] = _short_op_name(str(call.get("op_name", "")))
        return list(merged.values())

    def calls_named(self, name: str) -> list[dict[str, Any]]:
        """The calls whose op's short name is ``name``."""
        return [c for c in self.calls() if c["short_name"] == name]

    def payload_text(self) -> str:
        """Every request body received, decoded, joined: for grepping secrets."""
        return "\n".join(r.body.decode("utf-8", "replace") for r in self.requests)


def _short_op_name(op_name: str) -> str:
    # "weave:///entity/project/op/hallujudge.Judge.score:digest" -> "hallujudge.Judge.score"
    if op_name.startswith("weave:///"):
        tail = op_name.rsplit("/", 1)[-1]
        return tail.split(":", 1)[0]
    return op_name
