"""Resumability for real: SIGKILL a `hallujudge eval` subprocess mid-run, run it again.

A stdlib HTTP server in this test answers OpenAI-style chat completions with some latency and
logs which row each request was for. After the kill, the rows committed to the cache are the
"finished" ones; the second run must not request any of them again, must request every other
row, and its report must contain every row exactly once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hallujudge import Judge
from hallujudge._cache import cache_key

N_ROWS = 240
LATENCY_S = 0.05
_ROW = re.compile(r"claim-(\d+)")


class _Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[int] = []
        self.signal_at: tuple[int, int, signal.Signals] | None = None  # (count, pid, signal)

    def add(self, row: int) -> None:
        with self.lock:
            self.rows.append(row)
            # The server signals the client itself when the count-th request arrives, before
            # answering it: a poll from the test thread can lag so far under load that the
            # client has finished every row by the time the signal lands.
            if self.signal_at is not None and len(self.rows) == self.signal_at[0]:
                os.kill(self.signal_at[1], self.signal_at[2])

    def snapshot(self) -> list[int]:
        with self.lock:
            return list(self.rows)


def _server(log: _Log) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = "\n".join(m["content"] for m in body["messages"])
            row = int(_ROW.findall(text)[-1])
            log.add(row)
            time.sleep(LATENCY_S)
            answer = json.dumps({"consistency": row % 2, "reason": "fake"})
            payload = json.dumps(
                {
                    "id": f"chatcmpl-{row}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
                }
            ).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client was killed
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@pytest.fixture
def fake_openai() -> Iterator[tuple[str, _Log]]:
    log = _Log()
    server = _server(log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", log
    finally:
        server.shutdown()
        server.server_close()


def _write_data(path: Path) -> list[dict[str, Any]]:
    rows = [
        {
            "id": f"row-{i}",
            "premise": f"Document {i}: the committee met on day {i} and approved the plan.",
            "hypothesis": f"claim-{i}: the committee approved the plan.",
            "target": i % 2,
        }
        for i in range(N_ROWS)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def _env(base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OPENAI_BASE_URL=base_url,
        HF_HUB_OFFLINE="1",
        WANDB_ERROR_REPORTING="false",
        WEAVE_DISABLED="true",
    )
    env.pop("OPENAI_API_KEY", None)
    return env


CONCURRENCY = 8


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job


@pytest.mark.parametrize(
    ("sig", "fraction", "background"),
    [
        (signal.SIGKILL, 0.1, False),
        (signal.SIGKILL, 0.5, False),
        (signal.SIGKILL, 0.9, False),
        (signal.SIGTERM, 0.5, False),
        (signal.SIGTERM, 0.5, True),
    ],
    ids=["kill-early", "kill-mid", "kill-late", "term-mid", "term-mid-background"],
)
def test_killed_evaluation_resumes_without_duplicates_or_losses(
    fake_openai: tuple[str, _Log],
    tmp_path: Path,
    sig: signal.Signals,
    fraction: float,
    background: bool,
) -> None:
    base_url, log = fake_openai
    data = tmp_path / "pairs.jsonl"
    rows = _write_data(data)
    cache = tmp_path / "cache.sqlite"
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "hallujudge", "eval", str(data), "--model", "openai:fake"]
    cmd += ["--cache", str(cache), "--concurrency", str(CONCURRENCY), "--json", str(out)]
    cmd += ["--no-progress", "--bootstrap", "50"]

    first = subprocess.Popen(
        cmd,
        env=_env(base_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_ignore_sigint if background else None,
    )
    log.signal_at = (int(N_ROWS * fraction), first.pid, sig)
    _, err = first.communicate(timeout=90)
    if sig == signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL
    else:  # a clean stop that says how to resume
        assert first.returncode == 128 + signal.SIGTERM, err.decode()
        assert "stopped by SIGTERM" in err.decode()
        assert f"saved in {cache}: run the same command again to resume" in err.decode()
    assert not out.exists()
    time.sleep(LATENCY_S * 3)  # let handler threads of in-flight requests log and finish
    run1 = log.snapshot()

    # The rows whose verdicts were committed before the kill are the finished ones.
    settings = Judge("openai:fake", base_url=base_url).settings()
    key_to_row = {
        cache_key(settings, r["premise"], r["hypothesis"]): int(r["id"].split("-")[1]) for r in rows
    }
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finished = {key_to_row[k] for (k,) in db.execute("SELECT key FROM verdicts")}
    assert 0 < len(finished) < N_ROWS, "the kill must land mid-run"
    assert finished <= set(run1)
    assert len(run1) == len(set(run1))  # nothing was sent twice within the first run

    second = subprocess.run(cmd, env=_env(base_url), capture_output=True, timeout=120)
    assert second.returncode == 0, second.stderr.decode()
    run2 = log.snapshot()[len(run1) :]

    # No finished row was requested again; every other row was requested exactly once.
    assert not set(run2) & finished
    assert sorted(run2) == sorted(set(range(N_ROWS)) - finished)
    # The final report has every row exactly once, and says which came from the cache.
    report = json.loads(out.read_text())
    ids = [p["id"] for p in report["predictions"]]
    assert ids == [f"row-{i}" for i in range(N_ROWS)]
    assert report["n"] == N_ROWS
    assert report["n_unscored"] == 0
    assert report["run"]["n_cached"] == len(finished)
    assert sum(p["cached"] for p in report["predictions"]) == len(finished)
    assert report["metrics"]["scored"]["accuracy"]["value"] == 1.0  # the fake answers right
    # Only the calls in flight at the kill are ever sent again: every verdict is committed
    # before it is reported, so no finished row is paid for twice.
    resent = set(run1) & set(run2)
    assert resent == set(run1) - finished
    assert len(resent) <= CONCURRENCY


def test_concurrent_processes_share_one_cache_without_corruption(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    _write_data(data)
    cache = tmp_path / "shared.sqlite"
    cmd = [sys.executable, "-m", "hallujudge", "eval", str(data), "--model", "fake"]
    cmd += ["--cache", str(cache), "--no-progress", "--bootstrap", "0"]
    env = _env("http://127.0.0.1:9/v1")
    procs = [
        subprocess.Popen([*cmd, "--model", f"fake:p{k}"], env=env, stderr=subprocess.PIPE)
        for k in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert stored == N_ROWS * 4  # fake (shared by all three) + fake:p0..p2
    again = subprocess.run([*cmd, "--model", "fake:p1"], env=env, capture_output=True, timeout=120)
    assert again.returncode == 0
    assert f"0 rows judged, {2 * N_ROWS} from the cache" in again.stderr.decode()
