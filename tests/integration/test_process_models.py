"""Both process models started the way launch_ros starts them (installed executables, --ros-args,
node/namespace remaps, config/edge.yaml plus an override file, the shipped Fast DDS settings for
separate processes; argos_bringup.processes), against real redis-server and mosquitto: detections,
counts and status reach MQTT, and every process stops cleanly on SIGINT and on SIGTERM. The rate is
printed as a figure for the log, not asserted (timing on a shared machine is the benchmark's job:
`argos bench graph`)."""

import json
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml

from argos_bringup.processes import COMPOSED, SEPARATE, GraphProcesses

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
EDGE = REPO / "config" / "edge.yaml"


class Received:
    def __init__(self, port: int):
        self.messages: list[tuple[float, str, dict]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe("argos/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c, _u, msg) -> None:
        with self._lock:
            self.messages.append((time.monotonic(), msg.topic.rsplit("/", 1)[-1], json.loads(msg.payload)))

    def kinds(self) -> set[str]:
        with self._lock:
            return {k for _, k, _ in self.messages}

    def detections_since(self, t0: float) -> int:
        with self._lock:
            return sum(1 for t, k, _ in self.messages if k == "detections" and t >= t0)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def override(tmp_path, redis_server, mqtt_broker, camera=None) -> str:
    body = {"/**/bridge": {"ros__parameters": {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url}}}
    if camera:
        body["/**/camera"] = {"ros__parameters": camera}
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


@pytest.mark.parametrize("model", [COMPOSED, SEPARATE])
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_process_model_delivers_and_stops_cleanly(model, stop_signal, redis_server, mqtt_broker, tmp_path):
    received = Received(mqtt_broker.port)
    graph = GraphProcesses(model, "/cam0", [str(EDGE), override(tmp_path, redis_server, mqtt_broker)])
    graph.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not {"detections", "counts", "status"} <= received.kinds():
            assert not graph.exited(), {p.name: p.output()[-2000:] for p in graph.processes}
            time.sleep(0.25)
        t0 = time.monotonic()
        time.sleep(5.0)
        rate = received.detections_since(t0) / (time.monotonic() - t0)
        print(f"\n{model}: {rate:.1f} detections messages/s at an independent MQTT subscriber (camera 15 FPS)")
    finally:
        codes = graph.stop(stop_signal)
        received.close()
    assert {"detections", "counts", "status"} <= received.kinds(), received.kinds()
    assert any(p["total_num_obj"] > 0 for _, k, p in received.messages if k == "detections")
    assert all(code == 0 for code in codes.values()), (codes, {p.name: p.output()[-2000:] for p in graph.processes})
    assert not graph.tracebacks(), graph.tracebacks()
    assert rate > 0


def test_container_ends_cleanly_when_its_file_source_ends(redis_server, mqtt_broker, tmp_path):
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (320, 180))
    for i in range(30):
        frame = np.full((180, 320, 3), 60, np.uint8)
        cv2.rectangle(frame, (10 + 8 * i, 70), (60 + 8 * i, 110), (200, 200, 200), -1)
        writer.write(frame)
    writer.release()
    camera = {"source": str(clip), "width": 320, "height": 180}
    graph = GraphProcesses(COMPOSED, "/cam0", [str(EDGE), override(tmp_path, redis_server, mqtt_broker, camera)])
    graph.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not graph.exited():
            time.sleep(0.25)
        exited = graph.exited()
    finally:
        graph.stop()
    assert exited == {"edge_container": 0}, graph.processes[0].output()[-3000:]
    assert not graph.tracebacks()


def test_container_refuses_a_bad_parameter_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"/**/tracker": {"ros__parameters": {"low_score": 0.9, "high_score": 0.5}}}))
    graph = GraphProcesses(COMPOSED, "/cam0", [str(EDGE), str(bad)]).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not graph.exited():
            time.sleep(0.2)
    finally:
        graph.stop()
    output = graph.processes[0].output()
    assert graph.processes[0].popen.returncode == 2, output[-2000:]
    assert "error: " in output and "tracker.low_score: " in output and "Traceback" not in output
