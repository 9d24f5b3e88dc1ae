"""A disk cache of verdicts in SQLite: re-runs make no new model calls, and killed runs resume.

Keys are sha256 digests over the judge's :meth:`~hallujudge.Judge.settings` (backend identity,
model, prompt ``name@version``, temperature, seed, ...) and the pair's document and summary, so
changing anything that changes an answer changes the key. Values are the verdicts as JSON.

Durability: :meth:`VerdictCache.put` commits before it returns (one small transaction in WAL
mode, where a commit is an append to the log), and the Evaluator reports a verdict only after
its ``put`` returned. So a verdict anyone has seen is on disk: a process killed at any moment
(SIGKILL included) loses only the calls still in flight, and a re-run sends only those again.
WAL mode also lets several processes read and write one file at once.

Opening checks the file before any paid call: that it is a SQLite database, that it passes
SQLite's ``quick_check`` (no corrupted pages), that its tables are this cache's, and that it can
be written. Each failure is a :class:`~hallujudge.CacheError` naming the file and the fix. A row
that cannot be read back as a verdict is treated as a miss (judged again and overwritten), with
a warning.

Verdicts of transient failures (``meta["retryable"]`` True) are never stored: a re-run retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic

from ._errors import CacheError
from ._types import Verdict

__all__ = ["DEFAULT_CACHE_PATH", "VerdictCache", "cache_fix", "cache_key", "cacheable"]

DEFAULT_CACHE_PATH = Path(".hallujudge") / "cache.sqlite"
"""Where the Evaluator keeps its cache unless told otherwise (relative to the working dir)."""

_KEY_VERSION = 1  # bump when the key recipe or the stored form changes
_SCHEMA = "hallujudge-verdicts-1"  # stored in the meta table; another value is another schema
_SQLITE_MAX_VARS = 900  # below SQLite's default limit of host parameters per statement
_COLUMNS = ["key", "verdict", "created"]
_OUR_TABLES = {"verdicts", "hallujudge_meta"}


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


def cache_fix(path: Path | str) -> str:
    """What a user can do about a cache that cannot be used, in both interfaces' words."""
    return (
        f"delete {path}, use another file (--cache PATH on the command line, cache=PATH in "
        "Python), or run without a cache (--no-cache, cache=None)"
    )


