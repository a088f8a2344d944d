"""Append bridge payloads to the camera's Redis Stream, never raising into the caller.

Stream layout: one stream per camera, key `argos:<site>:<device>:<camera>`, trimmed with
`XADD MAXLEN ~ stream_maxlen` (approximate: Redis trims whole radix-tree nodes, so the length
can exceed stream_maxlen by up to one node, 100 entries by default). Entry fields:

    type      "tracks" | "count" | "totals"
    payload   the JSON document (see argos_bridge.schema)
    stamp_ns  the payload's stamp_ns as a decimal string (lets a reader filter without parsing)

When Redis is unreachable a write fails fast: it is counted (`failed`), the entry is lost (the
on-disk spool comes later) and further writes are skipped until a backoff delay (0.25 s doubling
up to `retry_max_s`) has passed; the next write after that reconnects.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from argos_common.params import ConfigError

from .params import DEFAULT_REDIS_URL

ENTRY_TYPES = ("tracks", "count", "totals")
_INITIAL_BACKOFF_S = 0.25


def stream_key(site: str, device: str, camera: str) -> str:
    return f"argos:{site}:{device}:{camera}"


def connect_redis(url: str, *, timeout_s: float = 1.0, key: str = "redis_url") -> redis.Redis:
    """A client for `url` (empty: the default local server) that fails within `timeout_s`
    instead of redis-py's default retries; a malformed URL raises ConfigError naming `key`."""
    url = url or DEFAULT_REDIS_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(key, f"{url!r} is not a redis://host:port/db URL")
    try:
        return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                    retry=Retry(NoBackoff(), 0))
    except ValueError as exc:
        raise ConfigError(key, f"{url!r}: {exc}") from None


class RedisSink:
    def __init__(self, url: str, key: str, maxlen: int, *, timeout_s: float = 1.0, retry_max_s: float = 5.0,
                 logger=None, monotonic: Callable[[], float] = time.monotonic):
        self.url = url or DEFAULT_REDIS_URL
        self.key = key
        self.maxlen = int(maxlen)
        self._client = connect_redis(url, timeout_s=timeout_s)
        self._retry_max_s = retry_max_s
        self._log = logger or logging.getLogger(__name__)
        self._monotonic = monotonic
        self._backoff_s = 0.0
        self._next_attempt = 0.0
        self._outage_failures = 0
        self.written = 0
        self.failed = 0

    @property
    def connected(self) -> bool:
        """True unless the last write failed."""
        return self._outage_failures == 0

    def write(self, entry_type: str, payload_json: str, stamp_ns: int) -> bool:
        """XADD one entry; True when Redis stored it. Never raises for server/network problems."""
        if entry_type not in ENTRY_TYPES:
            raise ValueError(f"entry type must be one of {ENTRY_TYPES}, got {entry_type!r}")
        if self._outage_failures and self._monotonic() < self._next_attempt:
            self._fail()
            return False
        try:
            self._client.xadd(self.key, {"type": entry_type, "payload": payload_json, "stamp_ns": str(int(stamp_ns))},
                              maxlen=self.maxlen, approximate=True)
        except redis.RedisError as exc:
            self._on_error(exc)
            return False
        if self._outage_failures:
            self._log.info(f"redis: writing to {self.url} again (stream {self.key}); "
                           f"{self._outage_failures} entries were lost during the outage")
        self._outage_failures = 0
        self._backoff_s = 0.0
        self.written += 1
        return True

    def _fail(self) -> None:
        self.failed += 1
        self._outage_failures += 1

    def _on_error(self, exc: Exception) -> None:
        if not self._outage_failures:
            self._log.warning(f"redis: cannot write to {self.url} (stream {self.key}): {exc}; "
                              f"entries are dropped and counted until it is back, retrying in the background")
        self._fail()
        self._backoff_s = min(self._retry_max_s, max(_INITIAL_BACKOFF_S, self._backoff_s * 2))
        self._next_attempt = self._monotonic() + self._backoff_s
        # a half-dead socket must not be reused by the next attempt
        self._client.connection_pool.disconnect()

    def close(self) -> None:
        try:
            self._client.close()
        except redis.RedisError:
            pass
