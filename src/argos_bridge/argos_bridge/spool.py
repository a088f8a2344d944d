"""A bounded, ordered, on-disk queue of MQTT messages that could not be handed to a live broker.

One SQLite file (standard library, WAL journal) per bridge: rows are (seq, topic, payload, qos),
`seq` increasing, so the order of arrival is the order of replay. A row stays until the broker
acknowledged it (`remove`), so a process killed at any moment finds its unsent messages on the
next start; rows sent but not yet acknowledged are sent again then (at-least-once).

Bounds: `max_messages` rows and `max_bytes` of payload. Appending beyond either drops the
oldest rows first (counted in `dropped`): after a very long outage the newest data is the most
useful, and the bound keeps a unit's disk from filling up.

A full disk refuses deletes too (SQLite must write its journal to delete). Rows the broker
acknowledged then are remembered in memory as done (`unremoved`), left out of `len` and `peek`,
and deleted by a later `purge` once the disk has room; a process that stops before that sends
them again on its next start (at-least-once, as for a lost acknowledgement).

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
        self._done: dict[int, int] = {}  # seq -> payload bytes: acknowledged, its delete refused

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def unremoved(self) -> int:
        """Acknowledged rows still in the file because the disk refused their delete."""
        return len(self._done)

    def append(self, topic: str, payload: bytes | str, qos: int) -> int:
        """Store one message at the end; returns its seq. Drops the oldest rows first when full."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        if self._done:
            self.purge()
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
        """The oldest `limit` rows with seq > after_seq, in order (acknowledged ones left out)."""
        rows = self._db.execute(
            "SELECT seq, topic, payload, qos FROM spool WHERE seq > ? ORDER BY seq LIMIT ?",
            (int(after_seq), int(limit) + len(self._done)),
        ).fetchall()
        kept = [SpooledMessage(int(s), t, bytes(p), int(q)) for s, t, p, q in rows if s not in self._done]
        return kept[:limit]

    def remove(self, seqs) -> int:
        """Mark the given rows acknowledged and delete them; returns how many were waiting.
        Unknown seqs are ignored. A delete the disk refuses is retried by `purge`."""
        fresh = [s for s in dict.fromkeys(int(s) for s in seqs) if s not in self._done]
        if not fresh:
            return 0
        removed = size = 0
        # chunks stay below SQLite's bound-parameter limit
        for start in range(0, len(fresh), 500):
            chunk = fresh[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for seq, length in self._db.execute(
                f"SELECT seq, LENGTH(payload) FROM spool WHERE seq IN ({marks})", chunk
            ).fetchall():
                self._done[int(seq)] = int(length)
                removed += 1
                size += int(length)
        self._count -= removed
        self._bytes -= size
        self.removed += removed
        self.purge()
        return removed

    def purge(self) -> bool:
        """Delete the acknowledged rows still in the file; False while the disk refuses."""
        if not self._done:
            return True
        seqs = list(self._done)
        try:
            for start in range(0, len(seqs), 500):
                chunk = seqs[start : start + 500]
                self._db.execute(f"DELETE FROM spool WHERE seq IN ({','.join('?' * len(chunk))})", chunk)
                for seq in chunk:
                    del self._done[seq]
        except sqlite3.OperationalError:  # "database or disk is full", a read-only remount
            return False
        return True

    def _make_room(self, incoming: int) -> None:
        while self._count and (self._count + 1 > self.max_messages or self._bytes + incoming > self.max_bytes):
            over_count = max(0, self._count + 1 - self.max_messages)
            batch = max(1, min(over_count, 1000)) if over_count else 1
            rows = self._db.execute(
                "SELECT seq, LENGTH(payload) FROM spool ORDER BY seq LIMIT ?", (batch + len(self._done),)
            ).fetchall()
            waiting = [(int(seq), int(length)) for seq, length in rows if seq not in self._done][:batch]
            self._db.execute("DELETE FROM spool WHERE seq <= ?", (waiting[-1][0],))
            for seq in [s for s in self._done if s <= waiting[-1][0]]:
                del self._done[seq]
            self._count -= len(waiting)
            self._bytes -= sum(length for _, length in waiting)
            self.dropped += len(waiting)

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
