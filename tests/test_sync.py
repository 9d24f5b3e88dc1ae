"""The one sync-to-async bridge: refuses inside a running loop, reuses one loop per thread."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from hallujudge import Backend, ConfigurationError, Example, FakeBackend, Judge, Request, Response
from hallujudge._sync import run_sync


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pooled connections stay bound to their loop

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"consistency": 1, "reason": "served locally"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients on closed loops drop their connections: expected in the control test


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/judge"
    finally:
        server.shutdown()
        server.server_close()


class HttpBackend(Backend):
    """A backend that opens its httpx.AsyncClient (bound to the running loop) on first use."""

    name = "http-test"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: httpx.AsyncClient | None = None
        self.loops: set[int] = set()

    async def complete(self, request: Request) -> Response:
        self.loops.add(id(asyncio.get_running_loop()))
        if self.client is None:
            self.client = httpx.AsyncClient()
        answer = await self.client.post(self.url, json={"summary": request.example.summary})
        return Response(text=answer.text, model=self.name)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None


def test_repeated_sync_calls_reuse_one_loop(server_url: str) -> None:
    backend = HttpBackend(server_url)
    judge = Judge(backend)
    verdicts = [judge.score("The sky is blue.", f"Claim {i}.") for i in range(3)]
    verdicts += judge.score_many([("The sky is blue.", "Claim.")] * 3)
    assert [v.label for v in verdicts] == ["consistent"] * 6, [v.error for v in verdicts]
    assert verdicts[0].reason == "served locally"
    assert len(backend.loops) == 1
    judge.close()
    assert backend.client is None


def test_control_a_fresh_loop_per_call_breaks_such_a_backend(server_url: str) -> None:
    # Why run_sync keeps one loop: with asyncio.run per call the pooled client dies.
    backend = HttpBackend(server_url)
    request = Request(example=Example(document="d", summary="s"))
    assert asyncio.run(backend.complete(request)).text.startswith("{")
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        asyncio.run(backend.complete(request))


async def test_sync_call_inside_a_running_loop_says_to_await() -> None:
    judge = Judge(FakeBackend())
    with pytest.raises(ConfigurationError, match=r"await judge\.ascore\("):
        judge.score("The sky is blue.", "The sky is blue.")
    with pytest.raises(ConfigurationError, match=r"await judge\.ascore_many\("):
        judge.score_many([("a", "b")])
    verdict = await judge.ascore("The sky is blue.", "The sky is blue.")
    assert verdict.label == "consistent"


async def test_refused_coroutine_is_closed_without_warning() -> None:
    async def work() -> int:
        return 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError, match="running event loop"):
            run_sync(work(), async_name="thing.awork")
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_run_sync_returns_results_and_propagates_errors() -> None:
    async def ok() -> str:
        await asyncio.sleep(0)
        return "done"

    async def boom() -> None:
        raise KeyError("inner")

    assert run_sync(ok(), async_name="x") == "done"
    with pytest.raises(KeyError, match="inner"):
        run_sync(boom(), async_name="x")
    assert run_sync(ok(), async_name="x") == "done"  # the loop survives an error


def test_each_thread_gets_its_own_loop() -> None:
    async def loop_id() -> int:
        return id(asyncio.get_running_loop())

    main_loop = run_sync(loop_id(), async_name="x")
    assert run_sync(loop_id(), async_name="x") == main_loop
    seen: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            ids = [run_sync(loop_id(), async_name="x") for _ in range(2)]
            seen[threading.current_thread().name] = ids
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(ids[0] == ids[1] for ids in seen.values())  # each thread reuses its own loop
    assert main_loop not in {ids[0] for ids in seen.values()}


def test_judge_works_from_threads() -> None:
    judge = Judge(FakeBackend())
    results: list[str] = []

    def worker() -> None:
        results.append(judge.score("The sky is blue.", "The sky is blue.").label)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["consistent"] * 4
