"""The collector against real redis-server and InfluxDB 1.6 (Debian): consumer group, crash
recovery by re-claiming pending entries, idempotent points, malformed entries, MQTT output."""

import logging
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
import redis

from argos_bridge import schema
from argos_bridge.redis_sink import RedisSink
from argos_bringup.services import InfluxServer
from argos_collector.influx import InfluxV1Writer, http_post
from argos_collector.service import Collector, MqttLineOutput
from argos_common.classes import DEFAULT_CLASSES
from argos_common.counts import CountRecord
from argos_common.detections import Detections
from harness.mqtt_tap import MqttTap

pytestmark = pytest.mark.integration

S = 1_000_000_000
T0 = 1_790_000_000 * S
STREAM = "argos:s:d:c"
IDENTITY = {"site": "s", "device": "d", "camera": "c"}


@pytest.fixture
def influx_server():
    with InfluxServer() as server:
        yield server


def fill_stream(redis_url: str, seconds: int = 40, fps: int = 5, camera: str = "c") -> int:
    """A camera's worth of entries: tracks every frame, a count every 7th frame, through RedisSink."""
    IDENTITY = {"site": "s", "device": "d", "camera": camera}
    sink = RedisSink(redis_url, f"argos:s:d:{camera}", 100_000)
    n = 0
    for i in range(seconds * fps):
        stamp = T0 + i * S // fps
        labels = ["car", "bus", "van"][: i % 4]
        dets = Detections(
            np.array([[0, 0, 10, 10]] * len(labels)).reshape(-1, 4),
            [0.9] * len(labels),
            labels,
            [str(k) for k in range(len(labels))],
        )
        sink.write(
            "tracks",
            schema.to_json(
                schema.detections_payload(
                    **IDENTITY, stamp_ns=stamp, frame_id="f", bridge_frame=i, dets=dets, classes=DEFAULT_CLASSES
                )
            ),
            stamp,
        )
        n += 1
        if i % 7 == 0:
            record = CountRecord(
                stamp_ns=stamp,
                line_id="west",
                lane="eb" if i % 2 else "",
                class_id="car",
                direction="in" if i % 3 else "out",
                track_id=str(i),
                speed_px_s=float(i),
            )
            sink.write(
                "count",
                schema.to_json(schema.count_payload(**IDENTITY, record=record, count_seq=i, classes=DEFAULT_CLASSES)),
                stamp,
            )
            n += 1
    sink.close()
    return n


def all_points(influx: InfluxServer, db: str) -> list:
    rows = []
    for measurement in ("argos_counts", "argos_occupancy", "argos_interval"):
        rows += [
            (measurement, sorted(r.items())) for r in influx.query(db, f'SELECT * FROM "{measurement}" GROUP BY *')
        ]
    return sorted(rows)


def collector_cmd(redis_url, influx_url, db, consumer, *extra):
    return [
        sys.executable,
        "-m",
        "argos_collector.service",
        "--redis-url",
        redis_url,
        "--stream",
        STREAM,
        "--influx-url",
        influx_url,
        "--influx-db",
        db,
        "--consumer",
        consumer,
        "--interval-s",
        "5",
        "--grace-s",
        "1",
        "--batch",
        "20",
        *extra,
    ]


