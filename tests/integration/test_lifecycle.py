"""Managed nodes with real rclpy: camera, inference and bridge go through configure, activate,
deactivate, activate, cleanup and shutdown; frames stop while inactive; the bridge keeps what it
holds (its queue and spool) across deactivate and, on disk, across cleanup."""

import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from vision_msgs.msg import Detection2DArray

from argos_bridge.node import BridgeNode
from argos_camera.node import CameraNode
from argos_common.counts import CountRecord
from argos_common.detections import Detections
from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.ros.conversions import count_record_to_msg, detections_to_msg
from argos_common.ros.managed import ACTIVE, FINALIZED, INACTIVE, UNCONFIGURED
from argos_common.ros.qos import COUNTS, RESULTS
from argos_inference.node import InferenceNode
from argos_interfaces.msg import CountEvent
from waiting import spin_until

pytestmark = pytest.mark.integration


def spin_for(executor, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.02)


def test_camera_frames_only_while_active(ctx):
    slot = LatestSlot()
    camera = CameraNode(
        namespace="/lc",
        context=ctx,
        frame_slot=slot,
        autostart=False,
        parameter_overrides=[
            Parameter("fps", value=30.0),
            Parameter("width", value=320),
            Parameter("height", value=240),
        ],
    )
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    taken = []
    try:
        assert camera.state == UNCONFIGURED and camera.source is None
        camera.trigger_configure()
        assert camera.state == INACTIVE and camera.source is not None  # the source is open
        spin_for(executor, 0.5)
        assert camera.capture.frames == 0  # configured, not producing

        camera.trigger_activate()
        assert spin_until(executor, lambda: camera.capture.frames >= 5)
        camera.trigger_deactivate()
        assert camera.state == INACTIVE
        frames = camera.capture.frames
        spin_for(executor, 0.5)
        assert camera.capture.frames == frames  # paused
        camera.trigger_activate()
        assert spin_until(executor, lambda: camera.capture.frames >= frames + 5)  # the same source goes on
        frame = slot.take()
        taken.append(frame)
        assert isinstance(frame, Frame) and frame.image.shape == (240, 320, 3)

        camera.trigger_deactivate()
        camera.trigger_cleanup()
        assert camera.state == UNCONFIGURED and camera.stats()["state"] == "unconfigured"
        camera.trigger_configure()  # opens the source again
        camera.trigger_activate()
        assert spin_until(executor, lambda: camera.capture.frames >= 3)
        camera.trigger_shutdown()
        assert camera.state == FINALIZED
    finally:
        executor.shutdown()
        camera.destroy_node()


def test_inference_takes_frames_only_while_active(ctx):
    slot = LatestSlot()
    inference = InferenceNode(
        namespace="/lc",
        context=ctx,
        frame_slot=slot,
        autostart=False,
        parameter_overrides=[Parameter("engine", value="motion")],
    )
    peer = rclpy.create_node("lc_peer", namespace="/lc", context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(inference)
    executor.add_node(peer)
    got = []
    peer.create_subscription(Detection2DArray, "detections", got.append, RESULTS)
    image = np.zeros((240, 320, 3), np.uint8)
    try:
        assert inference.detector is None
        inference.trigger_configure()
        assert inference.state == INACTIVE and inference.detector is not None  # the model is loaded
        slot.put(Frame(image, 1, "f"))
        spin_for(executor, 0.3)
        assert inference.stats()["frames_processed"] == 0 and not slot.empty()  # waits in the slot
        inference.trigger_activate()
        assert spin_until(executor, lambda: inference.stats()["frames_processed"] == 1 and len(got) == 1)
        inference.trigger_deactivate()
        slot.put(Frame(image, 2, "f"))
        spin_for(executor, 0.3)
        assert inference.stats()["frames_processed"] == 1
        inference.trigger_activate()
        assert spin_until(executor, lambda: inference.stats()["frames_processed"] == 2)
        inference.trigger_deactivate()
        inference.trigger_cleanup()
        assert inference.state == UNCONFIGURED and inference.detector is None  # released
        inference.trigger_shutdown()
        assert inference.state == FINALIZED
    finally:
        executor.shutdown()
        peer.destroy_node()
        inference.destroy_node()


def test_bridge_keeps_its_buffers_while_inactive_and_its_spool_across_cleanup(ctx, redis_server, tmp_path):
    bridge = BridgeNode(
        namespace="/lc",
        context=ctx,
        autostart=False,
        parameter_overrides=[
            Parameter("redis_url", value=redis_server.url),
            Parameter("mqtt_url", value="mqtt://127.0.0.1:1"),  # no broker: MQTT messages spool
            Parameter("spool_dir", value=str(tmp_path)),
            Parameter("totals_interval_s", value=600.0),
        ],
    )
    peer = rclpy.create_node("lc_bridge_peer", namespace="/lc", context=ctx)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(bridge)
    executor.add_node(peer)
    counts = peer.create_publisher(CountEvent, "counts", COUNTS)
    tracks = peer.create_publisher(Detection2DArray, "tracks", RESULTS)

    def publish(n, start):
        for i in range(n):
            record = CountRecord("north", "", "car", "in", str(start + i), 1_700_000_000_000_000_000 + i)
            counts.publish(count_record_to_msg(record, "f"))
        tracks.publish(detections_to_msg(Detections.empty(), 1, "f"))

    try:
        assert bridge.stats() == {"lifecycle_state": UNCONFIGURED}
        bridge.trigger_configure()
        assert bridge.state == INACTIVE
        assert spin_until(executor, lambda: counts.get_subscription_count() > 0)
        publish(3, 0)
        spin_for(executor, 0.5)
        assert bridge.bridge.stats()["counts"] == 0  # inactive: not taken
        assert bridge.ignored_while_inactive == 4

        bridge.trigger_activate()
        assert bridge.state == ACTIVE
        publish(3, 10)
        assert spin_until(executor, lambda: bridge.bridge.stats()["mqtt_spool_depth"] >= 3)
        assert spin_until(executor, lambda: bridge.bridge.stats()["redis_written"] >= 4)
        core = bridge.bridge
        spooled = core.stats()["mqtt_spool_depth"]

        bridge.trigger_deactivate()
        spin_for(executor, 0.5)
        assert bridge.bridge is core and core.stats()["mqtt_spool_depth"] == spooled  # kept
        bridge.trigger_activate()
        assert bridge.bridge is core and core.stats()["mqtt_spool_depth"] == spooled

        bridge.trigger_deactivate()
        bridge.trigger_cleanup()  # closes the connections; the spool stays on disk
        assert bridge.state == UNCONFIGURED
        bridge.trigger_configure()
        assert bridge.bridge is not core and bridge.bridge.stats()["mqtt_spool_depth"] >= spooled
        bridge.trigger_shutdown()
        assert bridge.state == FINALIZED
    finally:
        executor.shutdown()
        peer.destroy_node()
        bridge.destroy_node()
