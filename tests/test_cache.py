"""The verdict cache under broken disks: typed errors at open, degrade to no cache mid-run.

Each bad file is made for real (truncated, a page overwritten, another schema, read-only, a disk
that fills up through ``RLIMIT_FSIZE``) and opened through the public API or the CLI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hallujudge import CacheError, ConfigurationError, Evaluator, Example, Verdict, VerdictCache
from hallujudge.cli import main

_VERDICT = Verdict(label="consistent", score=0.9, reason="supported")


def _filled(path: Path, n: int = 400) -> bytes:
    with VerdictCache(path) as cache:
        cache.put_many((f"k{i}", _VERDICT) for i in range(n))
    return path.read_bytes()


def _assert_names_fix(exc: CacheError, path: Path) -> None:
    text = str(exc)
    assert str(path) in text
    assert exc.path == str(path)
    assert "--no-cache" in text and "cache=None" in text and f"delete {path}" in text


def test_a_put_is_committed_before_it_returns(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "c.sqlite")
    cache.put("k", _VERDICT)
    # Another connection sees it at once: nothing waits in memory for a later flush.
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (1,)
    cache.close()


def test_truncated_cache_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    data = _filled(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="cannot be opened") as info:
        VerdictCache(path)
    _assert_names_fix(info.value, path)


def test_corrupted_page_in_the_middle_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    data = bytearray(_filled(path))
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=r"quick_check|malformed") as info:
        VerdictCache(path)
    _assert_names_fix(info.value, path)


@pytest.mark.parametrize(
    ("ddl", "match"),
    [
        ("CREATE TABLE verdicts (a, b)", "columns"),
        ("CREATE TABLE users (name TEXT)", "another program's tables"),
    ],
)
def test_wrong_schema_is_a_typed_error(tmp_path: Path, ddl: str, match: str) -> None:
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(ddl)
    with pytest.raises(CacheError, match=match) as info:
        VerdictCache(path)
    _assert_names_fix(info.value, path)
    with sqlite3.connect(path) as db:  # and we wrote nothing into someone else's file
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "hallujudge_meta" not in names


def test_not_a_database_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a cache\n" * 200)
    with pytest.raises(CacheError, match="not a database"):
        VerdictCache(path)
    assert isinstance(CacheError("x", path="p"), ConfigurationError)


def test_an_unreadable_row_is_judged_again_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    rows = [Example(document=f"doc {i}", summary=f"sum {i}", label=1, id=str(i)) for i in range(3)]
    calls: list[str] = []

    def judge(document: str, summary: str) -> Verdict:
        calls.append(summary)
        return _VERDICT

    Evaluator(rows, cache=path, bootstrap=0).run(judge)
    assert len(calls) == 3
    with sqlite3.connect(path) as db:
        db.execute("UPDATE verdicts SET verdict = '{\"label\": 7' WHERE rowid = 1")
    with pytest.warns(RuntimeWarning, match="1 row.* not readable verdicts"):
        report = Evaluator(rows, cache=path, bootstrap=0).run(judge)
    assert len(calls) == 4  # only the bad row again
    assert report.n == 3 and report.run["n_cached"] == 2
    with VerdictCache(path) as cache:  # and it was overwritten with a good verdict
        assert len(cache.get_many([f"{k}" for k in _keys(path)])) == 3


def _keys(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT key FROM verdicts")]


_RUNNER = textwrap.dedent(
    """
    import os, resource, signal, sys, warnings
    from hallujudge import Evaluator, Example, Verdict, VerdictCache

    path = sys.argv[1]
    rows = [Example(document=f"d{i}", summary=f"s{i}", label=i % 2, id=str(i)) for i in range(300)]
    calls = []

    def judge(document, summary):
        calls.append(summary)
        label = "consistent" if int(summary[1:]) % 2 else "inconsistent"
        return Verdict(label=label, score=0.5, reason="x" * 2000)

    cache = VerdictCache(path)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG
    limit = os.path.getsize(path) + 64 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = Evaluator(rows, cache=cache, bootstrap=0, concurrency=4).run(judge)
    print("calls", len(calls), "n", report.n, "acc", report.accuracy)
    for w in caught:
        print("WARNING", w.message)
    """
)


def test_a_disk_that_fills_up_mid_run_degrades_to_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    VerdictCache(path).close()
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "calls 300 n 300 acc 1.0" in out  # the run finished and its report is whole
    warnings = [line for line in out.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, out  # one warning, not one per row
    assert "cannot be written" in warnings[0] and "Continuing without the cache" in warnings[0]
    stored = len(_keys(path))
    assert 0 < stored < 300  # what fit before the disk filled is kept for a re-run


def _in_child(fn: Callable[[], str], *, as_nobody: bool) -> str:
    """Run ``fn`` in a forked child (unprivileged if asked) and return what it returned."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            if as_nobody:
                os.setgid(65534)
                os.setuid(65534)
            text = fn()
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    os.waitpid(pid, 0)
    return out


def test_a_read_only_cache_fails_at_open_before_any_call() -> None:
    # Root ignores file modes, so the check runs in a child as an unprivileged user then.
    folder = Path(tempfile.mkdtemp(prefix="hj-ro-"))
    try:
        folder.chmod(0o755)
        path = folder / "c.sqlite"
        VerdictCache(path).close()
        path.chmod(0o444)
        rows = [Example(document="d", summary="s", label=1, id="0")]
        calls: list[str] = []

        def judge(document: str, summary: str) -> Verdict:
            calls.append(summary)
            return _VERDICT

        def attempt() -> str:
            try:
                VerdictCache(path)
            except CacheError as exc:
                opened = str(exc)
            else:
                return "opened"
            try:
                asyncio.run(Evaluator(rows, cache=path, bootstrap=0).arun(judge))
            except CacheError:
                return f"{opened} | calls={len(calls)}"
            return "evaluated"

        out = _in_child(attempt, as_nobody=os.geteuid() == 0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert "cannot be opened" in out and "readonly" in out, out
    assert str(path) in out and "cache=None" in out
    assert out.endswith("calls=0")  # the evaluator failed before making a single call


def test_cli_reports_a_bad_cache_and_a_bad_output_path_before_judging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"premise": "a b", "hypothesis": "a", "target": 1}\n')
    cache = tmp_path / "c.sqlite"
    cache.write_text("not a database" * 300)
    argv = ["eval", str(data), "--model", "fake", "--no-progress", "--bootstrap", "0"]
    assert main([*argv, "--cache", str(cache)]) == 2
    err = capsys.readouterr().err
    assert "hallujudge: error: the cache" in err and "--no-cache" in err
    missing = tmp_path / "no" / "such" / "report.json"
    assert main([*argv, "--no-cache", "--json", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--json {missing}: the directory {missing.parent} does not exist" in err
    assert main([*argv, "--no-cache", "--html", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
