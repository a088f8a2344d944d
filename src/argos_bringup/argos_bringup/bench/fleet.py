"""`argos bench fleet --units 10,50,200`: many edge units against one broker, one Redis and the
collector(s), on this machine.

A unit here is the real bridge core (argos_bridge.bridge.Bridge: queue, writer thread, Redis stream,
MQTT client) of site `fleet`, device `unitNNN`, replaying a recorded minute of the synthetic
intersection (tracks of every frame and the count events the tracking pipeline made, 15 FPS) with
fresh stamps; no cameras, no detector. The units run in several worker processes; the collector(s)
(`argos-collector --streams 'argos:fleet:*' --shard i/K`) write to a private InfluxDB 1.x. For each
fleet size, over a measuring window:

- offered / written: tracks messages the units were given per second, and stream entries Redis got;
- MQTT: messages per second an independent subscriber received;
- collector: stream entries per second it read, and its lag at the end of the window (the oldest
  stream's newest entry not yet read by the collector, in seconds of capture time);
- lost: the units' own loss counters, and, once the units stop and the collector is idle, the count
  entries the collector acknowledged against the counts InfluxDB holds.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import redis

from argos_bridge.health import LOSS_COUNTERS
from argos_common.machine import describe

from ..processes import cpu_seconds
from ..services import InfluxServer, MosquittoServer, RedisServer

FPS = 15.0
CLIP_S = 60.0
DB = "argos_fleet"
GROUP = "argos-collector"


def record_clip(path: Path) -> None:
    """A minute of the synthetic intersection as a unit's bridge sees it: per frame the confirmed
    tracks and the count events, from the ground truth through the tracker's own pipeline."""
    from argos_common.classes import DEFAULT_CLASSES
    from argos_sim import open_scene
    from argos_tracker.pipeline import TrackingPipeline

    from ..evaluation.counting import config_lines, truth_to_detections

    pipeline = TrackingPipeline(config_lines())
    scene = open_scene(
        "synthetic://intersection?seed=21", 1280, 720, FPS, DEFAULT_CLASSES, pipeline.lines, render=False
    )
    frames = []
    for i in range(int(CLIP_S * FPS)):
        _, truth = scene.next_frame()
        result = pipeline.update(truth_to_detections(truth.objects), int(i * 1e9 / FPS))
        frames.append((result.confirmed, list(result.counts)))
    path.write_bytes(pickle.dumps(frames))


def run_units(first: int, count: int, clip: Path, redis_url: str, mqtt_url: str, seconds: float, report: Path) -> None:
    """Worker: `count` units replaying the clip at 15 FPS for `seconds`, then their stats to `report`."""
    from dataclasses import replace

    from argos_bridge.bridge import Bridge

    frames = pickle.loads(clip.read_bytes())
    bridges = [
        Bridge(
            {
                "redis_url": redis_url,
                "mqtt_url": mqtt_url,
                "site": "fleet",
                "device": f"unit{n:03d}",
                "camera": "cam0",
                "totals_interval_s": 10.0,
            }
        )
        for n in range(first, first + count)
    ]
    for bridge in bridges:
        bridge.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    i = offered = 0
    while not stop.is_set() and time.monotonic() - started < seconds:
        tracks, counts = frames[i % len(frames)]
        stamp = time.time_ns()
        for bridge in bridges:
            bridge.submit_tracks(stamp, "cam0_optical", tracks)
            for record in counts:
                bridge.submit_count(replace(record, stamp_ns=stamp))
        offered += len(bridges)
        i += 1
        stop.wait(max(0.0, started + i / FPS - time.monotonic()))  # paced; behind schedule: no waiting
    for bridge in bridges:
        bridge.close(drain_timeout_s=10.0)
    report.write_text(
        json.dumps({"offered": offered, "elapsed": time.monotonic() - started, "stats": [b.stats() for b in bridges]})
    )


class MqttCounter:
    def __init__(self, port: int):
        self.received = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe("argos/fleet/#", qos=0)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, *_args) -> None:
        with self._lock:
            self.received += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _streams(client: redis.Redis) -> list[bytes]:
    return list(client.scan_iter(match="argos:fleet:*", _type="STREAM"))