def test_collector_killed_mid_batch_leaves_influx_with_the_same_points(redis_server, influx_server):
    n = fill_stream(redis_server.url)
    client = redis.Redis.from_url(redis_server.url)

    # reference: one uninterrupted run, its own group and database
    reference = Collector(
        client,
        STREAM,
        [InfluxV1Writer(influx_server.url, "reference")],
        group="reference",
        consumer="ref",
        interval_s=5,
        grace_s=1,
        batch=20,
        block_ms=100,
    )
    reference.outputs[0].ensure_database()
    reference.run(exit_when_idle_s=0.3)
    assert reference.read == n and reference.intervals == 7  # 40 s of data in 5 s intervals, the last stays open

    # the crashing run: a process killed (SIGKILL) while it holds read-but-unacknowledged entries
    proc = subprocess.Popen(
        collector_cmd(redis_server.url, influx_server.url, "crash", "first"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def partly_done():
            groups = {g["name"].decode(): g for g in client.xinfo_groups(STREAM)}
            group = groups.get("argos-collector")
            return group and group["pending"] > 0 and 0 < group["entries-read"] < n

        deadline = time.monotonic() + 20
        while not partly_done() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        assert partly_done(), "the collector never had pending entries to lose"
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pending_at_crash = client.xpending(STREAM, "argos-collector")["pending"]
    assert pending_at_crash > 0

    # a standby under another name claims what the dead one left pending, then reads the rest
    standby = subprocess.run(
        collector_cmd(
            redis_server.url, influx_server.url, "crash", "second", "--claim-idle-s", "0", "--exit-when-idle", "0.5"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert standby.returncode == 0, standby.stderr
    assert "claimed from idle consumers" in standby.stderr
    # only the last, still-open interval's entries stay pending
    assert client.xpending(STREAM, "argos-collector")["pending"] == len(reference.aggregator.pending_ids())
    assert all_points(influx_server, "crash") == all_points(influx_server, "reference")
    assert len(all_points(influx_server, "reference")) > 20


def test_replayed_batch_overwrites_instead_of_duplicating(redis_server, influx_server):
    fill_stream(redis_server.url, seconds=12)
    client = redis.Redis.from_url(redis_server.url)
    writer = InfluxV1Writer(influx_server.url, "argos")
    writer.ensure_database()
    Collector(client, STREAM, [writer], group="g1", interval_s=5, grace_s=1, block_ms=100).run(exit_when_idle_s=0.2)
    once = all_points(influx_server, "argos")
    # the same entries again through a fresh group: every point rewritten with the same tags and time
    Collector(client, STREAM, [writer], group="g2", interval_s=5, grace_s=1, block_ms=100).run(exit_when_idle_s=0.2)
    assert all_points(influx_server, "argos") == once
    counted = influx_server.query("argos", "SELECT SUM(count) FROM argos_counts")[0]["sum"]
    # frames 0..49 lie in the two closed intervals [0, 5 s) and [5 s, 10 s): a count on every 7th
    assert counted == len(range(0, 50, 7))


def test_malformed_entries_are_logged_acknowledged_and_skipped(redis_server, influx_server, caplog):
    client = redis.Redis.from_url(redis_server.url)
    client.xadd(STREAM, {"type": "count", "payload": "{broken", "stamp_ns": str(T0)})
    client.xadd(STREAM, {"type": "weird", "payload": "{}", "stamp_ns": str(T0)})
    fill_stream(redis_server.url, seconds=8)
    writer = InfluxV1Writer(influx_server.url, "argos")
    writer.ensure_database()
    collector = Collector(client, STREAM, [writer], group="g", interval_s=5, grace_s=1, block_ms=100)
    with caplog.at_level(logging.WARNING, logger="argos.collector"):
        collector.run(exit_when_idle_s=0.2)
    assert collector.malformed == 2 and collector.intervals == 1
    assert "unreadable count entry" in caplog.text and "unknown entry type 'weird'" in caplog.text
    # neither comes back after a restart: they were acknowledged
    again = Collector(
        client, STREAM, [writer], group="g", consumer=collector.consumer, interval_s=5, grace_s=1, block_ms=100
    )
    again.run(exit_when_idle_s=0.2)
    assert again.malformed == 0


def test_influx_down_keeps_entries_pending_until_it_is_back(redis_server, influx_server):
    fill_stream(redis_server.url, seconds=12)
    client = redis.Redis.from_url(redis_server.url)
    dead = InfluxV1Writer("http://127.0.0.1:9", "argos", timeout_s=0.5)
    naps = []
    collector = Collector(
        client,
        STREAM,
        [dead],
        group="g",
        interval_s=5,
        grace_s=1,
        block_ms=100,
        sleep=lambda s: (naps.append(s), collector.stop() if len(naps) >= 3 else None),
    )
    with pytest.raises(Exception, match="stay pending"):
        collector.run()
    assert collector.write_failures >= 3 and naps[:3] == [0.5, 1.0, 2.0]
    assert client.xpending(STREAM, "g")["pending"] > 0 and collector.intervals == 0
    # back: the same consumer re-reads its pending entries and writes them
    live = InfluxV1Writer(influx_server.url, "argos")
    live.ensure_database()
    again = Collector(
        client, STREAM, [live], group="g", consumer=collector.consumer, interval_s=5, grace_s=1, block_ms=100
    )
    again.run(exit_when_idle_s=0.2)
    assert (
        again.intervals == 2
        and influx_server.query("argos", "SELECT COUNT(frames) FROM argos_interval")[0]["count"] == 2
    )


def test_mqtt_output_publishes_the_line_protocol(redis_server, mqtt_broker):
    fill_stream(redis_server.url, seconds=12)
    client = redis.Redis.from_url(redis_server.url)
    with MqttTap(mqtt_broker.url, ["argos/#"]) as tap:
        output = MqttLineOutput(mqtt_broker.url, "argos/s/d/c/aggregates")
        try:
            deadline = time.monotonic() + 5
            while not output._client.is_connected() and time.monotonic() < deadline:
                time.sleep(0.02)
            Collector(client, STREAM, [output], group="g", interval_s=5, grace_s=1, block_ms=100).run(
                exit_when_idle_s=0.2
            )
        finally:
            output.close()
        assert tap.wait_for(lambda msgs: len(msgs) >= 1)
    lines = b"".join(m.payload for m in tap.messages("/aggregates")).decode().splitlines()
    assert sum(line.startswith("argos_interval,") for line in lines) == 2
    assert all(line.rsplit(" ", 1)[1] in (str(T0), str(T0 + 5 * S)) for line in lines)


def test_continuous_queries_file_is_accepted_by_influxdb_1(influx_server):
    statements = [
        line
        for line in (Path(__file__).resolve().parents[2] / "config" / "influxdb" / "continuous_queries.iql")
        .read_text()
        .splitlines()
        if line.strip() and not line.startswith("--")
    ]
    http_post(f"{influx_server.url}/query?" + urllib.parse.urlencode({"q": 'CREATE DATABASE "argos"'}), b"", {}, 10)
    for statement in statements:
        body = urllib.parse.urlencode({"q": statement}).encode()
        http_post(f"{influx_server.url}/query", body, {"Content-Type": "application/x-www-form-urlencoded"}, 10)
    names = {row["name"] for row in influx_server.query("argos", "SHOW CONTINUOUS QUERIES")}
    assert names == {"argos_counts_1h", "argos_occupancy_1h", "argos_interval_1h"}
    policies = {row["name"]: row for row in influx_server.query("argos", 'SHOW RETENTION POLICIES ON "argos"')}
    assert policies["raw"]["default"] and policies["hourly"]["duration"] == "17472h0m0s"


def test_fleet_collectors_share_the_streams_by_shard_and_write_what_one_collector_per_stream_writes(
    redis_server, influx_server
):
    cameras = ["c", "cam1", "cam4", "cam5"]  # crc32 puts two in each of the 2 shards
    for camera in cameras:
        fill_stream(redis_server.url, seconds=20, camera=camera)
    # the reference: one classic collector per stream, into its own database
    for camera in cameras:
        cmd = collector_cmd(
            redis_server.url, influx_server.url, "single", "one", "--exit-when-idle", "2", "--group", "single"
        )
        cmd[cmd.index("--stream") + 1] = f"argos:s:d:{camera}"
        assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
    # the fleet: two processes, each taking its shard of every matching stream
    fleet = [
        subprocess.Popen(
            [
                *collector_cmd(
                    redis_server.url,
                    influx_server.url,
                    "fleet",
                    f"fleet{i}",
                    "--exit-when-idle",
                    "3",
                    "--group",
                    "fleet",
                ),
                "--streams",
                "argos:s:d:*",
                "--shard",
                f"{i}/2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in fleet]
    assert all(p.returncode == 0 for p in fleet), outputs
    single, shared = all_points(influx_server, "single"), all_points(influx_server, "fleet")
    assert shared == single and {dict(r)["camera"] for _, r in shared} == set(cameras)
    assert all("new stream" in out for out in outputs)  # both shards got streams
