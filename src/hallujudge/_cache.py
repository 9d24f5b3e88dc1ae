"""A disk cache of verdicts in SQLite: re-runs make no new model calls, and killed runs resume.

Keys are sha256 digests over the judge's :meth:`~hallujudge.Judge.settings` (backend identity,
model, prompt ``name@version``, temperature, seed, ...) and the pair's document and summary, so
changing anything that changes an answer changes the key. Values are the verdicts as JSON.

Writes are batched (committed every ``batch_rows`` rows or about ``batch_s`` seconds, and on
:meth:`VerdictCache.flush` / :meth:`VerdictCache.close`) in WAL mode, so several processes can
read and write one file at once; SQLite's locking keeps it consistent and a killed process loses
at most its last uncommitted batch (those rows are simply judged again).

Verdicts of transient failures (``meta["retryable"]`` True) are never stored: a re-run retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError
from ._types import Verdict

__all__ = ["DEFAULT_CACHE_PATH", "VerdictCache", "cache_key", "cacheable"]

DEFAULT_CACHE_PATH = Path(".hallujudge") / "cache.sqlite"
"""Where the Evaluator keeps its cache unless told otherwise (relative to the working dir)."""

_KEY_VERSION = 1  # bump when the key recipe or the stored form changes
_SQLITE_MAX_VARS = 900  # below SQLite's default limit of host parameters per statement


def cache_key(settings: Mapping[str, Any], document: str, summary: str) -> str:
    """The cache key of one judgment.

    Args:
        settings: The judge's settings (everything that changes its answers).
        document: The source text.
        summary: The text checked against it.

    Returns:
        A hex sha256 digest.
    """
    head = json.dumps(
        {"v": _KEY_VERSION, "settings": settings}, sort_keys=True, default=str
    ).encode()
    digest = hashlib.sha256(head)
    # Length-prefix the texts so (a, bc) and (ab, c) cannot collide.
    for text in (document, summary):
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def cacheable(verdict: Verdict) -> bool:
    """Whether a verdict may be stored: not the result of a transient failure."""
    return not verdict.meta.get("retryable", False)


class VerdictCache:
    """Verdicts on disk, keyed by :func:`cache_key`.

    Args:
        path: The SQLite file (created with its parent directories).
        batch_rows: Commit after this many pending writes.
        batch_s: Commit interval in seconds: the Evaluator commits this often from a background
            task, and a write commits when the oldest pending one is twice this old.
        timeout_s: How long to wait for another process's lock before failing.

    Raises:
        ConfigurationError: If the file cannot be opened as a SQLite database.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        batch_rows: int = 512,
        batch_s: float = 0.5,
        timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.batch_rows = max(1, batch_rows)
        self.batch_s = batch_s
        # Verdicts wait as objects; JSON is made at commit time, off the hot path.
        self._pending: dict[str, tuple[Verdict, float]] = {}
        self._oldest = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per batch.
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts ("
                "key TEXT PRIMARY KEY, verdict TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise ConfigurationError(
                f"cannot open the cache {self.path}: {exc}; pass another cache= path, or "
                "cache=None to run without one"
            ) from exc

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ConfigurationError("this cache is closed; open a new VerdictCache")
        return self._db

    def get_many(self, keys: Sequence[str]) -> dict[str, Verdict]:
        """Look up many keys at once (pending, uncommitted writes included).

        Args:
            keys: Cache keys.

        Returns:
            The verdicts found, by key.
        """
        found: dict[str, Verdict] = {}
        db = self._conn()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _SQLITE_MAX_VARS):
            part = unique[start : start + _SQLITE_MAX_VARS]
            marks = ",".join("?" * len(part))
            rows = db.execute(
                f"SELECT key, verdict FROM verdicts WHERE key IN ({marks})",
                part,
            ).fetchall()
            for key, text in rows:
                found[key] = Verdict.model_validate_json(text)
        for key in unique:
            waiting = self._pending.get(key)
            if waiting is not None:
                found[key] = waiting[0]
        return found

    def get(self, key: str) -> Verdict | None:
        """Look up one key."""
        return self.get_many([key]).get(key)

    def put(self, key: str, verdict: Verdict) -> bool:
        """Queue a verdict for writing; commits when the batch is full or old enough.

        Args:
            key: Its cache key.
            verdict: The verdict.

        Returns:
            False (and nothing stored) for a transient failure, which a re-run should retry.
        """
        if not cacheable(verdict):
            return False
        now = time.monotonic()
        if not self._pending:
            self._oldest = now
        self._pending[key] = (verdict, time.time())
        # The Evaluator also commits every batch_s from a background task, off the hot path;
        # this age check is the backstop for standalone use.
        if len(self._pending) >= self.batch_rows or now - self._oldest >= 2 * self.batch_s:
            self.flush()
        return True

    def put_many(self, items: Iterable[tuple[str, Verdict]]) -> int:
        """Queue many verdicts; returns how many were cacheable."""
        return sum(self.put(key, verdict) for key, verdict in items)

    def flush(self) -> None:
        """Commit pending writes in one transaction."""
        if not self._pending:
            return
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO verdicts (key, verdict, created) VALUES (?, ?, ?)",
                [(k, v.model_dump_json(), t) for k, (v, t) in self._pending.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._pending.clear()

    def __bool__(self) -> bool:
        # An empty cache is still a cache: never let `if cache:` mean "has rows".
        return True

    def __len__(self) -> int:
        self.flush()
        row = self._conn().execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return int(row[0])

    def clear(self) -> None:
        """Delete every stored verdict."""
        self._pending.clear()
        self._conn().execute("DELETE FROM verdicts")

    def close(self) -> None:
        """Commit pending writes and close the file. Safe to call more than once."""
        if self._db is None:
            return
        try:
            self.flush()
        finally:
            self._db.close()
            self._db = None

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VerdictCache({str(self.path)!r})"
