"""/diagnostics: every node of the composed graph reports, the bridge with the movement matrix of
its open bin; a stopped broker turns the bridge's status to WARN with the reason."""

import json
import threading
import time
from pathlib import Path

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray

from argos_bringup.config import load_config
from argos_bringup.graph import ComposedGraph
from argos_bringup.status import movement_matrix_table

pytestmark = pytest.mark.integration
EDGE = Path(__file__).resolve().parents[2] / "config" / "edge.yaml"


def test_every_node_reports_and_a_stopped_broker_warns(redis_server, mqtt_broker):
    cfg = load_config(EDGE, {"bridge": {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url}})
    graph = ComposedGraph(cfg, namespace="/cam0")
    latest, lock = {}, threading.Lock()

    def on_diagnostics(msg):
        with lock:
            for s in msg.status:
                latest[s.name] = (s.level[0], s.message, {kv.key: kv.value for kv in s.values})

    def wait_for(predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with lock:
                if predicate(dict(latest)):
                    return True
            time.sleep(0.2)
        return False

    try:
        probe = rclpy.create_node("diag_probe", context=graph.context)
        probe.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 50)
        graph.add_node(probe)
        graph.start()
        names = {"/cam0/camera", "/cam0/inference", "/cam0/tracker", "/cam0/bridge"}
        assert wait_for(lambda s: names <= set(s) and all(s[n][0] == 0 for n in names), 15), latest
        with lock:
            assert latest["/cam0/bridge"][2]["mqtt_connected"] == "1"
        # the running movement matrix of the open bin, as `argos status` reads it (JSON value)
        assert wait_for(lambda s: json.loads(s["/cam0/bridge"][2]["open_bin"]), 30), latest["/cam0/bridge"]
        with lock:
            values = latest["/cam0/bridge"][2]
        table = movement_matrix_table("/cam0/bridge", values)
        assert table is not None and values["open_bin_start"].endswith(":00.000Z")
        movements = {key.rsplit(" ", 1)[0] for key in json.loads(values["open_bin"])}
        assert movements <= set(table.columns[0].cells)
        mqtt_broker.stop()
        assert wait_for(
            lambda s: s["/cam0/bridge"][0] >= 1 and "MQTT broker unreachable" in s["/cam0/bridge"][1], 15
        ), latest
        with lock:
            assert latest["/cam0/camera"][0] == 0 and latest["/cam0/inference"][0] == 0  # the rest is unaffected
    finally:
        graph.close()
