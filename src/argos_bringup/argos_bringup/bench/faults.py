"""`argos bench faults`: what a unit loses when its servers, its collector, its camera or its disk
fail, against real servers only.

Each scenario starts `argos run --duration 0` (the systemd unit's command) with an on-disk spool,
against a private redis-server (append-only file) and mosquitto (persistence), with an independent
MQTT subscriber holding a persistent QoS 1 session on `.../counts`. After a warm-up the fault is
applied, held, and undone; the bench then waits until the bridge's Redis buffer and MQTT spool are
empty again, stops the graph with SIGTERM (as systemd does) and compares:

- counts made: the count events the bridge took from the tracker (its run summary);
- counts lost: made minus the distinct counts (count_seq) that reached the subscriber, and the
  stream (target 0 for both);
- duplicates: count messages the subscriber received twice (at-least-once delivery allows them);
- FPS during the fault (the tracker's frames) and the time from undoing the fault until nothing
  waits in the buffer and the spool (time to recover).

Scenarios: redis (down 60 s), broker (down 60 s), both (down 60 s), collector (SIGKILL mid-run,
restarted: its points are compared with the stream), camera (an RTSP camera gone 30 s and back:
time until frames flow again), disk (the spool on a 256 KiB file system while the broker is down:
the spool fills the disk), clock (the unit's clock jumps an hour ahead mid-run and stays there).
Root is needed for the disk scenario (a tmpfs mount); it is skipped otherwise.

The clock step uses libfaketime (Debian's `faketime` package; skipped without it), which moves
every clock of the unit, its monotonic clock included: a harsher case than an NTP step, which
leaves the monotonic clock alone. A step of the wall clock only is not possible with it: its sleep
interception then fails Python's monotonic sleeps (EINVAL, libfaketime 0.9.10). Diagnostics are
timed by their arrival here, not by the unit's stamps, so the step does not move the measurements.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import redis
import yaml

from argos_common.machine import describe

from ..config import default_config_path
from ..services import MosquittoServer, RedisServer, ServiceError, small_disk
from . import FAULT_SCENARIOS as SCENARIOS
from .graph import DiagnosticsListener

# Debian's faketime package, for this machine's architecture (multiarch folder)
FAKETIME_LIBRARY = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), Path("libfaketime.so.1"))
CLOCK_STEP_S = 3600
NAMESPACE = "/faults"


@dataclass
class Outcome:
    scenario: str
    made: int | None = None
    lost_mqtt: int | None = None
    lost_redis: int | None = None
    duplicates: int | None = None
    fps_during: float | None = None
    recover_s: float | None = None
    exit_code: int | None = None
    note: str = ""
    counters: dict = field(default_factory=dict)


class CountsSubscriber:
    """A persistent QoS 1 session on the counts topic: the broker keeps what arrives while it is away."""

    def __init__(self, port: int, client_id: str):
        self.seqs: Counter[int] = Counter()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe("argos/+/+/+/counts", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.5, 2)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        seq = json.loads(msg.payload)["count_seq"]
        with self._lock:
            self.seqs[int(seq)] += 1

    def snapshot(self) -> Counter[int]:
        with self._lock:
            return Counter(self.seqs)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Unit:
    """One `argos run --duration 0` with its overrides, started and stopped like the systemd unit."""

    def __init__(
        self,
        folder: Path,
        redis_url: str,
        mqtt_url: str,
        spool_dir: Path,
        source: str | None = None,
        clock_file: Path | None = None,
    ):
        body = {
            "/**/bridge": {
                "ros__parameters": {
                    "redis_url": redis_url,
                    "mqtt_url": mqtt_url,
                    "spool_dir": str(spool_dir),
                    "redis_timeout_s": 0.5,
                    "mqtt_reconnect_max_s": 2.0,
                    "redis_retry_max_s": 2.0,
                    "totals_interval_s": 5.0,
                }
            }
        }
        if source:
            body["/**/camera"] = {"ros__parameters": {"source": source, "width": 320, "height": 180}}
        override = folder / "unit.yaml"
        override.write_text(yaml.safe_dump(body))
        self.log = folder / "unit.log"
        self.summary = folder / "summary.json"
        argv = [
            shutil.which("argos") or "argos",
            "run",
            "--duration",
            "0",
            "--quiet",
            "--namespace",
            NAMESPACE,
            "--config",
            str(default_config_path()),
            "--config",
            str(override),
            "--summary",
            str(self.summary),
        ]
        env = dict(os.environ)
        if clock_file is not None:  # the unit's clocks follow the offset written to this file
            clock_file.write_text("+0\n")
            env.update(
                LD_PRELOAD=str(FAKETIME_LIBRARY),
                FAKETIME_TIMESTAMP_FILE=str(clock_file),
                FAKETIME_NO_CACHE="1",
            )
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return -9


def _wait(condition, timeout_s: float, step: float = 0.5) -> float | None:
    """Seconds until `condition()` held, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(step)
    return None


