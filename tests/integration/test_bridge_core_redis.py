"""The bridge core against a real redis-server (and a real mosquitto): stream layout, trimming, outages."""

import json
import time

import numpy as np
import pytest
import redis

from argos_bridge.bridge import Bridge
from argos_common.detections import Detections
from waiting import wait_until

pytestmark = pytest.mark.integration

BOXES = Detections(np.array([[10, 20, 60, 80], [100, 100, 140, 190]]), [0.8, 0.6], ["car", "truck"], ["5", "9"])


def count_event(i):
    return {
        "stamp_ns": time.time_ns(),
        "line_id": "west",
        "lane": "eastbound",
        "class_id": "car",
        "direction": "in",
        "track_id": str(i),
        "tracker_frame": i,
    }


@pytest.fixture
def client(redis_server):
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as c:
        yield c


def test_tracks_counts_and_totals_become_stream_entries(redis_server, mqtt_broker, client):
    bridge = Bridge(
        {
            "redis_url": redis_server.url,
            "mqtt_url": mqtt_broker.url,
            "site": "s",
            "device": "d",
            "camera": "c",
            "totals_interval_s": 60.0,
        }
    )
    bridge.start()
    stamps = [time.time_ns() + i for i in range(20)]
    for i, stamp in enumerate(stamps):
        bridge.submit_tracks(stamp, "c_optical", BOXES)
        if i % 10 == 0:
            bridge.submit_count(count_event(i))
    bridge.close()  # drains the queue and writes the final totals

    key = bridge.stats()["stream"]
    assert key == "argos:s:d:c"
    entries = client.xrange(key)
    assert client.xlen(key) == len(entries) == 20 + 2 + 1
    assert bridge.stats()["redis_written"] == 23 and bridge.stats()["redis_failed"] == 0
    for _, fields in entries:
        assert set(fields) == {"type", "payload", "stamp_ns"}
        assert json.loads(fields["payload"])["stamp_ns"] == int(fields["stamp_ns"])

    tracks = [json.loads(f["payload"]) for _, f in entries if f["type"] == "tracks"]
    assert [t["detection_frame_number"] for t in tracks] == list(range(20))  # in order, none lost
    assert [t["stamp_ns"] for t in tracks] == stamps
    assert tracks[0]["total_num_obj"] == 2 and tracks[0]["inference_results"][1]["objectID"] == "9"
    counts = [json.loads(f["payload"]) for _, f in entries if f["type"] == "count"]
    assert [c["track_id"] for c in counts] == ["0", "10"] and [c["count_seq"] for c in counts] == [0, 1]
    assert entries[-1][1]["type"] == "totals"
    totals = json.loads(entries[-1][1]["payload"])
    assert totals["total"] == 2 and totals["totals"][0]["line_id"] == "west"


def test_totals_are_written_every_interval(redis_server, mqtt_broker, client):
    bridge = Bridge({"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url, "totals_interval_s": 0.1})
    bridge.start()
    try:
        bridge.submit_count(count_event(1))
        key = bridge.stats()["stream"]
        assert wait_until(lambda: sum(f["type"] == "totals" for _, f in client.xrange(key)) >= 3)
    finally:
        bridge.close()
    totals = [json.loads(f["payload"]) for _, f in client.xrange(key) if f["type"] == "totals"]
    assert all(t["total"] == 1 for t in totals)
    assert sum(t["interval_total"] for t in totals) == 1  # the one count falls in exactly one interval


def test_small_maxlen_keeps_the_stream_bounded(redis_server, mqtt_broker, client):
    bridge = Bridge(
        {
            "redis_url": redis_server.url,
            "mqtt_url": mqtt_broker.url,
            "stream_maxlen": 100,
            "queue_size": 5000,
            "totals_interval_s": 60.0,
        }
    )
    bridge.start()
    for _ in range(2000):
        bridge.submit_tracks(time.time_ns(), "f", BOXES)
    bridge.close()
    stats = bridge.stats()
    assert stats["redis_written"] == 2001 and stats["queue_dropped"] == 0
    length = client.xlen(stats["stream"])
    # approximate trimming removes whole radix-tree nodes (100 entries by default)
    assert 100 <= length <= 200
    last = json.loads(client.xrevrange(stats["stream"], count=2)[1][1]["payload"])
    assert last["detection_frame_number"] == 1999


def test_redis_outage_is_buffered_in_memory_and_flushed_in_order(redis_server, mqtt_broker, client):
    bridge = Bridge(
        {
            "redis_url": redis_server.url,
            "mqtt_url": mqtt_broker.url,
            "redis_retry_max_s": 0.5,
            "redis_timeout_s": 0.5,
            "totals_interval_s": 60.0,
            "redis_buffer_size": 8,
        }
    )
    bridge.start()
    try:
        for _ in range(5):
            bridge.submit_tracks(time.time_ns(), "f", BOXES)
        assert wait_until(lambda: bridge.stats()["redis_written"] == 5)

        redis_server.stop()
        for _ in range(10):
            bridge.submit_tracks(time.time_ns(), "f", BOXES)  # must neither raise nor block
        # 10 entries into a buffer of 8: the two oldest are dropped and counted
        assert wait_until(lambda: bridge.stats()["queue_depth"] == 0 and bridge.stats()["redis_buffered"] == 10)
        stats = bridge.stats()
        assert stats["redis_connected"] == 0 and stats["redis_failed"] >= 1
        assert stats["redis_buffer_depth"] == 8 and stats["redis_dropped"] == 2

        redis_server.start()  # same port, empty (no persistence)
        assert wait_until(lambda: bridge.stats()["redis_buffer_depth"] == 0, timeout_s=10.0)
        bridge.submit_tracks(time.time_ns(), "f", BOXES)
        assert wait_until(lambda: bridge.stats()["redis_written"] == 5 + 8 + 1)
        stats = bridge.stats()
        assert stats["redis_connected"] == 1 and stats["redis_flushed"] == 8
    finally:
        bridge.close()
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as fresh:
        entries = fresh.xrange(bridge.stats()["stream"])
    frames = [
        json.loads(fields["payload"])["detection_frame_number"] for _, fields in entries if fields["type"] == "tracks"
    ]
    assert frames == list(range(7, 16))  # 5..6 dropped from the full buffer, the rest in order