def _entries_read(client: redis.Redis) -> int:
    total = 0
    for stream in _streams(client):
        for group in client.xinfo_groups(stream):
            total += int(group.get("entries-read") or 0)
    return total


def _lag_s(client: redis.Redis) -> float | None:
    """Capture-time seconds between each stream's newest entry and the newest the collector read; the worst."""
    worst = None
    for stream in _streams(client):
        groups = client.xinfo_groups(stream)
        if not groups:
            return None  # a stream the collector has not found yet
        last_read = groups[0].get("last-delivered-id") or b"0-0"
        newest = client.xinfo_stream(stream)["last-generated-id"]
        lag = (int(newest.split(b"-")[0]) - int(last_read.split(b"-")[0])) / 1000.0
        worst = lag if worst is None else max(worst, lag)
    return worst


def _acked_counts(client: redis.Redis) -> int:
    acked = 0
    for stream in _streams(client):
        try:
            pending = {e["message_id"] for e in client.xpending_range(stream, GROUP, "-", "+", 10_000_000)}
        except redis.ResponseError:  # the collector never took this stream: nothing acknowledged
            continue
        acked += sum(
            1 for entry_id, f in client.xrange(stream) if f.get(b"type") == b"count" and entry_id not in pending
        )
    return acked


# the bridge's loss counters, split into those counted while running and those at its close
_LOSSES_AT_SHUTDOWN = tuple(k for k in LOSS_COUNTERS if k.endswith("_lost_at_shutdown"))
_LOSSES_RUNNING = tuple(k for k in LOSS_COUNTERS if k not in _LOSSES_AT_SHUTDOWN)


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # exited
            pass
    return total


@dataclass
class FleetResult:
    units: int
    offered_per_s: float = 0.0
    written_per_s: float = 0.0
    mqtt_per_s: float = 0.0
    collector_per_s: float = 0.0
    lag_s: float | None = None
    unit_losses: int = 0  # while running
    shutdown_losses: int = 0  # when the units stopped (still queued, unconfirmed)
    acked_counts: int = 0
    influx_counts: int = 0
    cpu_pct: dict[str, float] = field(default_factory=dict)  # per server / process kind, over the window
    note: str = ""