def _latest(diag: DiagnosticsListener, node: str, key: str) -> float | None:
    return diag.value_at(f"{NAMESPACE}/{node}", key, time.time_ns() - 1_200_000_000)


def _stream_counts(url: str) -> set[int]:
    client = redis.Redis.from_url(url)
    stream = next(iter(client.scan_iter("argos:*", _type="stream")), None)
    if stream is None:
        return set()
    seqs = set()
    for _id, fields in client.xrange(stream):
        if fields.get(b"type") == b"count":
            seqs.add(int(json.loads(fields[b"payload"])["count_seq"]))
    return seqs


def run_scenario(name: str, folder: Path, diag: DiagnosticsListener, hold_s: float, warmup_s: float) -> Outcome:
    out = Outcome(name)
    folder.mkdir(parents=True)
    with ExitStack() as stack:
        redis_server = stack.enter_context(RedisServer(workdir=folder / "redis", persistent=True))
        broker = stack.enter_context(MosquittoServer(workdir=folder / "mosquitto", persistent=True))
        spool = folder / "spool"
        spool.mkdir()
        if name == "disk":
            try:
                stack.enter_context(small_disk(spool))
            except ServiceError as exc:
                out.note = f"skipped: {exc}"
                return out
        camera = None
        if name == "camera":
            from argos_camera.rtsp_server import RtspServerProcess

            camera = RtspServerProcess(width=320, height=180).start()  # 16:9 like the shipped lines
            stack.callback(camera.stop)
        clock_file = None
        if name == "clock":
            if not FAKETIME_LIBRARY.exists():
                out.note = f"skipped: {FAKETIME_LIBRARY} missing (apt-get install faketime)"
                return out
            clock_file = folder / "clock-offset"
        subscriber = CountsSubscriber(broker.port, f"argos-faults-{name}-{random.randrange(1 << 30)}")
        stack.callback(subscriber.close)
        unit = Unit(folder, redis_server.url, broker.url, spool, camera.url if camera else None, clock_file)
        stack.callback(unit.stop)
        collector = aggregates = None
        if name == "collector":
            aggregates = LineProtocolSubscriber(broker.port, f"argos-faults-agg-{random.randrange(1 << 30)}")
            stack.callback(aggregates.close)
            collector = _start_collector(folder, redis_server.url, broker.url)
            stack.callback(collector.kill)
        if _wait(lambda: _latest(diag, "tracker", "frames") not in (None, 0.0), 120) is None:
            out.note = "the graph did not start: " + unit.log.read_text(errors="replace")[-300:]
            return out
        time.sleep(warmup_s)
        start_ns = time.time_ns()
        hold = hold_s / 2 if name in ("camera", "collector") else hold_s
        if name in ("redis", "both"):
            redis_server.stop()
        if name in ("broker", "both", "disk"):
            broker.stop()
        if name == "camera" and camera is not None:
            camera.stop(hard=True)
        if name == "collector" and collector is not None:
            collector.kill()
            collector.wait()
        if clock_file is not None:
            clock_file.write_text(f"+{CLOCK_STEP_S}\n")  # and it stays there: the step is not undone
        time.sleep(hold)
        end_ns = time.time_ns()
        if name in ("redis", "both"):
            redis_server.start()
        if name in ("broker", "both", "disk"):
            broker.start()
        if name == "camera" and camera is not None:
            camera.start()
        if name == "collector":
            collector = _start_collector(folder, redis_server.url, broker.url)
            stack.callback(collector.kill)
        if name in ("camera", "clock"):
            before = _latest(diag, "camera", "frames") or 0.0
            out.recover_s = _wait(lambda: (_latest(diag, "camera", "frames") or 0.0) > before + 15, 120)
        else:
            out.recover_s = _wait(
                lambda: (
                    _latest(diag, "bridge", "redis_buffer_depth") == 0.0
                    and _latest(diag, "bridge", "mqtt_spool_depth") == 0.0
                    and (_latest(diag, "bridge", "mqtt_overflow_depth") or 0.0) == 0.0
                ),
                180,
            )
        time.sleep(5.0)
        frames = diag.delta(f"{NAMESPACE}/tracker", "frames", start_ns, end_ns)
        out.fps_during = None if frames is None else frames / ((end_ns - start_ns) / 1e9)
        out.exit_code = unit.stop()
        time.sleep(2.0)  # the subscriber takes what the broker still holds
        received = subscriber.snapshot()
        try:  # what the graph made and what it counted as lost, from its own summary (written after close)
            summary = json.loads(unit.summary.read_text())
            out.made = int(summary["nodes"]["bridge"]["counts"])
            out.counters = {k: v for k, v in summary.get("losses", {}).items() if v}
        except (OSError, ValueError, KeyError):
            out.note = "no run summary: " + unit.log.read_text(errors="replace")[-300:]
        if out.made is not None:
            out.lost_mqtt = out.made - len(received)
            out.lost_redis = out.made - len(_stream_counts(redis_server.url))
            out.duplicates = sum(n - 1 for n in received.values())
        if name == "collector" and collector is not None and aggregates is not None:
            time.sleep(8.0)  # the collector takes the last entries
            collector.terminate()
            collector.wait(20)
            out.note = _collector_check(aggregates, redis_server.url)
    return out


