"""Live tuning through rclpy's parameter services (what `ros2 param set` calls), with real nodes:
a line change counts from the next frame in a new epoch, announced on `counts/epoch` and in the
bridge's count and totals payloads (real Redis); refused values keep the old ones."""

import json
from pathlib import Path

import numpy as np
import pytest
import rclpy
import redis
from rcl_interfaces.srv import DescribeParameters, GetParameters, SetParameters, SetParametersAtomically
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter, parameter_value_to_python
from vision_msgs.msg import Detection2DArray

from argos_bridge.node import BridgeNode
from argos_bringup.config import load_config
from argos_bringup.graph import ComposedGraph
from argos_common.detections import Detections
from argos_common.ros.conversions import detections_to_msg
from argos_common.ros.qos import COUNTS, LATCHED, RESULTS
from argos_interfaces.msg import CountEvent, CountingEpoch
from argos_tracker.node import TrackerNode
from waiting import spin_until

pytestmark = pytest.mark.integration

EDGE = Path(__file__).resolve().parents[2] / "config" / "edge.yaml"
NS = "/cam_live"
FPS = 15
T0 = 1_700_000_000_000_000_000
# Horizontal line y = 200 across the frame; one car moving down 10 px per frame from y = 100.
TRACKER = [
    Parameter("lines.names", Parameter.Type.STRING_ARRAY, ["gate"]),
    Parameter("lines.gate.points", Parameter.Type.DOUBLE_ARRAY, [0.0, 200.0, 800.0, 200.0]),
    Parameter("anchor", Parameter.Type.STRING, "center"),
    Parameter("totals_interval_s", Parameter.Type.DOUBLE, 0.0),
]


class ParamClient:
    """A separate node calling another node's parameter services, as `ros2 param` does."""

    def __init__(self, node, executor, target: str):
        self.node, self.executor = node, executor
        self.set = node.create_client(SetParameters, f"{target}/set_parameters")
        self.atomic = node.create_client(SetParametersAtomically, f"{target}/set_parameters_atomically")
        self.get = node.create_client(GetParameters, f"{target}/get_parameters")
        self.describe = node.create_client(DescribeParameters, f"{target}/describe_parameters")
        assert spin_until(executor, lambda: all(c.service_is_ready() for c in (self.set, self.get, self.describe)))

    def _call(self, client, request):
        future = client.call_async(request)
        assert spin_until(self.executor, future.done), f"no answer from {client.srv_name}"
        return future.result()

    def set_one(self, name, ptype, value):
        request = SetParameters.Request(parameters=[Parameter(name, ptype, value).to_parameter_msg()])
        return self._call(self.set, request).results[0]

    def value(self, name):
        reply = self._call(self.get, GetParameters.Request(names=[name]))
        return parameter_value_to_python(reply.values[0])

    def descriptor(self, name):
        return self._call(self.describe, DescribeParameters.Request(names=[name])).descriptors[0]


def car(i: int) -> Detections:
    y = 100.0 + 10.0 * i
    return Detections(np.array([[380.0, y - 10.0, 420.0, y + 10.0]]), [0.9], ["car"])


