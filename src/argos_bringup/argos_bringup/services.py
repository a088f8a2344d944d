"""Private redis-server, mosquitto and influxd instances for `argos run`, the benchmarks and the tests.

Each runs as a child process on a free loopback port with its data in a temporary directory,
and is stopped (and the directory removed) on close. Nothing here is a fake: these are the
Debian server binaries, the same ones a unit runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from argos_common.endpoints import free_port


class ServiceError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the parent dies, however it dies
    (even SIGKILL), so a private server never outlives the run that started it (Linux only).
    The signal follows the thread that started the server: start servers from a long-lived thread."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def find_binary(name: str) -> str:
    for cand in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise ServiceError(f"{name} not found: install it (apt-get install {name}) or run `make setup`")


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"server on port {port} exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ServiceError(f"nothing listening on {host}:{port} after {timeout:.0f} s")


@dataclass
class _Server:
    name: str
    port: int = 0
    host: str = "127.0.0.1"
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="argos-svc-")))
    proc: subprocess.Popen | None = None
    persistent: bool = False  # data kept in workdir across restarts (a unit's state directory)

    def __post_init__(self):
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, argv: list[str], timeout_s: float = 10.0) -> None:
        self.port = self.port or free_port()
        log = open(self.workdir / f"{self.name}.log", "wb")
        self.proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        try:
            wait_for_port(self.host, self.port, timeout_s, self.proc)
        except ServiceError as exc:
            text = (self.workdir / f"{self.name}.log").read_text(errors="replace")[-2000:]
            self.close()
            raise ServiceError(f"{self.name} failed to start: {exc}\n{text}") from None

    def stop(self) -> None:
        """Stop the process but keep its data (for restart tests)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        if not self.persistent:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


@dataclass
class RedisServer(_Server):
    name: str = "redis"
    password: str | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def start(self) -> RedisServer:
        argv = [
            find_binary("redis-server"),
            "--port",
            str(self.port or free_port()),
            "--bind",
            self.host,
            "--dir",
            str(self.workdir),
            "--save",
            "",
            # persistent: every write appended to disk (fsync once a second), replayed on start
            "--appendonly",
            "yes" if self.persistent else "no",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "yes",
        ]
        self.port = int(argv[2])
        if self.password:
            argv += ["--requirepass", self.password]
        self._spawn(argv)
        return self


@dataclass
class MosquittoServer(_Server):
    name: str = "mosquitto"
    extra_config: str = ""

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> MosquittoServer:
        self.port = self.port or free_port()
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            + ("allow_anonymous true\n" if "allow_anonymous" not in self.extra_config else "")
            + (
                f"persistence true\npersistence_location {self.workdir}/\n"
                # started as root, mosquitto drops to its own user, which cannot save the sessions
                # in our folder (it only logs "Permission denied" at exit): this process's user
                + ("user root\n" if os.geteuid() == 0 else "")
                if self.persistent
                else "persistence false\n"
            )
            + self.extra_config
        )
        self._spawn([find_binary("mosquitto"), "-c", str(conf)])
        return self


@dataclass
class InfluxServer(_Server):
    """Debian's InfluxDB 1.x (`influxd`, v1 HTTP API and InfluxQL), usage reporting off."""

    name: str = "influxd"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> InfluxServer:
        self.port = self.port or free_port()
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "{self.host}:{free_port()}"\n'
            f'[meta]\n  dir = "{self.workdir}/meta"\n'
            f'[data]\n  dir = "{self.workdir}/data"\n  wal-dir = "{self.workdir}/wal"\n'
            "  query-log-enabled = false\n"
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "{self.host}:{self.port}"\n  log-enabled = false\n'
        )
        self._spawn([find_binary("influxd"), "-config", str(conf)], timeout_s=30.0)
        return self

    def query(self, db: str, q: str) -> list[dict]:
        """Rows of every series of an InfluxQL query, as dicts with their tags (empty when none)."""
        import json
        import urllib.parse
        import urllib.request

        params = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
        with urllib.request.urlopen(f"{self.url}/query?{params}", timeout=30) as response:
            body = json.loads(response.read())
        rows = []
        for result in body.get("results", []):
            if "error" in result:
                raise ServiceError(result["error"])
            for series in result.get("series", []):
                for values in series["values"]:
                    row = dict(zip(series["columns"], values))
                    row.update(series.get("tags", {}))
                    rows.append(row)
        return rows


@contextlib.contextmanager
def small_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    """A real filesystem of `size` (tmpfs) mounted at `path`, so a spool on it really fills up;
    unmounted on exit. Mounting needs root: ServiceError otherwise."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        raise ServiceError("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        raise ServiceError(f"mount tmpfs at {path}: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)
