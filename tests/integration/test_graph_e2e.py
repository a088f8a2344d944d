"""The whole composed graph with real redis-server and mosquitto: messages on every topic,
entries in the Redis stream, MQTT messages at an independent subscriber."""

import json
import threading
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import rclpy
import redis
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray

from argos_bringup.config import load_config
from argos_bringup.graph import ComposedGraph
from argos_common.ros import qos
from argos_interfaces.msg import CountEvent

pytestmark = pytest.mark.integration
EDGE = Path(__file__).resolve().parents[2] / "config" / "edge.yaml"
RUN_SECONDS = 14.0


class MqttCollector:
    def __init__(self, port):
        self.messages = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("argos/#", qos=1)
        self.client.loop_start()

    def _on_message(self, _c, _u, msg):
        with self.lock:
            self.messages.append((msg.topic, msg.payload, msg.retain))

    def of_kind(self, kind):
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/" + kind)]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def test_composed_graph_end_to_end(redis_server, mqtt_broker):
    cfg = load_config(EDGE, {"bridge": {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url}})
    collector = MqttCollector(mqtt_broker.port)
    graph = ComposedGraph(cfg, namespace="/cam0")
    seen = Counter()
    stamps = {"image": set(), "detections": set()}
    try:
        probe = rclpy.create_node("probe", namespace="/cam0", context=graph.context)

        def note(name, key=None):
            def cb(msg):
                seen[name] += 1
                if key:
                    stamps[key].add((msg.header.stamp.sec, msg.header.stamp.nanosec))

            return cb

        probe.create_subscription(Image, "camera/image_raw", note("camera/image_raw", "image"), qos_profile_sensor_data)
        probe.create_subscription(CameraInfo, "camera/camera_info", note("camera/camera_info"), qos_profile_sensor_data)
        probe.create_subscription(Detection2DArray, "camera/ground_truth", note("camera/ground_truth"), qos.RESULTS)
        probe.create_subscription(
            CountEvent, "camera/ground_truth/counts", note("camera/ground_truth/counts"), qos.COUNTS
        )
        probe.create_subscription(Detection2DArray, "detections", note("detections", "detections"), qos.RESULTS)
        probe.create_subscription(Detection2DArray, "tracks", note("tracks"), qos.RESULTS)
        probe.create_subscription(CountEvent, "counts", note("counts"), qos.COUNTS)
        graph.add_node(probe)
        graph.start()
        deadline = time.monotonic() + RUN_SECONDS
        while time.monotonic() < deadline and not graph.spin_error:
            time.sleep(0.2)
        assert graph.spin_error is None
        graph.stop_camera()
        time.sleep(1.5)
        stats = graph.stats()
    finally:
        graph.close()
        collector.close()

    for topic in (
        "camera/image_raw",
        "camera/camera_info",
        "camera/ground_truth",
        "camera/ground_truth/counts",
        "detections",
        "tracks",
        "counts",
    ):
        assert seen[topic] > 0, f"no message on {topic}: {dict(seen)}"
    # detections carry the capture stamps of the frames (header.stamp along the chain)
    assert stamps["detections"] & stamps["image"]
    assert stats["camera"]["frames"] >= 0.8 * 15 * RUN_SECONDS

    client = redis.Redis.from_url(redis_server.url)
    (stream,) = [k.decode() for k in client.scan_iter("argos:*")]
    entries = client.xrange(stream)
    kinds = Counter(fields[b"type"].decode() for _, fields in entries)
    assert kinds["tracks"] > 0 and kinds["count"] > 0

    detections = collector.of_kind("detections")
    counts = collector.of_kind("counts")
    assert detections and counts
    sample = detections[-1]
    for key in ("detection_frame_number", "total_num_obj", "inference_results", "schema_version", "stamp_ns"):
        assert key in sample
    if sample["inference_results"]:
        obj = sample["inference_results"][0]
        assert set(obj) >= {
            "classID",
            "label",
            "confidence",
            "coor_left",
            "coor_top",
            "box_width",
            "box_height",
            "objectID",
            "unique_com_id",
        }
    assert seen["counts"] == len(counts)
