"""Append bridge payloads to the camera's Redis Stream, never raising into the caller.

Stream layout: one stream per camera, key `argos:<site>:<device>:<camera>`, trimmed with
`XADD MAXLEN ~ stream_maxlen` (approximate: Redis trims whole radix-tree nodes, so the length
can exceed stream_maxlen by up to one node, 100 entries by default). Entry fields:

    type      "tracks" | "count" | "totals" | "movement" | "bin"
    payload   the JSON document (see argos_bridge.schema)
    stamp_ns  the payload's stamp_ns as a decimal string (lets a reader filter without parsing)

When Redis is unreachable a write fails fast (`timeout_s`), is counted (`failed`) and the entry
goes to a bounded in-memory buffer (`buffer_size` entries; when full the oldest is dropped and
counted in `dropped`). While the buffer holds entries, new ones queue behind them so the stream
keeps the order of arrival; `flush()` (called by the bridge writer) retries after a backoff delay
(0.25 s doubling up to `retry_max_s`) and writes the buffer in pipelined batches. The buffer is
in memory on purpose: Redis runs on the unit itself, so an outage is a restart of the local
server (seconds), not a network partition, and the MQTT side already has the disk spool.
What is lost: the oldest entries beyond `buffer_size`, and the whole buffer if the bridge process
ends while Redis is still down.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from argos_common.endpoints import DEFAULT_REDIS_URL, redact_url
from argos_common.redis_client import connect_redis, read_entries

ENTRY_TYPES = ("tracks", "count", "totals", "movement", "bin")
_INITIAL_BACKOFF_S = 0.25
_FLUSH_BATCH = 200


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class RedisSink:
    def __init__(
        self,
        url: str,
        key: str,
        maxlen: int,
        *,
        timeout_s: float = 1.0,
        retry_max_s: float = 5.0,
        buffer_size: int = 10_000,
        username: str = "",
        password: str | None = None,
        logger=None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.url = redact_url(url or DEFAULT_REDIS_URL)  # only ever printed
        self.key = key
        self.maxlen = int(maxlen)
        self._client = connect_redis(url, timeout_s=timeout_s, username=username, password=password)
        self._buffer: deque[dict] = deque()
        self._buffer_size = int(buffer_size)
        self._retry_max_s = retry_max_s
        self._log = logger or logging.getLogger(__name__)
        self._monotonic = monotonic
        self._backoff_s = 0.0
        self._next_attempt = 0.0
        self._outage_failures = 0
        self.written = 0  # entries stored by Redis (directly or from the buffer)
        self.failed = 0  # write attempts that failed (each time an entry could not be stored)
        self.buffered = 0  # entries that went to the buffer
        self.flushed = 0  # buffered entries stored later
        self.dropped = 0  # buffered entries given up (buffer full)
        self.lost_at_shutdown = 0  # still buffered when the sink closed

    @property
    def connected(self) -> bool:
        """True unless the last write failed."""
        return self._outage_failures == 0

    @property
    def buffer_depth(self) -> int:
        return len(self._buffer)

    def write(self, entry_type: str, payload_json: str, stamp_ns: int) -> bool:
        """XADD one entry, or buffer it; True when Redis stored it now. Never raises for
        server/network problems."""
        if entry_type not in ENTRY_TYPES:
            raise ValueError(f"entry type must be one of {ENTRY_TYPES}, got {entry_type!r}")
        fields: dict[FieldT, EncodableT] = {"type": entry_type, "payload": payload_json, "stamp_ns": str(int(stamp_ns))}
        if self._buffer or (self._outage_failures and self._monotonic() < self._next_attempt):
            self._buffer_entry(fields)
            self.flush()
            return False
        try:
            self._client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)
        except redis.RedisError as exc:
            self._on_error(exc)
            self._buffer_entry(fields)
            return False
        self._on_success()
        self.written += 1
        return True

    def flush(self) -> int:
        """Write buffered entries (oldest first) if the backoff delay has passed; returns those left."""
        while self._buffer:
            if self._outage_failures and self._monotonic() < self._next_attempt:
                break
            batch = [self._buffer[i] for i in range(min(_FLUSH_BATCH, len(self._buffer)))]
            pipe = self._client.pipeline(transaction=False)
            for fields in batch:
                pipe.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)
            try:
                pipe.execute()
            except redis.RedisError as exc:
                # a pipeline is not atomic: entries before the failure may be stored (duplicates
                # on retry are the documented at-least-once behaviour)
                self._on_error(exc)
                break
            for _ in batch:
                self._buffer.popleft()
            self.flushed += len(batch)
            self.written += len(batch)
            self._on_success()
        return len(self._buffer)

    def _buffer_entry(self, fields: dict) -> None:
        if len(self._buffer) >= self._buffer_size:
            self._buffer.popleft()
            self.dropped += 1
        self._buffer.append(fields)
        self.buffered += 1

    def _on_success(self) -> None:
        if self._outage_failures:
            self._log.info(
                f"redis: writing to {self.url} again (stream {self.key}); {len(self._buffer)} buffered "
                f"entries to flush, {self.dropped} dropped so far (buffer full)"
            )
        self._outage_failures = 0
        self._backoff_s = 0.0

    def _on_error(self, exc: Exception) -> None:
        if not self._outage_failures:
            self._log.warning(
                f"redis: cannot write to {self.url} (stream {self.key}): {exc}; entries are buffered "
                f"in memory (up to {self._buffer_size}, then the oldest are dropped and counted), "
                f"retrying in the background"
            )
        self.failed += 1
        self._outage_failures += 1
        self._backoff_s = min(self._retry_max_s, max(_INITIAL_BACKOFF_S, self._backoff_s * 2))
        self._next_attempt = self._monotonic() + self._backoff_s
        # a half-dead socket must not be reused by the next attempt
        self._client.connection_pool.disconnect()

    def counters(self) -> dict[str, int]:
        return {
            "written": self.written,
            "failed": self.failed,
            "buffered": self.buffered,
            "flushed": self.flushed,
            "dropped": self.dropped,
            "buffer_depth": len(self._buffer),
            "lost_at_shutdown": self.lost_at_shutdown,
        }

    def read_back(self, since_ns: int, types: tuple[str, ...], batch: int = 2000) -> list[tuple[str, str]]:
        """(type, payload JSON) of the stream's entries of `types` written since `since_ns` (by
        their stream ids, the server's clock), oldest first: what a previous run left, to resume
        from. Raises redis.RedisError when the server cannot be read."""
        return list(read_entries(self._client, self.key, since_ns, types, batch))

    def close(self) -> None:
        if self._buffer:
            # the buffer is in memory (module doc): what Redis never took ends with the process
            self.lost_at_shutdown += len(self._buffer)
            self._log.warning(
                f"redis: {len(self._buffer)} buffered entries never reached {self.url} (stream {self.key}) "
                "and are lost at shutdown"
            )
            self._buffer.clear()
        try:
            self._client.close()
        except redis.RedisError:
            pass
