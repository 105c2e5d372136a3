"""The run store: every training run kept by its complete configuration, in SQLite.

A run's key is a hash of its configuration and of the engine's source (``CODE_VERSION``), so
identical requests share one row: the first ``claim`` runs it, later ones read it (or watch
it run). Rows hold the summary, the curves (loss, gradient norms, the ||dL/dh_t|| snapshots)
and the final weights. The file lives in a data folder (``UNROLLED_DATA``, default
``<repo>/data``); WAL mode and one connection per thread make it safe under the server's
threads and the sweep's worker processes. ``evict`` keeps it under a size cap
(``UNROLLED_STORE_MB``, default 512), least recently used first, and remembers what it
evicted so a link can say so. A run whose process died (a server restart) is taken over
at once on this machine, and on any machine once its heartbeat is stale. Networks
uploaded on the explore pages are kept beside the runs (the most recent ``MAX_NETWORKS``),
so their links outlive a restart too.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CAP_MB = 512  # UNROLLED_STORE_MB overrides
STALE_SECONDS = 300.0  # a running row without a heartbeat this long is taken over
FINISHED = ("done", "diverged")  # a run with a result; "failed" may be retried


def _code_version() -> str:
    """A hash of the engine's source: a run trained by other code is another run."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "engine").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = _code_version()