def run_fleet(units: int, workers: int, collectors: int, seconds: float, folder: Path, clip: Path) -> FleetResult:
    result = FleetResult(units)
    with ExitStack() as stack:
        server = stack.enter_context(RedisServer())
        broker = stack.enter_context(MosquittoServer())
        influx = stack.enter_context(InfluxServer())
        client = redis.Redis.from_url(server.url)
        counter = MqttCounter(broker.port)
        stack.callback(counter.close)
        log = open(folder / f"collector-{units}.log", "ab")
        stack.callback(log.close)
        procs = [
            subprocess.Popen(
                [
                    shutil.which("argos-collector") or "argos-collector",
                    "--redis-url",
                    server.url,
                    "--streams",
                    "argos:fleet:*",
                    "--shard",
                    f"{k}/{collectors}",
                    "--influx-url",
                    influx.url,
                    "--influx-db",
                    DB,
                    "--interval-s",
                    "10",
                    "--grace-s",
                    "2",
                    "--consumer",
                    f"collector{k}",
                    "--exit-when-idle",
                    "8",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for k in range(collectors)
        ]
        workers = max(1, min(workers, units))
        per = [units // workers + (1 if w < units % workers else 0) for w in range(workers)]
        reports, sims, first = [], [], 0
        for w, count in enumerate(per):
            report = folder / f"units-{units}-{w}.json"
            reports.append(report)
            sims.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "argos_bringup.bench.fleet",
                        "--worker",
                        str(first),
                        str(count),
                        str(clip),
                        server.url,
                        broker.url,
                        str(seconds + 10),
                        str(report),
                    ]
                )
            )
            first += count
        time.sleep(10.0)  # every unit connected, every stream found (the collector rescans every 10 s)
        written0, read0, mqtt0 = sum(client.xlen(s) for s in _streams(client)), _entries_read(client), counter.received
        pids = {
            "mosquitto": [broker.proc.pid],
            "redis": [server.proc.pid],
            "collector": [p.pid for p in procs],
            "influxd": [influx.proc.pid],
            "units": [p.pid for p in sims],
        }
        cpu0 = {kind: _cpu(ids) for kind, ids in pids.items()}
        t0 = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - t0
        result.cpu_pct = {kind: 100.0 * (_cpu(ids) - cpu0[kind]) / elapsed for kind, ids in pids.items()}
        written = sum(client.xlen(s) for s in _streams(client)) - written0
        result.written_per_s = written / elapsed
        result.collector_per_s = (_entries_read(client) - read0) / elapsed
        result.mqtt_per_s = (counter.received - mqtt0) / elapsed
        result.lag_s = _lag_s(client)
        for sim in sims:
            sim.wait(120)
        offered = 0.0
        for report in reports:
            data = json.loads(report.read_text())
            offered += data["offered"] / data["elapsed"]
            for stats in data["stats"]:
                result.unit_losses += sum(int(stats.get(k) or 0) for k in _LOSSES_RUNNING)
                result.shutdown_losses += sum(int(stats.get(k) or 0) for k in _LOSSES_AT_SHUTDOWN)
        result.offered_per_s = offered
        for proc in procs:
            try:
                proc.wait(300)  # until idle
            except subprocess.TimeoutExpired:
                proc.terminate()
                result.note = "collector still busy after 300 s"
        result.acked_counts = _acked_counts(client)
        rows = influx.query(DB, 'SELECT sum("count") FROM "argos_counts"')
        result.influx_counts = int(rows[0]["sum"]) if rows else 0
    return result


def print_table(results: list[FleetResult], seconds: float, workers: int, collectors: int) -> None:
    print(describe(("redis", "paho-mqtt")))
    print(
        f"units = real bridge cores replaying a recorded minute at 15 FPS in {workers} worker processes; "
        f"{collectors} collector process(es) -> InfluxDB 1.x; one redis-server, one mosquitto; "
        f"{seconds:g} s window; all on this machine"
    )
    header = [
        "units",
        "offered msg/s",
        "stream entries/s",
        "MQTT rx msg/s",
        "collector entries/s",
        "collector lag s",
        "unit losses running / at stop",
        "counts acked / in InfluxDB",
        "CPU % mosquitto / redis / collector / influxd / units",
        "note",
    ]
    rows = [header] + [
        [
            str(r.units),
            f"{r.offered_per_s:.0f}",
            f"{r.written_per_s:.0f}",
            f"{r.mqtt_per_s:.0f}",
            f"{r.collector_per_s:.0f}",
            "-" if r.lag_s is None else f"{r.lag_s:.1f}",
            f"{r.unit_losses} / {r.shutdown_losses}",
            f"{r.acked_counts} / {r.influx_counts}",
            " / ".join(f"{r.cpu_pct.get(k, 0.0):.0f}" for k in ("mosquitto", "redis", "collector", "influxd", "units")),
            r.note,
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def run_bench(args) -> int:
    try:
        sizes = [int(n) for n in args.units.split(",") if n]
    except ValueError:
        print(f"error: --units: expected numbers, got {args.units!r}")
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="argos-fleet-") as tmp:
        folder = Path(tmp)
        clip = folder / "clip.pickle"
        record_clip(clip)
        for units in sizes:
            print(f"... {units} units", flush=True)
            results.append(run_fleet(units, args.workers, args.collectors, args.seconds, folder, clip))
    print()
    print_table(results, args.seconds, args.workers, args.collectors)
    return 0


if __name__ == "__main__" and len(sys.argv) == 9 and sys.argv[1] == "--worker":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_units(
        int(sys.argv[2]),
        int(sys.argv[3]),
        Path(sys.argv[4]),
        sys.argv[5],
        sys.argv[6],
        float(sys.argv[7]),
        Path(sys.argv[8]),
    )
