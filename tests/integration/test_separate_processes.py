"""The launch-file graph without launch_ros: each node its own process, every one reading
config/edge.yaml through rcl's own --params-file parser (what launch_ros hands the nodes)."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
EDGE = REPO / "config" / "edge.yaml"
NODES = [
    ("argos_camera", "camera_node", "camera"),
    ("argos_inference", "inference_node", "inference"),
    ("argos_tracker", "tracker_node", "tracker"),
    ("argos_bridge", "bridge_node", "bridge"),
]


def executable(package: str, name: str) -> str:
    for prefix in os.environ["AMENT_PREFIX_PATH"].split(os.pathsep):
        path = Path(prefix) / "lib" / package / name
        if path.is_file():
            return str(path)
    raise AssertionError(f"{package}/{name} not installed (lib/{package}/{name} on AMENT_PREFIX_PATH)")


def test_nodes_as_separate_processes_with_the_params_file(redis_server, mqtt_broker, tmp_path):
    received = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, m: received.append((m.topic.rsplit("/", 1)[-1], json.loads(m.payload)))
    sub.connect("127.0.0.1", mqtt_broker.port)
    sub.subscribe("argos/#", qos=1)
    sub.loop_start()
    procs = []
    try:
        for package, exe, name in NODES:
            args = [
                executable(package, exe),
                "--ros-args",
                "--params-file",
                str(EDGE),
                "-r",
                f"__node:={name}",
                "-r",
                "__ns:=/cam0",
            ]
            if name == "bridge":
                # the launch file's mechanism: a second file under the same key, later file wins
                override = tmp_path / "bridge_override.yaml"
                override.write_text(
                    yaml.safe_dump(
                        {
                            "/**/bridge": {
                                "ros__parameters": {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url}
                            }
                        }
                    )
                )
                args += ["--params-file", str(override)]
            procs.append(
                subprocess.Popen(
                    args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
                )
            )
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            kinds = {k for k, _ in received}
            if {"detections", "counts"} <= kinds and any(p["total_num_obj"] for k, p in received if k == "detections"):
                break
            assert all(p.poll() is None for p in procs), "a node process exited"
            time.sleep(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
        outputs = []
        for p in procs:
            try:
                outputs.append(p.communicate(timeout=10)[0])
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                outputs.append(p.communicate()[0])
        sub.loop_stop()
        sub.disconnect()
    kinds = {k for k, _ in received}
    assert {"detections", "counts", "status"} <= kinds, (kinds, [o[-1500:] for o in outputs])
    assert any(p["total_num_obj"] > 0 for k, p in received if k == "detections")
    assert all(p.returncode in (0, -signal.SIGINT) for p in procs), [o[-1500:] for o in outputs]
