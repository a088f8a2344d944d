"""`argos bench soak --duration S`: the graph at 15 FPS for a long time, as a unit runs it.

Starts `argos run --duration 0` (the systemd unit's command; `--process container` for the launch
container instead) against private redis-server and mosquitto, and every `--interval` seconds
records the process's resident memory, threads and open files, the tracker's live tracks, Redis's
memory and the stream's length, the MQTT spool depth, and FPS and latency (capture stamp -> arrival
at an independent MQTT subscriber) over the interval. Ends with the slope of resident memory (and
of Redis's memory) after the warm-up, by least squares, in MB per hour. Stopped with SIGTERM at
the end, like systemd stops the unit.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis
import yaml

from argos_common.machine import describe
from argos_common.stats import percentiles

from ..config import default_config_path
from ..processes import COMPOSED, GraphProcesses
from ..services import MosquittoServer, RedisServer
from .graph import DetectionsListener, DiagnosticsListener

NAMESPACE = "/soak"
TARGET_MB_PER_HOUR = 1.0


@dataclass
class Sample:
    elapsed_s: float
    rss_mb: float
    threads: int
    open_files: int
    live_tracks: float | None
    redis_mb: float
    stream_length: int
    spool_depth: float | None
    fps: float
    latency_ms: dict


def process_status(pid: int) -> tuple[float, int, int]:
    """(resident MB, threads, open file descriptors) of a process."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))


def slope_mb_per_hour(samples: list[Sample], warmup_s: float, attr: str = "rss_mb") -> float | None:
    points = [(s.elapsed_s / 3600.0, getattr(s, attr)) for s in samples if s.elapsed_s >= warmup_s]
    if len(points) < 3:
        return None
    hours, values = np.array(points).T
    return float(np.polyfit(hours, values, 1)[0])


