"""The bridge core against a real mosquitto, observed by an independent paho subscriber."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from argos_bridge.bridge import Bridge
from argos_common.detections import Detections
from harness.mqtt_tap import MqttTap
from waiting import wait_until

pytestmark = pytest.mark.integration

BOXES = Detections(np.array([[10, 20, 60, 80]]), [0.8], ["bus"], ["5"])
BASE = "argos/s/d/c"


def make_bridge(redis_server, mqtt_broker, **params) -> Bridge:
    values = {
        "redis_url": redis_server.url,
        "mqtt_url": mqtt_broker.url,
        "site": "s",
        "device": "d",
        "camera": "c",
        "mqtt_reconnect_max_s": 0.5,
        "totals_interval_s": 60.0,
    }
    values.update(params)
    return Bridge(values)


def status_states(tap: MqttTap) -> list[tuple[str, str, bool]]:
    return [(m.json()["state"], m.json()["reason"], m.retain) for m in tap.messages("/status")]


def test_detections_counts_and_totals_reach_a_subscriber(redis_server, mqtt_broker):
    with MqttTap(mqtt_broker.url, ["argos/#"]) as tap:
        bridge = make_bridge(redis_server, mqtt_broker, detections_every_n_frames=3, totals_interval_s=0.3)
        bridge.start()
        try:
            assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1)
            stamps = [time.time_ns() for _ in range(9)]
            for stamp in stamps:
                bridge.submit_tracks(stamp, "c_optical", BOXES)
            bridge.submit_count(
                {
                    "stamp_ns": stamps[4],
                    "line_id": "north",
                    "class_id": "bus",
                    "direction": "out",
                    "track_id": "5",
                    "speed_px_s": 33.0,
                }
            )
            assert tap.wait_for(lambda msgs: any(m.topic == f"{BASE}/totals" and m.json()["total"] == 1 for m in msgs))
        finally:
            bridge.close()

    detections = [m.json() for m in tap.messages("/detections")]
    assert [d["detection_frame_number"] for d in detections] == [0, 3, 6]  # every 3rd frame
    assert [d["stamp_ns"] for d in detections] == stamps[0::3]
    assert detections[0]["inference_results"][0] == {
        "classID": 7,
        "label": "bus",
        "confidence": 0.8,
        "coor_left": 10.0,
        "coor_top": 20.0,
        "box_width": 50.0,
        "box_height": 60.0,
        "objectID": "5",
        "unique_com_id": "c-0-0",
    }
    (count,) = [m.json() for m in tap.messages("/counts")]
    assert (count["line_id"], count["class_id"], count["direction"], count["speed_px_s"]) == (
        "north",
        "bus",
        "out",
        33.0,
    )
    assert tap.messages("/counts")[0].qos == 1
    stats = bridge.stats()
    assert stats["detections_published"] == 3 and stats["latency_samples"] == 3
    assert all(latency >= 0 for latency in bridge.latencies_ms())
    assert stats["mqtt_failed"] == 0


def test_status_is_retained_online_and_offline_after_close(redis_server, mqtt_broker):
    bridge = make_bridge(redis_server, mqtt_broker)
    bridge.start()
    try:
        assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1)
        # a subscriber arriving later still learns the state: the broker retained it
        with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as late:
            assert late.wait_for(lambda msgs: len(msgs) >= 1)
            assert status_states(late) == [("online", "connected", True)]
    finally:
        bridge.close()
    with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as after:
        assert after.wait_for(lambda msgs: len(msgs) >= 1)
        assert status_states(after) == [("offline", "shutdown", True)]


CORE_PROCESS = textwrap.dedent("""
    import sys, time
    from argos_bridge.bridge import Bridge
    bridge = Bridge({"redis_url": sys.argv[1], "mqtt_url": sys.argv[2], "site": "s", "device": "d", "camera": "c"})
    bridge.start()
    while not bridge.stats()["mqtt_connected"]:
        time.sleep(0.02)
    print("connected", flush=True)
    time.sleep(60)
""")


def test_last_will_says_offline_when_the_bridge_process_dies(redis_server, mqtt_broker):
    with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as tap:
        proc = subprocess.Popen(
            [sys.executable, "-c", CORE_PROCESS, redis_server.url, mqtt_broker.url], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout.readline().strip() == "connected"
            assert tap.wait_for(lambda msgs: len(msgs) >= 1)
            proc.kill()  # SIGKILL: no goodbye, the broker must speak for it
            proc.wait(5)
            assert tap.wait_for(lambda msgs: len(msgs) >= 2)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [(s, r) for s, r, _ in status_states(tap)] == [("online", "connected"), ("offline", "connection_lost")]
    with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as later:
        assert later.wait_for(lambda msgs: len(msgs) >= 1)
        assert status_states(later) == [("offline", "connection_lost", True)]


def test_absent_broker_at_start_spools_then_flushes_in_order(redis_server, mqtt_broker):
    mqtt_broker.stop()
    bridge = make_bridge(redis_server, mqtt_broker)
    bridge.start()
    try:
        for _ in range(5):
            bridge.submit_tracks(time.time_ns(), "f", BOXES)
        # Redis keeps receiving everything while MQTT messages wait in the spool
        assert wait_until(lambda: bridge.stats()["redis_written"] == 5 and bridge.stats()["mqtt_spooled"] == 5)
        stats = bridge.stats()
        assert stats["mqtt_spool_depth"] == 5 and stats["mqtt_published"] == 0 and stats["mqtt_connected"] == 0

        mqtt_broker.start()  # same port
        with MqttTap(mqtt_broker.url, [f"{BASE}/#"]) as tap:
            assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1, timeout_s=10.0)
            assert wait_until(lambda: bridge.stats()["mqtt_spool_depth"] == 0)
            bridge.submit_tracks(time.time_ns(), "f", BOXES)
            assert tap.wait_for(lambda msgs: sum(m.topic.endswith("/detections") for m in msgs) == 6)
            assert tap.wait_for(lambda msgs: any(m.topic.endswith("/status") for m in msgs))
        assert [d.json()["detection_frame_number"] for d in tap.messages("/detections")] == [0, 1, 2, 3, 4, 5]
        assert status_states(tap)[0][:2] == ("online", "connected")
        stats = bridge.stats()
        assert stats["mqtt_flushed"] == 5 and stats["mqtt_published"] == 1 and stats["mqtt_failed"] == 0
    finally:
        bridge.close()


def test_retained_status_carries_a_refreshed_health_summary(redis_server, mqtt_broker):
    bridge = make_bridge(redis_server, mqtt_broker, totals_interval_s=0.3)
    bridge.start()
    try:
        assert wait_until(lambda: bridge.stats()["mqtt_connected"] == 1)
        bridge.submit_tracks(time.time_ns(), "cam", BOXES)
        with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as tap:
            assert tap.wait_for(lambda msgs: any(m.json()["reason"] == "health" for m in msgs))
            refreshed = [m for m in tap.messages("/status") if m.json()["reason"] == "health"][-1]
        health = refreshed.json()["health"]
        assert refreshed.json()["state"] == "online" and health["level"] == "OK"
        assert health["queue_dropped"] == 0 and health["mqtt_spool_depth"] == 0
    finally:
        bridge.close()
    with MqttTap(mqtt_broker.url, [f"{BASE}/status"]) as after:  # the will/shutdown replaces it
        assert after.wait_for(lambda msgs: len(msgs) >= 1)
        assert status_states(after) == [("offline", "shutdown", True)]
