"""A private InfluxDB 1.x server (Debian's `influxd`) for the collector's tests and benchmarks:
free loopback ports, data in a temporary directory, usage reporting off, removed on close."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from argos_bringup.services import ServiceError, find_binary, wait_for_port
from argos_common.endpoints import free_port


class InfluxServer:
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = 0
        self.workdir = Path(tempfile.mkdtemp(prefix="argos-influx-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> InfluxServer:
        self.port = free_port()
        rpc_port = free_port()
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "{self.host}:{rpc_port}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n'
            '  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "{self.host}:{self.port}"\n  log-enabled = false\n'
        )
        log = open(self.workdir / "influxd.log", "wb")
        self.proc = subprocess.Popen(
            [find_binary("influxd"), "-config", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        try:
            wait_for_port(self.host, self.port, 20.0, self.proc)
        except ServiceError as exc:
            text = (self.workdir / "influxd.log").read_text(errors="replace")[-2000:]
            self.close()
            raise ServiceError(f"influxd failed to start: {exc}\n{text}") from None
        return self

    def query(self, db: str, q: str) -> list[dict]:
        """Rows of the first series of an InfluxQL query, as dicts (empty when none)."""
        params = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=10) as response:
            body = json.loads(response.read())
        rows = []
        for result in body.get("results", []):
            if "error" in result:
                raise RuntimeError(result["error"])
            for series in result.get("series", []):
                for values in series["values"]:
                    row = dict(zip(series["columns"], values))
                    row.update(series.get("tags", {}))
                    rows.append(row)
        return rows

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> InfluxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