def test_line_change_counts_from_the_next_frame_in_a_new_epoch(ctx, redis_server, mqtt_broker):
    tracker = TrackerNode(namespace=NS, context=ctx, parameter_overrides=TRACKER)
    bridge = BridgeNode(
        namespace=NS,
        context=ctx,
        parameter_overrides=[
            Parameter("redis_url", value=redis_server.url),
            Parameter("mqtt_url", value=mqtt_broker.url),
            Parameter("site", value="s"),
            Parameter("device", value="d"),
            Parameter("totals_interval_s", value=60.0),
        ],
    )
    peer = rclpy.create_node("live_test_peer", namespace=NS, context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    try:
        for node in (tracker, bridge, peer):
            executor.add_node(node)
        publisher = peer.create_publisher(Detection2DArray, "detections", RESULTS)
        tracks, counts, epochs = [], [], []
        peer.create_subscription(Detection2DArray, "tracks", tracks.append, RESULTS)
        peer.create_subscription(CountEvent, "counts", counts.append, COUNTS)
        peer.create_subscription(CountingEpoch, "counts/epoch", epochs.append, LATCHED)
        params = ParamClient(peer, executor, f"{NS}/tracker")
        stream = bridge.bridge.redis.key
        assert spin_until(executor, lambda: publisher.get_subscription_count() > 0 and epochs)
        assert epochs[-1].epoch == 0 and list(epochs[-1].line_ids) == ["gate"]  # latched: the start

        def frame(i):
            publisher.publish(detections_to_msg(car(i), T0 + i * 1_000_000_000 // FPS, "cam_live_optical"))
            assert spin_until(executor, lambda: len(tracks) == i + 1), f"no tracks for frame {i}"

        for i in range(16):  # y = 100 .. 250: crosses y = 200 at frame 11 (y 190 -> 210)
            frame(i)
        assert spin_until(executor, lambda: len(counts) == 1)
        assert (counts[0].line_id, counts[0].direction, counts[0].epoch, counts[0].tracker_frame) == (
            "gate",
            "out",
            0,
            12,
        )

        # the car is at y = 250: a line at y = 255 is crossed by its very next step
        result = params.set_one("lines.gate.points", Parameter.Type.DOUBLE_ARRAY, [0.0, 255.0, 800.0, 255.0])
        assert result.successful, result.reason
        assert spin_until(executor, lambda: epochs and epochs[-1].epoch == 1)
        assert tracker.stats()["counting_epoch"] == 1
        frame(16)
        assert spin_until(executor, lambda: len(counts) == 2)
        assert (counts[1].line_id, counts[1].epoch, counts[1].tracker_frame) == ("gate", 1, 17)
        for i in range(17, 22):
            frame(i)
        assert len(counts) == 2  # counted once per track and line in the new epoch too

        # refused: a rule across parameters (the config's rule), the old value stays
        result = params.set_one("low_score", Parameter.Type.DOUBLE, 0.9)
        assert not result.successful
        assert result.reason.startswith(f"{NS}/tracker.low_score: 0.9 is above high_score")
        assert params.value("low_score") == pytest.approx(0.1)
        assert tracker._pipeline.tracker.params["low_score"] == pytest.approx(0.1)
        # refused: a polyline the config validation refuses
        result = params.set_one("lines.gate.points", Parameter.Type.DOUBLE_ARRAY, [0.0, 1.0, 2.0])
        assert not result.successful and "lines.gate.points: needs an even number" in result.reason
        assert list(params.value("lines.gate.points")) == [0.0, 255.0, 800.0, 255.0]
        # refused: a line that did not exist at start has no parameters to set
        result = params.set_one("lines.names", Parameter.Type.STRING_ARRAY, ["gate", "other"])
        assert not result.successful and result.reason.startswith(f"{NS}/tracker.lines.names: 'other' is a new")
        # refused by rclpy: read-only, and its description says so
        result = params.set_one("filter", Parameter.Type.STRING, "fixed_gain")
        assert not result.successful and "read-only" in result.reason
        assert params.descriptor("filter").read_only and "read-only" in params.descriptor("filter").description
        live = params.descriptor("max_coast_s")
        assert not live.read_only and "live" in live.description
        assert tracker.stats()["counting_epoch"] == 1  # nothing refused touched the geometry
        # accepted: a live gate, from the next frame on
        result = params.set_one("max_coast_s", Parameter.Type.DOUBLE, 0.5)
        assert result.successful and tracker._pipeline.tracker.params["max_coast_s"] == 0.5

        # the bridge: count payloads carry their epoch; the totals of epoch 0 are closed when
        # epoch 1 is announced, and the final totals are epoch 1's
        executor.remove_node(bridge)
        bridge.destroy_node()
        bridge = None
        entries = redis.Redis.from_url(redis_server.url).xrange(stream)
        payloads = [(e[b"type"].decode(), json.loads(e[b"payload"])) for _, e in entries]
        count_epochs = [p["epoch"] for kind, p in payloads if kind == "count"]
        assert count_epochs == [0, 1]
        totals = [p for kind, p in payloads if kind == "totals"]
        assert [t["epoch"] for t in totals] == [0, 1]
        assert totals[0]["total"] == 1 and totals[1]["total"] == 1
        assert totals[1]["epoch_started_at"] > totals[0]["epoch_started_at"]
    finally:
        executor.shutdown()
        peer.destroy_node()
        tracker.destroy_node()
        if bridge is not None:
            bridge.destroy_node()


def test_composed_graph_serves_the_parameter_services_of_every_node(redis_server, mqtt_broker):
    """`argos run` / edge_container: the nodes share one process, and `ros2 param set` reaches each."""
    cfg = load_config(EDGE, {"bridge": {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url}})
    graph = ComposedGraph(cfg, namespace="/cam0")
    outside = Context()
    rclpy.init(context=outside)
    client = rclpy.create_node("param_client", context=outside)
    executor = SingleThreadedExecutor(context=outside)
    executor.add_node(client)
    try:
        graph.start()
        inference = ParamClient(client, executor, "/cam0/inference")
        result = inference.set_one("score_threshold", Parameter.Type.DOUBLE, 0.55)
        assert result.successful, result.reason
        thresholds = graph.nodes["inference"].detector.describe()["class_thresholds"]
        assert thresholds == pytest.approx([0.55] * len(thresholds))
        result = inference.set_one("score_threshold", Parameter.Type.DOUBLE, 1.5)
        assert not result.successful  # the range of the spec, carried by the descriptor
        assert inference.value("score_threshold") == pytest.approx(0.55)

        bridge = ParamClient(client, executor, "/cam0/bridge")
        assert bridge.set_one("totals_interval_s", Parameter.Type.DOUBLE, 2.5).successful
        assert graph.bridge.bridge.params["totals_interval_s"] == 2.5
        assert not bridge.set_one("redis_url", Parameter.Type.STRING, "redis://elsewhere:1").successful

        camera = ParamClient(client, executor, "/cam0/camera")
        assert camera.set_one("image_debug_rate_hz", Parameter.Type.DOUBLE, 2.0).successful
        assert camera.descriptor("source").read_only

        tracker = ParamClient(client, executor, "/cam0/tracker")
        assert tracker.set_one("high_score", Parameter.Type.DOUBLE, 0.6).successful
        assert graph.nodes["tracker"]._pipeline.tracker.params["high_score"] == 0.6
    finally:
        executor.shutdown()
        client.destroy_node()
        rclpy.shutdown(context=outside)
        graph.close()
