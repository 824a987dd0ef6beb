"""Persistent sessions, takes and uploaded context: SQLite (WAL) plus audio files under the data directory.

Audio files are written atomically first (see :mod:`bridge.audio_io`), then the row that names them is
committed, so a crash at any point (``kill -9`` included) leaves either nothing or a complete record.
Paths are stored relative to the data directory and every path read back is checked to stay inside it.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jen_core.errors import JenError

_ID = re.compile(r"^[jstc]_[0-9a-f]{16}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, prompt TEXT NOT NULL, stems TEXT NOT NULL,
    timeline TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS takes (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), stem TEXT NOT NULL,
    job_id TEXT NOT NULL, path TEXT NOT NULL, model_path TEXT NOT NULL, sha256 TEXT NOT NULL,
    frames INTEGER NOT NULL, start_sample INTEGER NOT NULL, seed INTEGER NOT NULL, prompt TEXT NOT NULL,
    created REAL NOT NULL, start_bar INTEGER, end_bar INTEGER
);
CREATE INDEX IF NOT EXISTS takes_by_session ON takes(session_id, stem, created);
CREATE TABLE IF NOT EXISTS selected (
    session_id TEXT NOT NULL REFERENCES sessions(id), stem TEXT NOT NULL, take_id TEXT NOT NULL REFERENCES takes(id),
    PRIMARY KEY (session_id, stem)
);
CREATE TABLE IF NOT EXISTS contexts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL, sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL, frames INTEGER NOT NULL, start_sample INTEGER NOT NULL, sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def new_id(kind: str) -> str:
    """A fresh id: ``kind`` is one of ``j`` (job), ``s`` (session), ``t`` (take), ``c`` (context)."""
    return f"{kind}_{secrets.token_hex(8)}"


def valid_id(value: str, kind: str) -> bool:
    return bool(_ID.match(value)) and value[0] == kind


@dataclass(frozen=True)
class SessionRow:
    id: str
    name: str
    prompt: str
    stems: tuple[str, ...]
    timeline: dict  # TimelineSpec.to_dict()
    created: float


@dataclass(frozen=True)
class TakeRow:
    id: str
    session_id: str
    stem: str
    job_id: str
    path: str  # relative to the data dir: host-rate audio aligned to the region
    model_path: str  # relative: model-rate audio as generated (conditioning for later takes)
    sha256: str
    frames: int
    start_sample: int
    seed: int
    prompt: str
    created: float
    start_bar: int | None = None
    end_bar: int | None = None


@dataclass(frozen=True)
class ContextRow:
    id: str
    name: str
    path: str  # relative to the data dir
    sample_rate: int
    channels: int
    frames: int
    start_sample: int
    sha256: str
    created: float


class Store:
    """Thread-safe access to ``<data_dir>/jen.sqlite3``; audio lives in ``<data_dir>/sessions`` and ``/contexts``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.data_dir / "jen.sqlite3", check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise JenError(f"cannot open the data directory {self.data_dir}: {exc}") from exc
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ paths

    def take_paths(self, session_id: str, take_id: str) -> tuple[Path, Path]:
        """(host-rate WAV, model-rate WAV) absolute paths for a new take."""
        folder = self.data_dir / "sessions" / session_id
        return folder / f"{take_id}.wav", folder / f"{take_id}.model.wav"

    def context_path(self, context_id: str) -> Path:
        return self.data_dir / "contexts" / f"{context_id}.wav"

    def relative(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.data_dir))

    def resolve(self, relative: str) -> Path:
        """Absolute path of a stored relative path; JenError if it would leave the data directory."""
        return inside_data_dir(self.data_dir, relative)

    # ------------------------------------------------------------------ sessions

    def create_session(self, *, session_id: str, name: str, prompt: str, stems: tuple[str, ...], timeline: dict) -> SessionRow:
        row = SessionRow(session_id, name, prompt, tuple(stems), timeline, time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                (row.id, row.name, row.prompt, json.dumps(list(row.stems)), json.dumps(row.timeline), row.created),
            )
        return row

    def get_session(self, session_id: str) -> SessionRow | None:
        with self._lock:
            r = self._db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if r is None:
            return None
        return SessionRow(r[0], r[1], r[2], tuple(json.loads(r[3])), json.loads(r[4]), r[5])

    def list_sessions(self) -> list[SessionRow]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM sessions ORDER BY created")]
        return [s for s in (self.get_session(i) for i in ids) if s is not None]

    # ------------------------------------------------------------------ takes

    def add_takes(self, takes: list[TakeRow], *, select: bool = True) -> None:
        """Record finished takes (their files already written) and make them the selection for their stems."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for t in takes:
                    self._db.execute(
                        "INSERT INTO takes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (t.id, t.session_id, t.stem, t.job_id, t.path, t.model_path, t.sha256, t.frames,
                         t.start_sample, t.seed, t.prompt, t.created, t.start_bar, t.end_bar),
                    )
                    if select:
                        self._db.execute(
                            "INSERT OR REPLACE INTO selected VALUES (?, ?, ?)", (t.session_id, t.stem, t.id)
                        )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get_take(self, take_id: str) -> TakeRow | None:
        with self._lock:
            r = self._db.execute("SELECT * FROM takes WHERE id = ?", (take_id,)).fetchone()
        return None if r is None else TakeRow(*r)

    def list_takes(self, session_id: str, stem: str | None = None) -> list[TakeRow]:
        query, args = "SELECT * FROM takes WHERE session_id = ?", [session_id]
        if stem:
            query, args = query + " AND stem = ?", [*args, stem]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created, id", args).fetchall()
        return [TakeRow(*r) for r in rows]

    def selection(self, session_id: str) -> dict[str, str]:
        """stem -> selected take id."""
        with self._lock:
            rows = self._db.execute("SELECT stem, take_id FROM selected WHERE session_id = ?", (session_id,))
            return {stem: take for stem, take in rows}

    def select(self, session_id: str, takes: list[TakeRow]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for t in takes:
                    self._db.execute("INSERT OR REPLACE INTO selected VALUES (?, ?, ?)", (session_id, t.stem, t.id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ uploaded context

    def add_context(self, row: ContextRow) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO contexts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.id, row.name, row.path, row.sample_rate, row.channels, row.frames, row.start_sample,
                 row.sha256, row.created),
            )

    def get_context(self, context_id: str) -> ContextRow | None:
        with self._lock:
            r = self._db.execute("SELECT * FROM contexts WHERE id = ?", (context_id,)).fetchone()
        return None if r is None else ContextRow(*r)


def inside_data_dir(data_dir: Path, path: str | Path) -> Path:
    """Resolve ``path`` (relative to ``data_dir`` or absolute) and refuse anything outside ``data_dir``.

    Symlinks are resolved first, so a link pointing out of the data directory is refused too.
    """
    root = Path(data_dir).resolve()
    text = str(path)
    if not text or "\x00" in text:
        raise JenError("file path is empty or contains a NUL byte")
    candidate = Path(text)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if resolved != root and root not in resolved.parents:
        raise JenError(f"path {text!r} is outside the data directory {root}: use a file inside it")
    return resolved
