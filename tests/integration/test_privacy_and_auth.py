"""Nobody watches who should not: the annotated RTSP stream with basic authentication refuses a
client without the password (ffprobe, a real RTSP client) and serves one with it; privacy masks
are black in camera/image_raw and annotated/image_raw from real nodes, while inference still gets
the whole frame."""

import json
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from argos_camera.gst_runtime import gstreamer_available
from argos_common.endpoints import free_port
from argos_common.handoff import FanOut, LatestSlot
from argos_common.ros.conversions import msg_to_image
from argos_common.ros.qos import SENSOR

pytestmark = pytest.mark.integration
needs_gst = pytest.mark.skipif(not gstreamer_available(), reason="GStreamer/PyGObject (gi) not importable")

PASSWORD = "s3cret-Viewer-pw"
MASK = [100.0, 80.0, 500.0, 80.0, 500.0, 300.0, 100.0, 300.0]  # a rectangle, x 100-500, y 80-300


def ffprobe(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-rw_timeout", "8000000", "-show_entries",
         "stream=width,height,codec_name", "-of", "json", url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@needs_gst
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (ffmpeg) not installed")
def test_rtsp_with_credentials_refuses_a_client_without_the_password():
    from argos_camera.rtsp_out import AnnotatedRtspOutput

    port = free_port()
    out = AnnotatedRtspOutput(port, rate_hz=10.0, address="127.0.0.1", credentials=("viewer", PASSWORD)).start()
    stop = threading.Event()

    def feed():
        frame = np.full((240, 320, 3), 90, np.uint8)
        while not stop.is_set():
            out.push(frame)
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        assert PASSWORD not in out.url and out.url.startswith("rtsp://viewer@127.0.0.1:")
        base = f"127.0.0.1:{port}/annotated"
        for url in (f"rtsp://{base}", f"rtsp://viewer:wrong-password@{base}", f"rtsp://intruder:{PASSWORD}@{base}"):
            refused = ffprobe(url)
            assert refused.returncode != 0 and "401" in refused.stderr, (url, refused.stderr)
        assert out.stats()["rtsp_medias_prepared"] == 0  # nothing was built or encoded for them
        allowed = ffprobe(f"rtsp://viewer:{PASSWORD}@{base}")
        assert allowed.returncode == 0, allowed.stderr
        (stream,) = json.loads(allowed.stdout)["streams"]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 240)
    finally:
        stop.set()
        feeder.join()
        out.stop()


def mask_parameters():
    return [
        Parameter("privacy_masks.names", Parameter.Type.STRING_ARRAY, ["house"]),
        Parameter("privacy_masks.house.points", Parameter.Type.DOUBLE_ARRAY, MASK),
    ]


def inside(image: np.ndarray) -> np.ndarray:
    return image[80:301, 100:501]


def test_masks_are_black_in_every_published_image_but_inference_sees_the_frame(ctx):
    from rclpy.node import Node

    from argos_camera.annotator_node import AnnotatorNode
    from argos_camera.node import CameraNode

    inference_slot, annotator_slot = LatestSlot(), LatestSlot()
    camera = CameraNode(
        context=ctx,
        namespace="cam0",
        frame_slot=FanOut(inference_slot, annotator_slot),
        parameter_overrides=[Parameter("source", value="synthetic://intersection"), *mask_parameters()],
    )
    annotator = AnnotatorNode(
        context=ctx, namespace="cam0", frame_slot=annotator_slot, parameter_overrides=mask_parameters()
    )
    probe = Node("probe", context=ctx)
    got: dict[str, np.ndarray] = {}
    probe.create_subscription(Image, "/cam0/camera/image_raw", lambda m: got.setdefault("raw", msg_to_image(m)), SENSOR)
    probe.create_subscription(
        Image, "/cam0/annotated/image_raw", lambda m: got.setdefault("annotated", msg_to_image(m)), SENSOR
    )
    executor = SingleThreadedExecutor(context=ctx)
    for node in (camera, annotator, probe):
        executor.add_node(node)
    try:
        deadline = time.monotonic() + 20
        whole = None
        while time.monotonic() < deadline and not ({"raw", "annotated"} <= got.keys() and whole is not None):
            executor.spin_once(timeout_sec=0.02)
            frame = inference_slot.take()
            if frame is not None:
                whole = frame.image
    finally:
        executor.shutdown()
        for node in (probe, annotator, camera):
            node.destroy_node()
    assert {"raw", "annotated"} <= got.keys(), "no image published"
    for name in ("raw", "annotated"):
        image = got[name]
        assert (inside(image) == 0).all(), name
        outside = image.copy()
        outside[80:301, 100:501] = 0
        assert outside.any(), f"{name}: the rest of the frame is still there"
    assert whole is not None and inside(whole).any(), "inference gets the unmasked frame"
