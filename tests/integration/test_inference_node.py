"""The real InferenceNode in an isolated rclpy context: frames in through the in-process slot or
camera/image_raw, Detection2DArray out on `detections`, stamped with each frame's capture time."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.ros.conversions import image_to_msg, msg_to_detections, ns_from_stamp
from argos_common.ros.qos import RESULTS, SENSOR
from argos_inference.node import InferenceNode
from waiting import spin_until

pytestmark = pytest.mark.integration

FRAMES = 24
WARMUP = 5
FRAME_ID = "cam_test_optical"
FIRST_STAMP_NS = 1_700_000_000_123_456_789
QUICK_PARAMS = [Parameter("motion.warmup_frames", value=WARMUP), Parameter("motion.history", value=50)]


def make_frames():
    """A textured 320x240 background with one car-sized rectangle driving right."""
    rng = np.random.default_rng(5)
    background = cv2.GaussianBlur(rng.integers(50, 200, (240, 320, 3), dtype=np.uint8), (0, 0), 2.0)
    frames = []
    for t in range(FRAMES):
        image = background.copy()
        x = 20 + 8 * t
        cv2.rectangle(image, (x, 100), (x + 39, 115), (40, 40, 210), -1)
        noise = rng.standard_normal(image.shape, dtype=np.float32) * 3.0
        image = np.clip(image + noise, 0, 255).astype(np.uint8)
        frames.append(Frame(image, FIRST_STAMP_NS + t * 66_666_667, t, FRAME_ID))
    return frames


@pytest.fixture
def namespace():
    return f"/inference_test_{uuid.uuid4().hex[:8]}"  # other tests may run on the same ROS domain


class DetectionsCollector:
    def __init__(self, context, namespace):
        self.node = rclpy.create_node("detections_probe", namespace=namespace, context=context)
        self.messages: list[Detection2DArray] = []
        self.node.create_subscription(Detection2DArray, "detections", self.messages.append, RESULTS)

    def stamps(self):
        return [ns_from_stamp(m.header.stamp) for m in self.messages]


def wait_for(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def assert_detects_the_car(frames, messages):
    later = [msg_to_detections(m) for m in messages[WARMUP + 8 :]]  # first-frame ghost has faded
    assert later
    for frame, detections in zip(frames[WARMUP + 8 :], later):
        x = 20 + 8 * frame.capture_index
        assert len(detections) == 1 and detections.labels == ["car"]
        assert np.allclose(detections.boxes[0], [x, 100, x + 40, 116], atol=3)


def test_slot_input_publishes_every_frame_with_its_capture_stamp(ros_context, namespace):
    slot: LatestSlot[Frame] = LatestSlot()
    node = InferenceNode(namespace=namespace, context=ros_context, frame_slot=slot, parameter_overrides=QUICK_PARAMS)
    probe = DetectionsCollector(ros_context, namespace)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    executor.add_node(probe.node)
    try:
        assert spin_until(executor, lambda: node._publisher.get_subscription_count() > 0)
        frames = make_frames()
        for i, frame in enumerate(frames):
            slot.put(frame)
            assert spin_until(executor, lambda: len(probe.messages) > i), f"no detections for frame {i}"
        assert probe.stamps() == [f.stamp_ns for f in frames]
        assert {m.header.frame_id for m in probe.messages} == {FRAME_ID}
        assert all(len(m.detections) == 0 for m in probe.messages[:WARMUP])  # published even when empty
        assert_detects_the_car(frames, probe.messages)
        stats = node.stats()
        assert stats["frames_received"] == stats["frames_processed"] == FRAMES
        assert stats["detections_total"] == sum(len(m.detections) for m in probe.messages)
        assert stats["engine"] == "motion" and stats["infer_ms_mean"] > 0.0 and stats["infer_ms_p95"] > 0.0
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.node.destroy_node()


def test_slot_fed_by_a_camera_thread_under_a_multithreaded_executor(ros_context, namespace):
    """The composed process: the camera thread puts frames as fast as it likes; inference keeps
    the latest, so each published stamp is a frame's stamp, in order, none twice."""
    slot: LatestSlot[Frame] = LatestSlot()
    node = InferenceNode(namespace=namespace, context=ros_context, frame_slot=slot, parameter_overrides=QUICK_PARAMS)
    probe = DetectionsCollector(ros_context, namespace)
    executor = MultiThreadedExecutor(num_threads=2, context=ros_context)
    executor.add_node(node)
    executor.add_node(probe.node)
    frames = [
        Frame(f.image, FIRST_STAMP_NS + i, i, FRAME_ID)  # distinct stamps across the repeats
        for i, f in enumerate(make_frames() * 4)
    ]

    def camera():
        for frame in frames:
            slot.put(frame)
            time.sleep(0.002)

    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        assert wait_for(lambda: node._publisher.get_subscription_count() > 0)
        producer = threading.Thread(target=camera)
        producer.start()
        producer.join()

        def settled():
            stats = node.stats()
            return (
                stats["frames_processed"] + stats["frames_dropped"] == len(frames)
                and len(probe.messages) == stats["frames_processed"]
            )

        assert wait_for(settled), node.stats()
        stamps = probe.stamps()
        assert stamps == sorted(set(stamps)) and set(stamps) <= {f.stamp_ns for f in frames}
        assert stamps[-1] == frames[-1].stamp_ns  # the newest frame is never the one dropped
        assert node.stats()["frames_received"] == len(frames)
    finally:
        executor.shutdown()
        spinner.join(timeout=5)
        node.destroy_node()
        probe.node.destroy_node()


