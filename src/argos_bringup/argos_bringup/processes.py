"""Start the graph's processes the way launch_ros starts them, without launch_ros: the installed
executables (`lib/<package>/<executable>` on AMENT_PREFIX_PATH) with `--ros-args`, node name and
namespace remaps, the parameter files and, for separate processes, the Fast DDS settings the
package ships. `argos bench graph` and the process-model tests use it; `edge.launch.py` builds the
same command lines through launch_ros (`composition:=true|false`)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

COMPOSED, SEPARATE = "composed", "separate"
MODELS = (COMPOSED, SEPARATE)
CONTAINER = ("argos_bringup", "edge_container")
NODES = (  # package, executable, node name: the launch file's list
    ("argos_camera", "camera_node", "camera"),
    ("argos_inference", "inference_node", "inference"),
    ("argos_tracker", "tracker_node", "tracker"),
    ("argos_bridge", "bridge_node", "bridge"),
    ("argos_camera", "annotator_node", "annotator"),
)
TRANSPORT_PROFILE = "fastdds_large_frames.xml"
METRICS_TLS = (  # container options <- environment variables (what the launch file passes on)
    ("--metrics-tls-cert", "ARGOS_METRICS_TLS_CERT"),
    ("--metrics-tls-key", "ARGOS_METRICS_TLS_KEY"),
    ("--metrics-client-ca", "ARGOS_METRICS_CLIENT_CA"),
)
FOXGLOVE_TLS = (
    ("--foxglove-tls-cert", "ARGOS_FOXGLOVE_TLS_CERT"),
    ("--foxglove-tls-key", "ARGOS_FOXGLOVE_TLS_KEY"),
)


def executable(package: str, name: str) -> str:
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        path = Path(prefix) / "lib" / package / name
        if prefix and path.is_file():
            return str(path)
    raise FileNotFoundError(f"{package}/{name} is not installed (no lib/{package}/{name} on AMENT_PREFIX_PATH)")


def transport_profile() -> str:
    """The shipped Fast DDS profile for frames between processes (installed share, else the source tree)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        path = Path(get_package_share_directory("argos_bringup")) / "config" / TRANSPORT_PROFILE
    except PackageNotFoundError:
        path = Path(__file__).resolve().parents[3] / "config" / TRANSPORT_PROFILE
    if not path.is_file():
        raise FileNotFoundError(f"{TRANSPORT_PROFILE} not found at {path}")
    return str(path)


# glibc hands every buffer above 128 KiB back to the kernel when it is freed, so a process that
# receives 2.8-6.2 MB frames maps, faults in and unmaps fresh pages for each one (68,000 page
# faults/s at 1080p measured here); keeping such buffers in the heap halves the subscriber's CPU
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"


def transport_env() -> dict[str, str]:
    """What edge.launch.py sets for every node of a separate-process graph."""
    return {"FASTDDS_DEFAULT_PROFILES_FILE": transport_profile(), "GLIBC_TUNABLES": MALLOC_TUNABLES}


@dataclass
class Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.is_file() else ""


@dataclass
class GraphProcesses:
    """One camera's graph in `model` (composed: one container; separate: five node processes)."""

    model: str
    namespace: str
    params_files: list[str]
    log_level: str = "warn"
    env: dict[str, str] = field(default_factory=dict)
    container_args: list[str] = field(default_factory=list)  # e.g. --namespace /cam1 --shared-inference
    metrics_port: int | None = None  # first process on it, the next on +1, ... (launch's metrics_port:=)
    metrics_host: str = "127.0.0.1"
    foxglove_port: int | None = None  # launch's foxglove_port:= (separate: the annotator serves it)
    foxglove_host: str = "127.0.0.1"
    processes: list[Process] = field(default_factory=list)

    def commands(self) -> list[tuple[str, list[str], dict[str, str]]]:
        """(name, argv, extra environment) of every process, as launch_ros would run them."""
        params = [a for f in self.params_files for a in ("--params-file", f)]
        common = ["-r", f"__ns:={self.namespace}", *params, "--log-level", self.log_level]
        port = self.metrics_port
        if self.model == COMPOSED:
            own = list(self.container_args)
            if port is not None:
                own += ["--metrics-port", str(port), "--metrics-host", self.metrics_host]
                own += [a for flag, var in METRICS_TLS if os.environ.get(var) for a in (flag, os.environ[var])]
            if self.foxglove_port is not None:
                own += ["--foxglove", str(self.foxglove_port), "--foxglove-host", self.foxglove_host]
                own += [a for flag, var in FOXGLOVE_TLS if os.environ.get(var) for a in (flag, os.environ[var])]
            return [("edge_container", [executable(*CONTAINER), *own, "--ros-args", *common], {})]
        if self.model != SEPARATE:
            raise ValueError(f"unknown process model {self.model!r} ({', '.join(MODELS)})")
        commands = []
        for i, (package, exe, name) in enumerate(NODES):
            env = transport_env()
            if port is not None:
                env.update({"ARGOS_METRICS_PORT": str(port + i), "ARGOS_METRICS_HOST": self.metrics_host})
            if self.foxglove_port is not None and name == "annotator":
                env.update({"ARGOS_FOXGLOVE_PORT": str(self.foxglove_port), "ARGOS_FOXGLOVE_HOST": self.foxglove_host})
            commands.append((name, [executable(package, exe), "--ros-args", "-r", f"__node:={name}", *common], env))
        return commands

    def start(self) -> GraphProcesses:
        folder = Path(tempfile.mkdtemp(prefix=f"argos-{self.model}-"))
        for name, argv, extra in self.commands():
            log = folder / f"{name}.log"
            with open(log, "wb") as out:
                popen = subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, **self.env, **extra},
                )
            self.processes.append(Process(name, argv, popen, log))
        return self

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self.processes}

    def exited(self) -> dict[str, int]:
        return {p.name: code for p in self.processes if (code := p.popen.poll()) is not None}

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> dict[str, int]:
        """Send `sig` to every process (as launch does on Ctrl-C) and wait; returns exit codes
        (-9: had to be killed)."""
        for p in self.processes:
            if p.popen.poll() is None:
                p.popen.send_signal(sig)
        deadline = time.monotonic() + timeout
        codes = {}
        for p in self.processes:
            try:
                codes[p.name] = p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
                codes[p.name] = -9
        return codes

    def tracebacks(self) -> dict[str, str]:
        """Processes whose output holds a Python traceback, with its last lines."""
        return {p.name: p.output()[-1500:] for p in self.processes if "Traceback (most recent call last)" in p.output()}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