def _fmt(value, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def _row(s: Sample) -> str:
    lat = s.latency_ms
    return (
        f"{s.elapsed_s:7.0f} {s.rss_mb:8.1f} {s.threads:7d} {s.open_files:5d} {_fmt(s.live_tracks):>6} "
        f"{s.redis_mb:8.1f} {s.stream_length:7d} {_fmt(s.spool_depth):>5} {s.fps:5.1f} "
        f"{_fmt(lat.get('p50')):>6} {_fmt(lat.get('p95')):>6}"
    )


def _start_graph(process: str, params: list[str], overrides: str) -> tuple[subprocess.Popen | GraphProcesses, int]:
    if process == "container":
        graph = GraphProcesses(COMPOSED, NAMESPACE, [*params, overrides]).start()
        return graph, graph.processes[0].popen.pid
    popen = subprocess.Popen(
        [
            shutil.which("argos") or "argos",
            "run",
            "--duration",
            "0",
            "--quiet",
            "--namespace",
            NAMESPACE,
            *(a for p in (*params, overrides) for a in ("--config", p)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return popen, popen.pid


def run_bench(args) -> int:
    if args.duration <= 0 or args.interval <= 0:
        print("error: --duration and --interval must be > 0")
        return 2
    warmup = args.warmup if args.warmup is not None else min(600.0, args.duration / 3)
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(120, 200))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    samples: list[Sample] = []
    print(describe(("onnxruntime", "ros-rclpy")))
    print("soak: `argos run --duration 0`" if args.process == "run" else "soak: edge_container", end="")
    print(
        f", synthetic 1280x720 at 15 FPS, {args.duration:g} s, a row every {args.interval:g} s, "
        f"slopes after {warmup:g} s of warm-up"
    )
    header = (
        f"{'t s':>7} {'RSS MB':>8} {'threads':>7} {'fds':>5} {'tracks':>6} {'redis MB':>8} {'stream':>7} "
        f"{'spool':>5} {'FPS':>5} {'p50 ms':>6} {'p95 ms':>6}"
    )
    print(header)
    with ExitStack() as stack:
        server = stack.enter_context(RedisServer())
        broker = stack.enter_context(MosquittoServer())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="argos-soak-")))
        overrides = folder / "soak.yaml"
        overrides.write_text(
            yaml.safe_dump(
                {
                    "/**/bridge": {
                        "ros__parameters": {
                            "redis_url": server.url,
                            "mqtt_url": broker.url,
                            "detections_every_n_frames": 1,
                        }
                    }
                }
            )
        )
        diag = DiagnosticsListener()
        stack.callback(diag.close)
        listener = DetectionsListener(broker.port)
        stack.callback(listener.close)
        client = redis.Redis.from_url(server.url)
        graph, pid = _start_graph(args.process, [str(default_config_path())], str(overrides))
        started = time.monotonic()
        stop_requested: list[int] = []  # Ctrl-C or SIGTERM: end early, with the summary of the rows so far
        for signum in (signal.SIGINT, signal.SIGTERM):
            stack.callback(signal.signal, signum, signal.signal(signum, lambda s, _f: stop_requested.append(s)))
        stream = None
        try:
            next_row = started + args.interval
            window_start = time.time_ns()
            while time.monotonic() - started < args.duration and not stop_requested:
                if (graph.poll() if isinstance(graph, subprocess.Popen) else graph.exited()) not in (None, {}):
                    print("error: the graph exited during the soak")
                    return 1
                time.sleep(max(0.0, min(1.0, next_row - time.monotonic())))
                if time.monotonic() < next_row:
                    continue
                next_row += args.interval
                now_ns = time.time_ns()
                arrivals = listener.window(window_start, now_ns)
                listener.forget_before(now_ns)  # the listeners must not grow either
                rss, threads, fds = process_status(pid)
                stream = stream or next(iter(client.scan_iter("argos:*", _type="stream")), None)
                sample = Sample(
                    time.monotonic() - started,
                    rss,
                    threads,
                    fds,
                    diag.value_at(f"{NAMESPACE}/tracker", "active_tracks", now_ns - 1_500_000_000),
                    int(client.info("memory")["used_memory"]) / 2**20,
                    int(client.xlen(stream)) if stream else 0,
                    diag.value_at(f"{NAMESPACE}/bridge", "mqtt_spool_depth", now_ns - 1_500_000_000),
                    len(arrivals) / ((now_ns - window_start) / 1e9),
                    percentiles([(a - s) / 1e6 for _, a, s in arrivals], (50, 95)),
                )
                window_start = now_ns
                diag.forget_before(now_ns - 10_000_000_000)
                samples.append(sample)
                print(_row(sample), flush=True)
        finally:
            if isinstance(graph, subprocess.Popen):
                graph.send_signal(signal.SIGTERM)
                try:
                    code = graph.wait(60)
                except subprocess.TimeoutExpired:
                    graph.kill()
                    code = -9
            else:
                code = graph.stop(signal.SIGTERM).get("edge_container", -9)
    if stop_requested:
        print(f"stopped by signal {stop_requested[0]} after {samples[-1].elapsed_s if samples else 0:.0f} s")
    rss_slope = slope_mb_per_hour(samples, warmup)
    # a buffer that fills up levels off, a leak does not: the slope over the last half of the run
    ran_s = samples[-1].elapsed_s if samples else args.duration
    late_from = warmup + (ran_s - warmup) / 2
    late_slope = slope_mb_per_hour(samples, late_from)
    redis_slope = slope_mb_per_hour(samples, warmup, "redis_mb")
    verdict = "-" if rss_slope is None else ("yes" if rss_slope < TARGET_MB_PER_HOUR else "NO")
    print(
        f"\nRSS slope after warm-up: {'-' if rss_slope is None else f'{rss_slope:+.2f}'} MB/hour "
        f"(target < {TARGET_MB_PER_HOUR:g}: {verdict}); after {late_from:.0f} s: "
        f"{'-' if late_slope is None else f'{late_slope:+.2f}'} MB/hour; Redis memory slope: "
        f"{'-' if redis_slope is None else f'{redis_slope:+.2f}'} MB/hour (the stream fills up to stream_maxlen); "
        f"exit code after SIGTERM: {code}"
    )
    return 0
