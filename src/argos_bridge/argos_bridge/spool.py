"""A bounded, ordered, on-disk queue of MQTT messages that could not be handed to a live broker.

One SQLite file (standard library, WAL journal) per bridge: rows are (seq, topic, payload, qos),
`seq` increasing, so the order of arrival is the order of replay. A row stays until the broker
acknowledged it (`remove`), so a process killed at any moment finds its unsent messages on the
next start; rows sent but not yet acknowledged are sent again then (at-least-once).

Bounds: `max_messages` rows and `max_bytes` of payload. Appending beyond either drops the
oldest rows first (counted in `dropped`): after a very long outage the newest data is the most
useful, and the bound keeps a unit's disk from filling up.

With `path=None` the same queue lives in memory (bounded the same way, lost on restart).
Used from one thread only (the bridge writer); not locked.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL,
    qos     INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class SpooledMessage:
    seq: int
    topic: str
    payload: bytes
    qos: int


class Spool:
    def __init__(self, path: str | os.PathLike | None, *, max_messages: int, max_bytes: int):
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("spool bounds must be positive")
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit: every append is its own transaction, durable once the call returns
        self._db = sqlite3.connect(
            str(self.path) if self.path else ":memory:", isolation_level=None, check_same_thread=False
        )
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed row survives a process crash (not a power cut mid-commit)
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.max_messages = int(max_messages)
        self.max_bytes = int(max_bytes)
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM spool").fetchone()
        self._count = int(count)
        self._bytes = int(size)
        self.recovered = self._count  # rows found on open (left by an earlier run)
        self.appended = 0
        self.removed = 0
        self.dropped = 0

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def append(self, topic: str, payload: bytes | str, qos: int) -> int:
        """Store one message at the end; returns its seq. Drops the oldest rows first when full."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        if len(data) > self.max_bytes:
            raise ValueError(f"message of {len(data)} bytes exceeds the whole spool ({self.max_bytes} bytes)")
        self._make_room(len(data))
        seq = self._db.execute(
            "INSERT INTO spool (topic, payload, qos) VALUES (?, ?, ?)", (topic, data, int(qos))
        ).lastrowid
        assert seq is not None  # set by a successful INSERT
        self._count += 1
        self._bytes += len(data)
        self.appended += 1
        return int(seq)

    def peek(self, after_seq: int = 0, limit: int = 100) -> list[SpooledMessage]:
        """The oldest `limit` rows with seq > after_seq, in order."""
        rows = self._db.execute(
            "SELECT seq, topic, payload, qos FROM spool WHERE seq > ? ORDER BY seq LIMIT ?",
            (int(after_seq), int(limit)),
        ).fetchall()
        return [SpooledMessage(int(s), t, bytes(p), int(q)) for s, t, p, q in rows]

    def remove(self, seqs) -> int:
        """Delete the given rows (acknowledged by the broker); unknown seqs are ignored."""
        seqs = [int(s) for s in seqs]
        if not seqs:
            return 0
        removed = size = 0
        # chunks stay below SQLite's bound-parameter limit
        for start in range(0, len(seqs), 500):
            chunk = seqs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            n, b = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM spool WHERE seq IN ({marks})", chunk
            ).fetchone()
            self._db.execute(f"DELETE FROM spool WHERE seq IN ({marks})", chunk)
            removed += int(n)
            size += int(b)
        self._count -= removed
        self._bytes -= size
        self.removed += removed
        return removed

    def _make_room(self, incoming: int) -> None:
        while self._count and (self._count + 1 > self.max_messages or self._bytes + incoming > self.max_bytes):
            over_count = max(0, self._count + 1 - self.max_messages)
            batch = max(1, min(over_count, 1000)) if over_count else 1
            rows = self._db.execute("SELECT seq, LENGTH(payload) FROM spool ORDER BY seq LIMIT ?", (batch,)).fetchall()
            self._db.execute("DELETE FROM spool WHERE seq <= ?", (rows[-1][0],))
            self._count -= len(rows)
            self._bytes -= sum(int(r[1]) for r in rows)
            self.dropped += len(rows)

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
