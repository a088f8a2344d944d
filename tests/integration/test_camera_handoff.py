"""Composed hand-off and CameraInfo: the inference node receives the camera's very array object;
camera_info carries the calibration; the debug rate caps camera/image_raw."""

import subprocess
import threading
import time

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from argos_camera.gst_runtime import gstreamer_available
from argos_camera.node import CameraNode
from argos_common.handoff import LatestSlot
from argos_common.ros.qos import SENSOR
from argos_inference.node import InferenceNode

pytestmark = pytest.mark.integration
needs_gst = pytest.mark.skipif(
    not gstreamer_available(), reason="GStreamer/PyGObject (gi) not importable; scripts/setup.sh installs them"
)

CALIBRATION = """\
image_width: 320
image_height: 240
camera_name: cam0
camera_matrix: {rows: 3, cols: 3, data: [300.0, 0.0, 160.0, 0.0, 300.0, 120.0, 0.0, 0.0, 1.0]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [-0.2, 0.05, 0.001, 0.0, 0.0]}
rectification_matrix: {rows: 3, cols: 3, data: [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]}
projection_matrix: {rows: 3, cols: 4, data: [300.0, 0, 160.0, 0, 0, 300.0, 120.0, 0, 0, 0, 1.0, 0]}
"""


@pytest.fixture
def ctx():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
            "-frames:v",
            "45",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


class RecordingDetector:
    """Wraps the inference node's real detector and remembers the arrays it was given."""

    def __init__(self, detector):
        self.detector = detector
        self.images = []

    def detect(self, images):
        self.images.extend(images)
        return self.detector.detect(images)

    def __getattr__(self, name):
        return getattr(self.detector, name)


def spin_in_threads(ctx, nodes):
    executors = []
    for node in nodes:
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        threading.Thread(target=ex.spin, daemon=True).start()
        executors.append(ex)
    return executors


@needs_gst
def test_inference_receives_the_captured_array_itself(ctx, clip):
    slot = LatestSlot()
    inference = InferenceNode(context=ctx, frame_slot=slot)
    recorder = RecordingDetector(inference.detector)
    inference.detector = recorder
    camera = CameraNode(
        context=ctx,
        frame_slot=slot,
        parameter_overrides=[Parameter("source", value=f"file://{clip}"), Parameter("realtime", value=False)],
    )
    produced = {}
    read = camera.source.read

    def remember(*args):  # wraps the real GStreamer read to learn which arrays it produced
        item = read(*args)
        if item is not None:
            produced[id(item[0])] = item[0]
        return item

    camera.source.read = remember
    executors = spin_in_threads(ctx, [inference, camera])
    try:
        deadline = time.monotonic() + 20
        while not camera.finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert camera.finished.is_set()
        time.sleep(0.3)
    finally:
        for ex in executors:
            ex.shutdown()
        camera.destroy_node()
        inference.destroy_node()
    received = [img for img in recorder.images if id(img) in produced]
    assert len(received) >= 40  # realtime=false: the camera waits for inference, so (almost) all arrive
    assert all(produced[id(img)] is img for img in received)  # the same object: no copy, no serialization
    assert camera.stats()["images_published"] == 0  # nobody subscribed: nothing was serialized


@needs_gst
def test_camera_info_carries_the_calibration_and_debug_rate_caps_images(ctx, clip, tmp_path):
    calibration = tmp_path / "cam0.yaml"
    calibration.write_text(CALIBRATION)
    camera = CameraNode(
        context=ctx,
        namespace="cam0",
        parameter_overrides=[
            Parameter("source", value=f"file://{clip}"),
            Parameter("calibration_file", value=str(calibration)),
            Parameter("image_publish", value="always"),
            Parameter("image_debug_rate_hz", value=5.0),
        ],
    )
    listener = rclpy.create_node("listener", context=ctx)
    infos, images = [], []
    listener.create_subscription(CameraInfo, "/cam0/camera/camera_info", infos.append, SENSOR)
    listener.create_subscription(Image, "/cam0/camera/image_raw", images.append, SENSOR)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(camera)
    executor.add_node(listener)
    try:
        deadline = time.monotonic() + 20
        while not camera.finished.is_set() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        for _ in range(50):
            executor.spin_once(timeout_sec=0.01)
    finally:
        executor.shutdown()
        camera.destroy_node()
        listener.destroy_node()
    assert camera.finished.is_set() and camera.stats()["frames"] == 45
    info = infos[-1]
    assert (info.width, info.height, info.distortion_model) == (320, 240, "plumb_bob")
    assert list(info.k) == [300.0, 0.0, 160.0, 0.0, 300.0, 120.0, 0.0, 0.0, 1.0]
    assert list(info.d) == [-0.2, 0.05, 0.001, 0.0, 0.0] and info.p[0] == 300.0
    published = camera.stats()["images_published"]
    assert 13 <= published <= 16  # 45 frames = 3 s of video at 15 FPS, capped at 5 Hz
    assert images and np.frombuffer(images[0].data, np.uint8).size == 320 * 240 * 3


def test_bad_calibration_file_stops_the_node_naming_the_key(ctx, tmp_path):
    from argos_common.params import ConfigError

    path = tmp_path / "bad.yaml"
    path.write_text("image_width: 0\n")
    with pytest.raises(ConfigError) as err:
        CameraNode(context=ctx, parameter_overrides=[Parameter("calibration_file", value=str(path))])
    assert err.value.key == "/camera.calibration_file"