# who runs a row: machine, pid, and this process's own token (a restarted server may get
# its predecessor's pid, in a container say, but never its token)
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead(owner: str | None) -> bool:
    """Whether the process that claimed a run is gone: one of this machine's, no longer
    alive (a server restarted mid-sweep). Another machine's owner is judged by its
    heartbeat alone."""
    if not owner or owner == OWNER or ":" not in owner:
        return False
    host, pid, *_ = owner.split(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # this pid, another token: the process before a restart
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _wal(db: sqlite3.Connection) -> None:
    """WAL mode (it stays with the file). Switching needs the file to itself, and SQLite
    answers "locked" at once rather than waiting while another connection creates it:
    try again for a few seconds."""
    for _ in range(200):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            time.sleep(0.025)
    raise sqlite3.OperationalError("the run store stayed locked: could not switch it to WAL")


def default_path() -> Path:
    """``$UNROLLED_DATA/runs.sqlite`` (default: the repository's ``data`` folder)."""
    return Path(os.environ.get("UNROLLED_DATA", ROOT / "data")) / "runs.sqlite"


def run_key(config: dict) -> str:
    """The key of a run: its whole configuration and the code version, hashed."""
    text = json.dumps({"config": config, "code": CODE_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def pack_arrays(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def unpack_arrays(data: bytes | None) -> dict[str, np.ndarray]:
    if not data:
        return {}
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclass(frozen=True)
class StoredRun:
    key: str
    config: dict
    status: str  # queued | running | done | diverged | failed
    attempts: int
    step: int | None  # steps run (diverged: the step whose loss was not finite)
    error: str | None
    summary: dict
    curves: dict[str, np.ndarray]
    weights: bytes | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, step INTEGER, error TEXT, summary TEXT,
    curves BLOB, weights BLOB, bytes INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, used REAL NOT NULL, heartbeat REAL, owner TEXT
);
CREATE TABLE IF NOT EXISTS evicted (key TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY, spec TEXT NOT NULL, created REAL NOT NULL, used REAL NOT NULL,
    stopped INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS networks (
    token TEXT PRIMARY KEY, meta TEXT NOT NULL, data BLOB NOT NULL, used REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep TEXT NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (sweep, position)
);
"""


ADDED_COLUMNS = (("runs", "owner", "TEXT"), ("sweeps", "stopped", "INTEGER NOT NULL DEFAULT 0"))


MAX_NETWORKS = 32  # uploaded networks kept (each up to the upload limit, 4 MB)


class RunStore:
    """The SQLite file at ``path`` (``default_path()`` if None), created on first use."""

    def __init__(self, path: str | Path | None = None, cap_bytes: int | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        megabytes = float(os.environ.get("UNROLLED_STORE_MB", DEFAULT_CAP_MB))
        self.cap_bytes = int(cap_bytes if cap_bytes is not None else megabytes * 2**20)
        self._local = threading.local()
        db = self._db()
        db.executescript(SCHEMA)
        for table, column, kind in ADDED_COLUMNS:  # files written before the column was
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    # --- connections -----------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA busy_timeout=30000")
            _wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    class _Tx:
        def __init__(self, db):
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
            return self.db

        def __exit__(self, kind, value, tb):
            self.db.execute("ROLLBACK" if kind else "COMMIT")
            return False

    def _tx(self) -> RunStore._Tx:
        return RunStore._Tx(self._db())

    # --- runs ------------------------------------------------------------------------
    def submit(self, config: dict) -> tuple[str, bool]:
        """Add the run if it is new; return (key, whether this caller should run it now).

        False: it is finished, or another caller is running it (and its heartbeat is
        fresh). Fifty identical submissions at once: one True.
        """
        key = run_key(config)
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO runs (key, config, status, created, used) "
                       "VALUES (?, ?, 'queued', ?, ?)",
                       (key, json.dumps(config, sort_keys=True), now, now))
            db.execute("DELETE FROM evicted WHERE key = ?", (key,))
            owner = self._claim(db, key, now)
        return key, owner

    def claim(self, key: str) -> bool:
        """Take a queued, failed-but-retryable or stale run to run it."""
        with self._tx() as db:
            return self._claim(db, key, time.time())

    def _claim(self, db, key: str, now: float) -> bool:
        row = db.execute("SELECT status, heartbeat, owner FROM runs WHERE key = ?",
                         (key,)).fetchone()
        if row is None:
            return False
        status, beat, owner = row
        if status == "running" and not (beat is None or beat < now - STALE_SECONDS
                                        or _dead(owner)):
            return False
        if status not in ("queued", "running"):
            return False
        db.execute("UPDATE runs SET status = 'running', attempts = attempts + 1, "
                   "heartbeat = ?, owner = ?, error = NULL WHERE key = ?", (now, OWNER, key))
        return True

    def heartbeat(self, key: str, step: int | None = None) -> None:
        """This process still runs ``key`` (nothing, if another took it over)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET heartbeat = ?, step = COALESCE(?, step) "
                       "WHERE key = ? AND status = 'running' AND owner = ?",
                       (time.time(), step, key, OWNER))

    def finish(self, key: str, summary: dict, curves: bytes | None = None,
               weights: bytes | None = None, status: str = "done",
               step: int | None = None) -> None:
        """Store a run's result: ``status`` "done", or "diverged" at ``step``; unless it
        is already finished (another process that took the run over got there first)."""
        if status not in FINISHED:
            raise ValueError(f"status must be one of {FINISHED}, got {status!r}")
        size = len(curves or b"") + len(weights or b"") + 512
        with self._tx() as db:
            db.execute("UPDATE runs SET status = ?, summary = ?, curves = ?, weights = ?, "
                       "bytes = ?, step = ?, used = ?, heartbeat = NULL WHERE key = ? "
                       "AND status NOT IN ('done', 'diverged')",
                       (status, json.dumps(summary), curves, weights, size, step,
                        time.time(), key))
        self.evict()

    def put(self, config: dict, summary: dict, curves: bytes | None = None,
            weights: bytes | None = None, status: str = "done",
            step: int | None = None) -> str:
        """Store a run trained elsewhere (the Training lab's own threads) under its key,
        unless the store already holds it finished; returns the key."""
        if status not in FINISHED:
            raise ValueError(f"status must be one of {FINISHED}, got {status!r}")
        key, now = run_key(config), time.time()
        size = len(curves or b"") + len(weights or b"") + 512
        with self._tx() as db:  # one statement: never a half-written row a sweep could take
            db.execute(
                "INSERT INTO runs (key, config, status, attempts, step, summary, curves, "
                "weights, bytes, created, used) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = excluded.status, step = excluded.step,"
                " summary = excluded.summary, curves = excluded.curves, weights = "
                "excluded.weights, bytes = excluded.bytes, used = excluded.used, heartbeat = "
                "NULL WHERE runs.status NOT IN ('done', 'diverged')",
                (key, json.dumps(config, sort_keys=True), status, step, json.dumps(summary),
                 curves, weights, size, now, now))
            db.execute("DELETE FROM evicted WHERE key = ?", (key,))
        self.evict()
        return key

    def fail(self, key: str, error: str, max_attempts: int = 3) -> bool:
        """Record an error; the run goes back to the queue while it has attempts left.
        Returns whether it may be retried."""
        with self._tx() as db:
            row = db.execute("SELECT attempts FROM runs WHERE key = ?", (key,)).fetchone()
            retry = row is not None and row[0] < max_attempts
            db.execute("UPDATE runs SET status = ?, error = ?, heartbeat = NULL "
                       "WHERE key = ? AND status = 'running' AND owner = ?",
                       ("queued" if retry else "failed", error[:2000], key, OWNER))
        return retry

    def release(self, key: str) -> None:
        """A run stopped before it finished goes back to the queue (attempt not counted)."""
        with self._tx() as db:
            db.execute("UPDATE runs SET status = 'queued', attempts = MAX(attempts - 1, 0), "
                       "heartbeat = NULL WHERE key = ? AND status = 'running' AND owner = ?",
                       (key, OWNER))

    # --- uploaded networks ------------------------------------------------------------
    def put_network(self, token: str, meta: dict, arrays: dict) -> None:
        """Keep an uploaded network (its description and arrays) under ``token``; only the
        ``MAX_NETWORKS`` most recently used are kept."""
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO networks (token, meta, data, used) "
                       "VALUES (?, ?, ?, ?)",
                       (token, json.dumps(meta, sort_keys=True), pack_arrays(**arrays), now))
            db.execute("DELETE FROM networks WHERE token NOT IN (SELECT token FROM networks "
                       "ORDER BY used DESC LIMIT ?)", (MAX_NETWORKS,))

    def get_network(self, token: str) -> tuple[dict, dict] | None:
        """(meta, arrays) of an uploaded network, or None."""
        row = self._db().execute("SELECT meta, data FROM networks WHERE token = ?",
                                 (token,)).fetchone()
        if row is None:
            return None
        with self._tx() as db:
            db.execute("UPDATE networks SET used = ? WHERE token = ?", (time.time(), token))
        return json.loads(row[0]), unpack_arrays(row[1])

    def get(self, key: str, touch: bool = True) -> StoredRun | None:
        db = self._db()
        row = db.execute("SELECT key, config, status, attempts, step, error, summary, curves, "
                         "weights FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        if touch and row[2] in FINISHED:
            with self._tx() as tx:
                tx.execute("UPDATE runs SET used = ? WHERE key = ?", (time.time(), key))
        return StoredRun(key=row[0], config=json.loads(row[1]), status=row[2],
                         attempts=row[3], step=row[4], error=row[5],
                         summary=json.loads(row[6]) if row[6] else {},
                         curves=unpack_arrays(row[7]), weights=row[8])

    def statuses(self, keys) -> dict[str, str]:
        """key -> status for the keys that are stored."""
        return {k: status for k, (status, _) in self.summaries(keys).items()}

    def summaries(self, keys) -> dict[str, tuple[str, dict]]:
        """key -> (status, summary) for the stored keys, without the curves and weights."""
        keys, out, db = list(keys), {}, self._db()
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            for key, status, summary in db.execute(
                    f"SELECT key, status, summary FROM runs WHERE key IN ({marks})", part):
                out[key] = (status, json.loads(summary) if summary else {})
        return out

    def was_evicted(self, key: str) -> bool:
        return self._db().execute("SELECT 1 FROM evicted WHERE key = ?",
                                  (key,)).fetchone() is not None

    def total_bytes(self) -> int:
        return int(self._db().execute("SELECT COALESCE(SUM(bytes), 0) FROM runs").fetchone()[0])

    def evict(self) -> list[str]:
        """Delete finished or failed runs, least recently used first, until the stored
        results fit ``cap_bytes``; running and queued runs stay."""
        gone = []
        with self._tx() as db:
            total = int(db.execute("SELECT COALESCE(SUM(bytes), 0) FROM runs").fetchone()[0])
            if total <= self.cap_bytes:
                return gone
            rows = db.execute("SELECT key, bytes FROM runs WHERE status IN "
                              "('done', 'diverged', 'failed') ORDER BY used").fetchall()
            now = time.time()
            for key, size in rows:
                if total <= self.cap_bytes:
                    break
                db.execute("DELETE FROM runs WHERE key = ?", (key,))
                db.execute("INSERT OR REPLACE INTO evicted (key, at) VALUES (?, ?)", (key, now))
                total -= size
                gone.append(key)
        return gone

    # --- sweeps ----------------------------------------------------------------------
    def add_sweep(self, spec: dict, keys: list[str]) -> str:
        """The sweep ``spec`` whose runs are ``keys`` (in grid order); its id."""
        text = json.dumps(spec, sort_keys=True)
        sweep = hashlib.sha256((text + CODE_VERSION).encode()).hexdigest()[:16]
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO sweeps (id, spec, created, used) "
                       "VALUES (?, ?, ?, ?)", (sweep, text, now, now))
            db.executemany("INSERT OR IGNORE INTO sweep_runs (sweep, position, key) "
                           "VALUES (?, ?, ?)", [(sweep, i, k) for i, k in enumerate(keys)])
        return sweep

    def mark_stopped(self, sweep: str, stopped: bool = True) -> None:
        """Stopped by a user: a visit no longer resumes it by itself."""
        with self._tx() as db:
            db.execute("UPDATE sweeps SET stopped = ? WHERE id = ?", (int(stopped), sweep))

    def stopped(self, sweep: str) -> bool:
        row = self._db().execute("SELECT stopped FROM sweeps WHERE id = ?",
                                 (sweep,)).fetchone()
        return bool(row and row[0])

    def sweep(self, sweep: str) -> tuple[dict, list[str]] | None:
        """A stored sweep's spec and run keys, or None."""
        db = self._db()
        row = db.execute("SELECT spec FROM sweeps WHERE id = ?", (sweep,)).fetchone()
        if row is None:
            return None
        keys = [k for (k,) in db.execute("SELECT key FROM sweep_runs WHERE sweep = ? "
                                         "ORDER BY position", (sweep,))]
        return json.loads(row[0]), keys
