"""Credentials for Redis and MQTT: read from files, never logged.

Passwords are not parameters: a ROS parameter can be read back by anyone on the graph
(`ros2 param get`) and a parameter file tends to be copied around. The parameter names a file
(mode 0600, owned by the service user) whose first line is the secret. Everything that prints a
URL goes through `redact_url` so a password written into a URL never reaches a log either.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from argos_common.params import ConfigError


def read_secret_file(path: str, key: str) -> str | None:
    """The first line of `path` without its line break; None for an empty path. Raises ConfigError
    naming `key` (never the content) when the file is missing, unreadable or empty."""
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(key, f"cannot read the secret file {path!r}: {exc.strerror or exc}") from None
    secret = text.splitlines()[0] if text else ""
    if not secret:
        raise ConfigError(key, f"the secret file {path!r} is empty")
    return secret


def redact_url(url: str) -> str:
    """`scheme://user:***@host:port/...`: the password (if any) replaced, the rest kept for diagnosis."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
