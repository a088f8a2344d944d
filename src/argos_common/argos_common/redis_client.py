"""The Redis client policy both ends of a camera's stream share (the bridge writing on the unit,
the collector reading beyond it): fail fast instead of redis-py's retries, so a dead server
costs one timeout and the caller's own backoff decides when to try again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .endpoints import check_redis_url, redact_url
from .params import ConfigError


def connect_redis(
    url: str, *, timeout_s: float = 1.0, key: str = "redis_url", username: str = "", password: str | None = None
) -> redis.Redis:
    """A client for `url` (empty: the default local server) that fails within `timeout_s`
    instead of redis-py's default retries; a malformed URL raises ConfigError naming `key`.
    `username`/`password` (an ACL user, or only a password for `requirepass`) override the URL's."""
    url = check_redis_url(url, key)
    auth = {}
    if password is not None:
        auth["password"] = password
    if username:
        auth["username"] = username
    try:
        return redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0), **auth
        )
    except ValueError as exc:
        raise ConfigError(key, f"{redact_url(url)!r}: {exc}") from None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def read_entries(
    client: redis.Redis, key: str, since_ns: int, types: tuple[str, ...], batch: int = 2000
) -> Iterator[tuple[str, str]]:
    """(type, payload JSON) of the stream's entries of `types` whose ids (the server's clock) are
    `since_ns` or later, oldest first, read in batches of `batch`; redis.RedisError when the
    server cannot be read. The bridge resumes its bins with it, `argos export bins` reads them."""
    wanted = set(types)
    start = f"{max(0, int(since_ns) // 1_000_000)}-0"
    while True:
        entries: list[Any] = client.xrange(key, min=start, max="+", count=batch) or []
        for _entry_id, fields in entries:
            get = fields.get
            kind = _text(get(b"type", get("type")))
            if kind in wanted:
                yield kind, _text(get(b"payload", get("payload")))
        if len(entries) < batch:
            return
        ms, seq = _text(entries[-1][0]).split("-")
        start = f"{ms}-{int(seq) + 1}"
