"""CameraNode in a real rclpy graph: topics under a namespace, the frame slot, end of a file."""

import time

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray

from argos_camera.node import CameraNode
from argos_common.handoff import LatestSlot
from argos_common.ros.qos import COUNTS, RESULTS, SENSOR
from argos_interfaces.msg import CountEvent
from argos_sim.scene import PIXELS_PER_METER

pytestmark = pytest.mark.integration

LINES = {
    "west": [420.0, 290.0, 420.0, 360.0, 420.0, 430.0],
    "east": [860.0, 430.0, 860.0, 360.0, 860.0, 290.0],
    "north": [710.0, 200.0, 640.0, 200.0, 570.0, 200.0],
    "south": [570.0, 520.0, 640.0, 520.0, 710.0, 520.0],
}


def line_parameters():
    # typed explicitly: the list parameters are declared with empty defaults
    params = [Parameter("lines.names", Parameter.Type.STRING_ARRAY, list(LINES))]
    params += [Parameter(f"lines.{name}.points", Parameter.Type.DOUBLE_ARRAY, points) for name, points in LINES.items()]
    return params


@pytest.fixture
def ctx():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


def spin_until(executor, done, timeout_s=12.0, between=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done():
        executor.spin_once(timeout_sec=0.01)
        if between:
            between()
    return done()


def watch_synthetic_camera(ctx, done, *extra_params):
    """A synthetic CameraNode (/cam0) with a listener on its topics and a consumer of its slot,
    spun until `done(got)`; returns (camera, got) after the nodes are gone."""
    slot = LatestSlot()
    camera = CameraNode(
        context=ctx,
        namespace="cam0",
        frame_slot=slot,
        parameter_overrides=[
            Parameter("source", value="synthetic://intersection?density=3.0"),
            Parameter("realtime", value=False),
            *extra_params,
        ],
    )
    listener = rclpy.create_node("listener", context=ctx)
    got: dict[str, list] = {"image": [], "info": [], "truth": [], "counts": [], "frames": []}
    listener.create_subscription(Image, "/cam0/camera/image_raw", got["image"].append, SENSOR)
    listener.create_subscription(CameraInfo, "/cam0/camera/camera_info", got["info"].append, SENSOR)
    listener.create_subscription(Detection2DArray, "/cam0/camera/ground_truth", got["truth"].append, RESULTS)
    listener.create_subscription(CountEvent, "/cam0/camera/ground_truth/counts", got["counts"].append, COUNTS)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    executor.add_node(listener)

    def take():
        frame = slot.take()
        if frame is not None:
            got["frames"].append(frame)

    try:
        assert spin_until(executor, lambda: done(got), between=take)
    finally:
        executor.shutdown()
        camera.destroy_node()
        listener.destroy_node()
    return camera, got


def test_synthetic_camera_publishes_images_and_truth_and_fills_the_slot(ctx):
    camera, got = watch_synthetic_camera(ctx, lambda got: got["image"] and len(got["truth"]) >= 20)

    image = got["image"][-1]
    assert (image.width, image.height, image.encoding) == (1280, 720, "bgr8")
    assert image.header.frame_id == "cam0_optical"
    assert got["info"][-1].width == 1280
    truth = got["truth"][-1]
    assert truth.detections and all(d.id.startswith("gt-") for d in truth.detections)
    frames = got["frames"]
    assert len(frames) >= 20
    numbers = [f.capture_index for f in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert frames[0].image.shape == (720, 1280, 3) and "ground_truth" in frames[0].extras
    stats = camera.stats()
    assert stats["state"] == "running" and stats["frames"] >= len(frames) and stats["images_published"] > 0
    assert stats["source"].startswith("synthetic://intersection")


def test_synthetic_camera_publishes_ground_truth_counts(ctx):
    camera, got = watch_synthetic_camera(
        ctx, lambda got: got["image"] and got["counts"] and len(got["truth"]) >= 20, *line_parameters()
    )

    image = got["image"][-1]
    assert (image.width, image.height, image.encoding) == (1280, 720, "bgr8")
    assert image.header.frame_id == "cam0_optical"
    assert got["info"][-1].width == 1280
    truth = got["truth"][-1]
    assert truth.detections and all(d.id.startswith("gt-") for d in truth.detections)
    event = got["counts"][0]
    assert event.line_id in LINES and event.direction in ("in", "out")
    assert event.track_id.startswith("gt-") and event.class_id
    assert event.speed_px_s > 0 and event.speed_m_s == pytest.approx(event.speed_px_s / PIXELS_PER_METER)
    assert event.header.stamp.sec > 0
    frames = got["frames"]
    assert len(frames) >= 20
    numbers = [f.capture_index for f in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert frames[0].image.shape == (720, 1280, 3) and "ground_truth" in frames[0].extras
    stats = camera.stats()
    assert stats["state"] == "running" and stats["frames"] >= len(frames)
    assert stats["source"].startswith("synthetic://intersection")
    assert sum(camera.ground_truth_totals().values()) >= len(got["counts"])


def test_auto_image_publishing_stays_quiet_without_subscribers(ctx):
    slot = LatestSlot()
    camera = CameraNode(
        context=ctx,
        frame_slot=slot,
        parameter_overrides=[
            Parameter("realtime", value=False),
            Parameter("width", value=320),
            Parameter("height", value=180),
        ],
    )
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    try:
        assert spin_until(executor, lambda: camera.stats()["frames"] >= 10, between=slot.take)
    finally:
        executor.shutdown()
        camera.destroy_node()
    assert camera.stats()["images_published"] == 0


def test_file_camera_finishes_at_end_of_file(ctx, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(8):
        writer.write(np.full((48, 64, 3), i * 30, np.uint8))
    writer.release()
    camera = CameraNode(
        context=ctx,
        parameter_overrides=[Parameter("source", value=f"file://{path}"), Parameter("image_publish", value="always")],
    )
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    try:
        assert spin_until(executor, camera.finished.is_set)
    finally:
        executor.shutdown()
        camera.destroy_node()
    stats = camera.stats()
    assert stats["frames"] == 8 and stats["state"] == "finished" and stats["images_published"] == 8
    assert camera.ground_truth_totals() == {}
