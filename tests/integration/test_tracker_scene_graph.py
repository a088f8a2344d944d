"""The tracker node in a ROS graph on the clean synthetic intersection: ground-truth-derived
detections published on `detections` frame by frame; the CountEvents it publishes must equal
the scene's ground-truth crossings exactly, per line, lane-free class and direction."""

import time
from collections import Counter

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from vision_msgs.msg import Detection2DArray

from argos_bringup.evaluation.counting import config_lines, truth_to_detections
from argos_common.classes import DEFAULT_CLASSES
from argos_common.detections import Detections
from argos_common.lines import parse_lines
from argos_common.ros.conversions import detections_to_msg
from argos_common.ros.qos import COUNTS, RESULTS
from argos_interfaces.msg import CountEvent
from argos_sim.scene import IntersectionScene
from argos_tracker.node import TrackerNode
from waiting import spin_until

pytestmark = pytest.mark.integration

FPS = 15.0
SCENE_S = 40.0
NS = "/cam_scene"
START_NS = 1_800_000_000_000_000_000


def line_parameters():
    out = []
    for name, value in config_lines().items():
        kind = Parameter.Type.STRING_ARRAY if isinstance(value[0], str) else Parameter.Type.DOUBLE_ARRAY
        out.append(Parameter(name, kind, value))
    return out


def test_node_reproduces_ground_truth_counts_of_the_clean_scene(ctx):
    scene = IntersectionScene(1280, 720, FPS, 7, DEFAULT_CLASSES, parse_lines(config_lines()), render=False)
    tracker = TrackerNode(namespace=NS, context=ctx, parameter_overrides=line_parameters())
    peer = rclpy.create_node("scene_feeder", namespace=NS, context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    try:
        executor.add_node(tracker)
        executor.add_node(peer)
        publisher = peer.create_publisher(Detection2DArray, "detections", RESULTS)
        tracks, counts = [], []
        peer.create_subscription(Detection2DArray, "tracks", tracks.append, RESULTS)
        peer.create_subscription(CountEvent, "counts", counts.append, COUNTS)
        assert spin_until(
            executor, lambda: publisher.get_subscription_count() > 0 and peer.count_publishers("counts") > 0
        )
        time.sleep(0.2)
        executor.spin_once(timeout_sec=0.1)

        truth = Counter()
        frames = int(SCENE_S * FPS)
        for i in range(1, frames + 1):
            _, gt = scene.next_frame()
            truth.update((c.crossing.line_id, c.label, c.crossing.direction) for c in gt.crossings)
            stamp_ns = START_NS + int(round(i / FPS * 1e9))
            publisher.publish(detections_to_msg(truth_to_detections(gt.objects), stamp_ns, "cam_scene_optical"))
            assert spin_until(executor, lambda: len(tracks) == i), f"no tracks for frame {i}"
        # a frame long after the scene: every track ends, crossings still settling are decided
        publisher.publish(
            detections_to_msg(Detections.empty(), START_NS + int((SCENE_S + 30.0) * 1e9), "cam_scene_optical")
        )
        assert spin_until(executor, lambda: len(tracks) == frames + 1)
        spin_until(
            executor,
            lambda: sum(Counter((c.line_id, c.class_id, c.direction) for c in counts).values()) >= sum(truth.values()),
            timeout_s=2.0,
        )

        counted = Counter((c.line_id, c.class_id, c.direction) for c in counts)
        assert sum(truth.values()) >= 30  # a real test: dozens of crossings
        assert counted == truth
        assert len({(c.track_id, c.line_id) for c in counts}) == len(counts)  # once per track and line
    finally:
        executor.shutdown()
        peer.destroy_node()
        tracker.destroy_node()
