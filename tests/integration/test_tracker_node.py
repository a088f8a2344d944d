"""The real tracker node: Detection2DArray in on `detections`, tracks and CountEvents out."""

import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from vision_msgs.msg import Detection2DArray

from argos_common.detections import Detections
from argos_common.params import ConfigError
from argos_common.ros.conversions import detections_to_msg, ns_from_stamp
from argos_common.ros.qos import COUNTS, RESULTS
from argos_interfaces.msg import CountEvent
from argos_tracker.node import TrackerNode
from waiting import spin_until

pytestmark = pytest.mark.integration

FPS = 15
NS = "/cam_test"
# Vertical line x = 400 from y = 300 down to y = 500: walking it, the right-hand side is x < 400,
# so moving east is "in" and moving west is "out".
LINE_OVERRIDES = [
    Parameter("lines.names", Parameter.Type.STRING_ARRAY, ["gate"]),
    Parameter("lines.gate.points", Parameter.Type.DOUBLE_ARRAY, [400.0, 300.0, 400.0, 500.0]),
    Parameter("lines.gate.lanes", Parameter.Type.STRING_ARRAY, ["main"]),
    Parameter("anchor", Parameter.Type.STRING, "center"),
    Parameter("meters_per_pixel", Parameter.Type.DOUBLE, 0.111),
]


def test_node_tracks_objects_across_a_line_and_publishes_count_events(ctx):
    tracker = TrackerNode(namespace=NS, context=ctx, parameter_overrides=LINE_OVERRIDES)
    peer = rclpy.create_node("tracker_test_peer", namespace=NS, context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    try:
        executor.add_node(tracker)
        executor.add_node(peer)
        publisher = peer.create_publisher(Detection2DArray, "detections", RESULTS)
        tracks, counts = [], []
        peer.create_subscription(Detection2DArray, "tracks", tracks.append, RESULTS)
        peer.create_subscription(CountEvent, "counts", counts.append, COUNTS)
        assert spin_until(
            executor, lambda: publisher.get_subscription_count() > 0 and tracker.count_publishers("detections") > 0
        )
        time.sleep(0.2)  # let discovery settle for the peer's subscriptions too
        executor.spin_once(timeout_sec=0.1)

        rng = np.random.default_rng(4)
        frames = 40
        for i in range(frames):
            east = np.array([333 + 7 * i - 20, 391, 333 + 7 * i + 20, 409]) + rng.normal(0, 1.0, 4)
            west = np.array([470 - 6 * i - 20, 441, 470 - 6 * i + 20, 459]) + rng.normal(0, 1.0, 4)
            dets = Detections(np.array([east, west]), [0.9, 0.8], ["car", "bus"])
            stamp_ns = 1_700_000_000_000_000_000 + i * 1_000_000_000 // FPS
            publisher.publish(detections_to_msg(dets, stamp_ns, "cam_test_optical"))
            assert spin_until(executor, lambda: len(tracks) == i + 1), f"no tracks for frame {i}"
            assert ns_from_stamp(tracks[-1].header.stamp) == stamp_ns
            assert tracks[-1].header.frame_id == "cam_test_optical"
        spin_until(executor, lambda: len(counts) >= 2, timeout_s=2.0)

        # a new track is published from its second matched frame (report_hits 2), before it counts
        assert [len(m.detections) for m in tracks[:3]] == [0, 2, 2]
        final = {d.results[0].hypothesis.class_id: d.id for d in tracks[-1].detections}
        assert set(final) == {"car", "bus"} and final["car"] != final["bus"]
        ids_over_time = {(d.results[0].hypothesis.class_id, d.id) for m in tracks for d in m.detections}
        assert ids_over_time == {("car", final["car"]), ("bus", final["bus"])}  # no id switches

        by_class = {c.class_id: c for c in counts}
        assert len(counts) == 2 and set(by_class) == {"car", "bus"}
        car, bus = by_class["car"], by_class["bus"]
        assert (car.line_id, car.lane, car.direction, car.track_id) == ("gate", "main", "in", final["car"])
        assert (bus.line_id, bus.lane, bus.direction, bus.track_id) == ("gate", "main", "out", final["bus"])
        assert car.speed_px_s == pytest.approx(7 * FPS, rel=0.15)
        assert car.speed_m_s == pytest.approx(car.speed_px_s * 0.111)
        # counted in the frame whose anchor step crossed x = 400 (car: 333 + 7 i > 400 from message
        # i = 10 on, which is the node's frame 11: it numbers received frames from 1)
        assert car.tracker_frame == 11
        assert ns_from_stamp(car.header.stamp) == 1_700_000_000_000_000_000 + 10 * 1_000_000_000 // FPS

        assert tracker.totals() == {("gate", "main", "car", "in"): 1, ("gate", "main", "bus", "out"): 1}
        stats = tracker.stats()
        assert stats["frames"] == frames and stats["counts_total"] == 2
        assert stats["confirmed_tracks"] == 2 and stats["update_ms_mean"] > 0
    finally:
        executor.shutdown()
        peer.destroy_node()
        tracker.destroy_node()


def test_inconsistent_parameters_raise_config_error_naming_the_key(ctx):
    with pytest.raises(ConfigError) as err:
        TrackerNode(
            namespace=NS,
            context=ctx,
            parameter_overrides=[
                Parameter("low_score", Parameter.Type.DOUBLE, 0.8),
                Parameter("high_score", Parameter.Type.DOUBLE, 0.5),
            ],
        )
    assert err.value.key == f"{NS}/tracker.low_score"
    with pytest.raises(ConfigError) as err:
        TrackerNode(
            context=ctx,
            parameter_overrides=[
                Parameter("lines.names", Parameter.Type.STRING_ARRAY, ["bad"]),
                Parameter("lines.bad.points", Parameter.Type.DOUBLE_ARRAY, [1.0, 2.0, 3.0]),
            ],
        )
    assert err.value.key == "/tracker.lines.bad.points"


def test_main_prints_one_error_line_and_exits_2_on_bad_config():
    proc = subprocess.run(
        [sys.executable, "-m", "argos_tracker.node", "--ros-args", "-p", "anchor:=top_left"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: /tracker.anchor: ")
