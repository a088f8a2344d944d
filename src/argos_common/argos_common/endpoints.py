"""Where the edge's data goes, and how its addresses and secrets are handled (no I/O libraries).

Shared by both ends of the Redis stream (the bridge on the unit, the collector beyond it) and by
`argos run`: the default server URLs, URL checks that name the offending key, password redaction
for anything that prints a URL, secret files, and the stream key both ends agree on.

Passwords are not parameters: a ROS parameter can be read back by anyone on the graph
(`ros2 param get`) and a parameter file tends to be copied around. A parameter names a file
(mode 0600, owned by the service user) whose first line is the secret.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .params import ConfigError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def stream_key(site: str, device: str, camera: str) -> str:
    """The Redis stream of one camera: what the bridge appends to and the collector reads."""
    return f"argos:{site}:{device}:{camera}"


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


def check_redis_url(url: str, key: str = "redis_url") -> str:
    """`url` (empty: the local default) if it names a Redis server; ConfigError naming `key` otherwise."""
    url = url or DEFAULT_REDIS_URL
    if not url.startswith(REDIS_SCHEMES):
        raise ConfigError(key, f"{redact_url(url)!r} is not a redis://host:port/db URL")
    return url


def parse_mqtt_url(url: str, key: str = "mqtt_url") -> tuple[str, int]:
    """`mqtt://host:port` (1883) or `mqtts://host:port` (8883); empty url: the local default."""
    url = url or DEFAULT_MQTT_URL
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl") or not parts.hostname:
        raise ConfigError(key, f"{url!r} is not an mqtt://host:port or mqtts://host:port URL")
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise ConfigError(
            key,
            f"{url!r}: only mqtt[s]://host:port is supported (no path, query or credentials: "
            f"use mqtt_username and mqtt_password_file)",
        )
    try:
        port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
    except ValueError as exc:
        raise ConfigError(key, f"{url!r}: {exc}") from None
    return parts.hostname, port


def url_scheme(url: str) -> str:
    """ "mqtts" for a TLS broker URL, else "mqtt"."""
    scheme = urlsplit(url or DEFAULT_MQTT_URL).scheme
    return "mqtts" if scheme in ("mqtts", "ssl") else "mqtt"


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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for private servers and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