AGGREGATES_TOPIC = "argos/faults/aggregates"


class LineProtocolSubscriber:
    """The collector's MQTT output (line protocol batches), as Telegraf would take it."""

    def __init__(self, port: int, client_id: str):
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe(AGGREGATES_TOPIC, qos=1)
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        with self._lock:
            self.lines += [line for line in msg.payload.decode().splitlines() if line]

    def counted(self) -> int:
        """Counts in the argos_counts points, each point once (a replayed batch repeats points: InfluxDB
        overwrites a point with the same series and timestamp)."""
        points: dict[tuple[str, str], int] = {}
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            series, fields, stamp = line.rsplit(" ", 2)
            if series.startswith("argos_counts,"):
                count = next(f for f in fields.split(",") if f.startswith("count="))
                points[(series, stamp)] = int(count.split("=", 1)[1].rstrip("i"))
        return sum(points.values())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _start_collector(folder: Path, redis_url: str, mqtt_url: str) -> subprocess.Popen:
    log = open(folder / "collector.log", "ab")
    return subprocess.Popen(
        [
            shutil.which("argos-collector") or "argos-collector",
            "--redis-url",
            redis_url,
            "--camera",
            NAMESPACE.strip("/"),
            "--mqtt-url",
            mqtt_url,
            "--mqtt-topic",
            AGGREGATES_TOPIC,
            "--interval-s",
            "5",
            "--grace-s",
            "2",
            "--consumer",
            "bench",
            "--claim-idle-s",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _collector_check(aggregates: LineProtocolSubscriber, redis_url: str) -> str:
    """Every count entry the collector acknowledged must be in exactly one written point."""
    client = redis.Redis.from_url(redis_url)
    stream = next(iter(client.scan_iter("argos:*", _type="stream")), None)
    if stream is None:
        return "no stream"
    pending = {entry["message_id"] for entry in client.xpending_range(stream, "argos-collector", "-", "+", 1_000_000)}
    acked = sum(
        1 for entry_id, fields in client.xrange(stream) if fields.get(b"type") == b"count" and entry_id not in pending
    )
    written = aggregates.counted()
    verdict = "none lost or doubled" if written == acked else f"{acked - written:+d} counts missing from the points"
    return f"collector: {acked} acknowledged count entries, {written} counts in the points ({verdict})"


def print_table(outcomes: list[Outcome], hold_s: float) -> None:
    print(describe(("redis", "paho-mqtt", "ros-rclpy")))
    print(
        f"faults held {hold_s:g} s (camera, collector: {hold_s / 2:g} s; clock: +{CLOCK_STEP_S} s, kept); "
        "argos run --duration 0 with an on-disk spool, redis-server with appendonly, mosquitto with persistence, "
        "a persistent QoS 1 subscriber"
    )
    header = [
        "fault",
        "counts made",
        "lost (MQTT)",
        "lost (stream)",
        "duplicates",
        "FPS during",
        "recovered after s",
        "exit",
        "counted losses / note",
    ]
    rows = [header]
    for o in outcomes:
        counted = ", ".join(f"{k} {int(v)}" for k, v in o.counters.items() if v) or "no loss counted"
        rows.append(
            [
                o.scenario,
                *(
                    "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))
                    for v in (o.made, o.lost_mqtt, o.lost_redis, o.duplicates, o.fps_during, o.recover_s, o.exit_code)
                ),
                (o.note + "; " if o.note else "") + counted,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def run_bench(args) -> int:
    names = [n for n in args.scenarios.split(",") if n]
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        print(f"error: --scenarios: unknown {sorted(unknown)} (known: {', '.join(SCENARIOS)})")
        return 2
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(120, 200))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    outcomes = []
    with ExitStack() as folders:
        if args.keep:  # the units' logs, summaries, spools and servers' files stay for a look
            tmp = args.keep
            Path(tmp).mkdir(parents=True, exist_ok=True)
        else:
            tmp = folders.enter_context(tempfile.TemporaryDirectory(prefix="argos-faults-"))
        diag = DiagnosticsListener(stamp_by_arrival=True)
        try:
            for name in names:
                print(f"... {name}", flush=True)
                outcomes.append(run_scenario(name, Path(tmp) / name, diag, args.hold, args.warmup))
                diag.forget_before(time.time_ns())
        finally:
            diag.close()
    print()
    print_table(outcomes, args.hold)
    return 0
