"""The rclpy bridge node fed by a test publisher on `tracks` and `counts`, with real Redis and mosquitto."""

import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import rclpy
import redis
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from vision_msgs.msg import Detection2DArray

from argos_bridge.node import BridgeNode
from argos_common.detections import Detections
from argos_common.params import ConfigError
from argos_common.ros.conversions import detections_to_msg, make_header
from argos_common.ros.qos import COUNTS, RESULTS
from argos_interfaces.msg import CountEvent
from harness.mqtt_tap import MqttTap
from waiting import wait_until

pytestmark = pytest.mark.integration

BOXES = Detections(np.array([[10, 20, 60, 80], [200, 50, 260, 120]]), [0.8, 0.7], ["van", "car"], ["3", "4"])


def overrides(redis_server, mqtt_broker, **extra):
    values = {
        "redis_url": redis_server.url,
        "mqtt_url": mqtt_broker.url,
        "site": "s",
        "device": "d",
        "camera": "camX",
        "totals_interval_s": 60.0,
        **extra,
    }
    return [Parameter(k, value=v) for k, v in values.items()]


def count_msg(stamp_ns: int, track_id: str) -> CountEvent:
    return CountEvent(
        header=make_header(stamp_ns, "camX_optical"),
        tracker_frame=12,
        line_id="south",
        lane="northbound",
        class_id="van",
        direction=CountEvent.DIRECTION_IN,
        track_id=track_id,
        speed_px_s=float("nan"),
        speed_m_s=4.5,
    )


def test_node_bridges_tracks_and_counts_to_redis_and_mqtt(ctx, redis_server, mqtt_broker):
    node = BridgeNode(namespace="/camX", context=ctx, parameter_overrides=overrides(redis_server, mqtt_broker))
    feeder = rclpy.create_node("feeder", namespace="/camX", context=ctx)
    tracks_pub = feeder.create_publisher(Detection2DArray, "tracks", RESULTS)
    counts_pub = feeder.create_publisher(CountEvent, "counts", COUNTS)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    tap = MqttTap(mqtt_broker.url, ["argos/s/d/camX/#"]).start()
    try:
        assert wait_until(lambda: tracks_pub.get_subscription_count() == 1 and counts_pub.get_subscription_count() == 1)
        assert wait_until(lambda: node.stats()["mqtt_connected"] == 1)
        stamps = [time.time_ns() + i for i in range(10)]
        for stamp in stamps:
            tracks_pub.publish(detections_to_msg(BOXES, stamp, "camX_optical"))
        counts_pub.publish(count_msg(stamps[2], "3"))
        counts_pub.publish(count_msg(stamps[7], "4"))
        assert wait_until(lambda: node.stats()["frames"] == 10 and node.stats()["counts"] == 2)
        assert tap.wait_for(
            lambda msgs: (
                sum(m.topic.endswith("/detections") for m in msgs) == 10
                and sum(m.topic.endswith("/counts") for m in msgs) == 2
            )
        )
        assert wait_until(lambda: node.stats()["redis_written"] == 12)
    finally:
        executor.shutdown()
        node.destroy_node()
        feeder.destroy_node()
        said_goodbye = tap.wait_for(
            lambda msgs: any(m.topic.endswith("/status") and m.json()["state"] == "offline" for m in msgs)
        )
        tap.close()

    stats = node.stats()
    assert stats["queue_dropped"] == 0 and stats["mqtt_failed"] == 0 and stats["redis_failed"] == 0
    assert len(node.latencies_ms()) == 10

    with redis.Redis.from_url(redis_server.url, decode_responses=True) as client:
        entries = client.xrange("argos:s:d:camX")
    kinds = [f["type"] for _, f in entries]
    assert kinds.count("tracks") == 10 and kinds.count("count") == 2 and kinds[-1] == "totals"
    first = json.loads(entries[0][1]["payload"])
    assert first["stamp_ns"] == stamps[0] and first["frame_id"] == "camX_optical"
    assert [(r["label"], r["objectID"]) for r in first["inference_results"]] == [("van", "3"), ("car", "4")]
    # the box survives the trip through Detection2D (centre + size) unchanged
    assert (first["inference_results"][1]["coor_left"], first["inference_results"][1]["box_width"]) == (200.0, 60.0)

    counts = [m.json() for m in tap.messages("/counts")]
    assert [c["track_id"] for c in counts] == ["3", "4"]
    assert counts[0]["stamp_ns"] == stamps[2] and counts[0]["frame_number"] == 12 and counts[0]["lane"] == "northbound"
    assert counts[0]["speed_px_s"] is None and counts[0]["speed_m_s"] == 4.5
    assert [m.topic for m in tap.messages("/detections")][:1] == ["argos/s/d/camX/detections"]
    assert said_goodbye
    assert [(m.json()["state"], m.json()["reason"]) for m in tap.messages("/status")] == [
        ("online", "connected"),
        ("offline", "shutdown"),
    ]


def test_out_of_range_parameter_raises_config_error_naming_it(ctx):
    with pytest.raises(ConfigError) as err:
        BridgeNode(context=ctx, parameter_overrides=[Parameter("stream_maxlen", value=10)])
    assert err.value.key == "/bridge.stream_maxlen"


def test_bad_url_raises_config_error_naming_it(ctx):
    with pytest.raises(ConfigError) as err:
        BridgeNode(context=ctx, parameter_overrides=[Parameter("mqtt_url", value="http://broker:1883")])
    assert err.value.key == "/bridge.mqtt_url"


def test_main_prints_one_error_line_and_exits_2_on_bad_config():
    proc = subprocess.run(
        [sys.executable, "-m", "argos_bridge.node", "--ros-args", "-p", "detections_every_n_frames:=0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: /bridge.detections_every_n_frames: ")


def test_main_runs_and_interrupt_closes_cleanly(redis_server, mqtt_broker):
    with MqttTap(mqtt_broker.url, ["argos/s/d/camX/status"]) as tap:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "argos_bridge.node",
                "--ros-args",
                *[a for p in overrides(redis_server, mqtt_broker) for a in ("-p", f"{p.name}:={p.value}")],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert tap.wait_for(lambda msgs: any(m.json()["state"] == "online" for m in msgs), timeout_s=10.0)
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, stderr
        assert tap.wait_for(lambda msgs: any(m.json()["reason"] == "shutdown" for m in msgs)), (
            stderr,
            [m.payload for m in tap.messages()],
        )
    assert "Traceback" not in stderr
