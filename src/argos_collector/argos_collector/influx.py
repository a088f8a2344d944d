"""Write line protocol to InfluxDB over HTTP: the v1 `/write` API (database, optional user and
password) or the v2 `/api/v2/write` API (org, bucket, token). Both share the line-protocol code;
only v1 is exercised here (Debian's InfluxDB 1.6), the v2 request is built to the documented API
and not verified on this machine.

`write` raises InfluxError with the server's reason; the collector retries and acknowledges the
Redis entries only after a 2xx answer, so a failed or interrupted write is repeated (and, the
points being deterministic, overwrites rather than duplicates).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from argos_common.endpoints import redact_url


class InfluxError(RuntimeError):
    pass


def http_post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip()
        try:
            detail = json.loads(detail).get("error") or json.loads(detail).get("message") or detail
        except (ValueError, AttributeError):
            pass
        raise InfluxError(f"HTTP {exc.code} from {redact_url(url.split('?')[0])}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InfluxError(f"cannot reach {redact_url(url.split('?')[0])}: {getattr(exc, 'reason', exc)}") from None


class InfluxV1Writer:
    def __init__(
        self, url: str, database: str, *, username: str = "", password: str | None = None, timeout_s: float = 10.0
    ):
        self.base = url.rstrip("/")
        self.database = database
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if username:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def describe(self) -> str:
        return f"InfluxDB v1 {redact_url(self.base)} database {self.database}"

    def ensure_database(self) -> None:
        """CREATE DATABASE is idempotent in InfluxDB 1.x; a unit's first start needs no manual step."""
        query = urllib.parse.urlencode({"q": f'CREATE DATABASE "{self.database}"'})
        http_post(f"{self.base}/query?{query}", b"", self._headers, self._timeout_s)

    def write(self, lines: str) -> None:
        query = urllib.parse.urlencode({"db": self.database, "precision": "ns"})
        http_post(f"{self.base}/write?{query}", lines.encode(), self._headers, self._timeout_s)


class InfluxV2Writer:
    """Not verified here: InfluxDB 2.x is not packaged on this machine."""

    def __init__(self, url: str, org: str, bucket: str, token: str, *, timeout_s: float = 10.0):
        self.base = url.rstrip("/")
        self.org, self.bucket = org, bucket
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "text/plain; charset=utf-8", "Authorization": f"Token {token}"}

    def describe(self) -> str:
        return f"InfluxDB v2 {redact_url(self.base)} org {self.org} bucket {self.bucket}"

    def ensure_database(self) -> None:
        pass  # buckets are created by the InfluxDB administrator (with a retention policy)

    def write(self, lines: str) -> None:
        query = urllib.parse.urlencode({"org": self.org, "bucket": self.bucket, "precision": "ns"})
        http_post(f"{self.base}/api/v2/write?{query}", lines.encode(), self._headers, self._timeout_s)