def test_image_topic_input_publishes_detections(ros_context, namespace):
    node = InferenceNode(namespace=namespace, context=ros_context, parameter_overrides=QUICK_PARAMS)
    probe = DetectionsCollector(ros_context, namespace)
    camera = rclpy.create_node("fake_camera_publisher", namespace=namespace, context=ros_context)
    images = camera.create_publisher(Image, "camera/image_raw", SENSOR)
    executor = SingleThreadedExecutor(context=ros_context)
    for n in (node, probe.node, camera):
        executor.add_node(n)
    try:
        assert spin_until(
            executor, lambda: images.get_subscription_count() > 0 and node._publisher.get_subscription_count() > 0
        )
        frames = make_frames()
        for i, frame in enumerate(frames):
            images.publish(image_to_msg(frame.image, frame.stamp_ns, frame.frame_id))
            assert spin_until(executor, lambda: len(probe.messages) > i), f"no detections for frame {i}"
        assert probe.stamps() == [f.stamp_ns for f in frames]
        assert_detects_the_car(frames, probe.messages)
        stats = node.stats()
        assert stats["frames_received"] == stats["frames_processed"] == FRAMES
    finally:
        executor.shutdown()
        for n in (node, probe.node, camera):
            n.destroy_node()


@pytest.mark.parametrize(
    "argument, key",
    [
        ("engine:=yolo", "engine"),
        ("motion.scale:=0.0", "motion.scale"),
        ("motion.history:=2.5", "motion.history"),
        ("motion.class_labels:=[car, airplane, bus, van, truck, bus, bicycle]", "motion.class_labels"),
    ],
)
def test_entry_point_reports_bad_configuration_in_one_line(argument, key):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from argos_inference.node import main; main()",
            "--ros-args",
            "-r",
            f"__ns:=/inference_cli_{uuid.uuid4().hex[:8]}",
            "-p",
            argument,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"inference.{key}: " in lines[0], result.stderr


def test_a_failed_shared_batch_counts_the_lost_frame_of_every_camera(ros_context, namespace):
    slots = {f"{namespace}/a": LatestSlot(), f"{namespace}/b": LatestSlot()}
    # the bundled DNN: one detector shared by two cameras
    model = str(Path(__file__).resolve().parents[2] / "models" / "argos-traffic-v1-int8.onnx")
    node = InferenceNode(
        namespace=namespace,
        context=ros_context,
        frame_slots=slots,
        parameter_overrides=[Parameter("engine", value="onnxruntime"), Parameter("model.path", value=model)],
    )
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    try:
        unreadable = np.zeros((240, 320, 3), np.float32)  # not uint8: the batch fails in preprocessing
        for slot in slots.values():
            slot.put(Frame(unreadable, FIRST_STAMP_NS, 0, FRAME_ID))
        assert spin_until(executor, lambda: node.stats()["errors"] >= 2)
        stats = node.stats()
        assert stats["errors"] == 2 and stats["errors_by_camera"] == {ns: 1 for ns in slots}
        assert stats["frames_processed"] == 0
    finally:
        executor.shutdown()
        node.destroy_node()