class VerdictCache:
    """Verdicts on disk, keyed by :func:`cache_key`; every write is committed before it returns.

    Args:
        path: The SQLite file (created with its parent directories).
        timeout_s: How long to wait for another process's lock before failing.

    Raises:
        CacheError: If the file is not a usable cache: not SQLite, corrupted, another
            program's tables, or not writable (read-only file or directory, full disk).
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.bad_rows = 0  # rows found unreadable (treated as misses)
        self._db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
            self._db = sqlite3.connect(
                self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            self._prepare(self._db)
        except (sqlite3.Error, OSError) as exc:
            if self._db is not None:
                self._db.close()
                self._db = None
            raise self._error("cannot be opened", exc) from exc

    def _error(self, what: str, exc: BaseException) -> CacheError:
        return CacheError(
            f"the cache {self.path} {what} ({type(exc).__name__}: {exc}); {cache_fix(self.path)}",
            path=str(self.path),
        )

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed; only a power loss
        # can take the last commits back.
        db.execute("PRAGMA synchronous=NORMAL")
        check = db.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check says {check[0] if check else 'nothing'}")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and not tables & _OUR_TABLES:
            raise sqlite3.DatabaseError(
                f"it holds another program's tables ({', '.join(sorted(tables))}), not verdicts"
            )
        if "verdicts" in tables:
            columns = [r[1] for r in db.execute("PRAGMA table_info(verdicts)")]
            if columns != _COLUMNS:
                raise sqlite3.DatabaseError(
                    f"its verdicts table has columns {columns}, expected {_COLUMNS}"
                )
        if "hallujudge_meta" in tables:
            row = db.execute("SELECT v FROM hallujudge_meta WHERE k = 'schema'").fetchone()
            if row is not None and row[0] != _SCHEMA:
                raise sqlite3.DatabaseError(f"its schema is {row[0]!r}, expected {_SCHEMA!r}")
        # The last statement is a real write: a read-only file or directory fails here, at open
        # time, before any paid call.
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS verdicts ("
                "key TEXT PRIMARY KEY, verdict TEXT NOT NULL, created REAL NOT NULL)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS hallujudge_meta (k TEXT PRIMARY KEY, v TEXT)")
            db.execute(
                "INSERT OR REPLACE INTO hallujudge_meta (k, v) VALUES ('schema', ?)", (_SCHEMA,)
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise CacheError(
                f"the cache {self.path} is closed; open a new VerdictCache", path=str(self.path)
            )
        return self._db

    def get_many(self, keys: Sequence[str]) -> dict[str, Verdict]:
        """Look up many keys at once.

        Args:
            keys: Cache keys.

        Returns:
            The verdicts found, by key. Rows that cannot be read back as a verdict are left
            out (so they are judged again), with a warning.

        Raises:
            CacheError: If the file cannot be read (for example, corrupted since it was opened).
        """
        found: dict[str, Verdict] = {}
        db = self._conn()
        unique = list(dict.fromkeys(keys))
        bad = 0
        try:
            for start in range(0, len(unique), _SQLITE_MAX_VARS):
                part = unique[start : start + _SQLITE_MAX_VARS]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT key, verdict FROM verdicts WHERE key IN ({marks})", part
                ).fetchall()
                for key, text in rows:
                    try:
                        found[key] = Verdict.model_validate_json(text)
                    except (pydantic.ValidationError, TypeError, ValueError):
                        bad += 1
        except sqlite3.Error as exc:
            raise self._error("cannot be read", exc) from exc
        if bad:
            self.bad_rows += bad
            warnings.warn(
                f"{bad} row(s) of the cache {self.path} are not readable verdicts; they are "
                "judged again and overwritten",
                RuntimeWarning,
                stacklevel=2,
            )
        return found

    def get(self, key: str) -> Verdict | None:
        """Look up one key."""
        return self.get_many([key]).get(key)

    def put(self, key: str, verdict: Verdict) -> bool:
        """Store one verdict, committed before this returns.

        Args:
            key: Its cache key.
            verdict: The verdict.

        Returns:
            False (and nothing stored) for a transient failure, which a re-run should retry.

        Raises:
            CacheError: If the write fails (full disk, file made read-only, ...).
        """
        return self.put_many([(key, verdict)]) == 1

    def put_many(self, items: Iterable[tuple[str, Verdict]]) -> int:
        """Store many verdicts in one transaction, committed before this returns.

        Returns:
            How many were cacheable (and stored).

        Raises:
            CacheError: If the write fails (nothing of this call is stored then).
        """
        now = time.time()
        rows = [(k, v.model_dump_json(), now) for k, v in items if cacheable(v)]
        if not rows:
            return 0
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR REPLACE INTO verdicts (key, verdict, created) VALUES (?, ?, ?)", rows
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._error("cannot be written", exc) from exc
        return len(rows)

    def flush(self) -> None:
        """Nothing to do: every write is committed when it is made. Kept for callers."""

    def __bool__(self) -> bool:
        # An empty cache is still a cache: never let `if cache:` mean "has rows".
        return True

    def __len__(self) -> int:
        row = self._conn().execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return int(row[0])

    def clear(self) -> None:
        """Delete every stored verdict."""
        self._conn().execute("DELETE FROM verdicts")

    def close(self) -> None:
        """Close the file. Safe to call more than once."""
        if self._db is None:
            return
        try:
            self._db.close()
        finally:
            self._db = None

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VerdictCache({str(self.path)!r})"
