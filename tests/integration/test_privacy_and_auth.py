"""Nobody watches who should not: the annotated RTSP stream with basic or digest authentication
refuses a client without the password (ffprobe, a real RTSP client) and serves one with it; over
RTSPS (TLS, a certificate made here) GStreamer's rtspsrc checks the server's certificate and
decodes frames, a plain or mistrusting client gets nothing; privacy masks are black in
camera/image_raw and annotated/image_raw from real nodes, while inference still gets the whole
frame."""

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from argos_camera.gst_runtime import gstreamer_available
from argos_common.endpoints import free_port
from argos_common.handoff import FanOut, LatestSlot
from argos_common.params import ConfigError
from argos_common.ros.conversions import msg_to_image
from argos_common.ros.qos import SENSOR
from harness.pki import make_ca, make_cert

pytestmark = pytest.mark.integration
needs_gst = pytest.mark.skipif(not gstreamer_available(), reason="GStreamer/PyGObject (gi) not importable")
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (ffmpeg) not installed")

PASSWORD = "s3cret-Viewer-pw"
GREY = 90  # the level of every frame served: a decoded frame must come back near it
MASK = [100.0, 80.0, 500.0, 80.0, 500.0, 300.0, 100.0, 300.0]  # a rectangle, x 100-500, y 80-300


def ffprobe(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-rw_timeout", "8000000", "-show_entries",
         "stream=width,height,codec_name", "-of", "json", url],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@contextlib.contextmanager
def serving(**kwargs):
    """An AnnotatedRtspOutput on a free loopback port, fed a grey 320x240 frame at 20 Hz."""
    from argos_camera.rtsp_out import AnnotatedRtspOutput

    out = AnnotatedRtspOutput(free_port(), rate_hz=10.0, address="127.0.0.1", **kwargs)
    out.set_size(320, 240)  # mounted at start(): a client never races the feeder's first frame to a 404
    out.start()
    stop = threading.Event()

    def feed():
        frame = np.full((240, 320, 3), GREY, np.uint8)
        while not stop.is_set():
            out.push(frame)
            time.sleep(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield out
    finally:
        stop.set()
        feeder.join()
        out.stop()


def challenge(port: int) -> str:
    """The WWW-Authenticate header the server answers an anonymous DESCRIBE with."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"DESCRIBE rtsp://127.0.0.1:{port}/annotated RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    head = reply.decode("latin-1").split("\r\n")
    assert head[0] == "RTSP/1.0 401 Unauthorized", head
    (value,) = [line.split(":", 1)[1].strip() for line in head if line.lower().startswith("www-authenticate:")]
    return value


def rtspsrc_frame(url: str, ca_file: Path | None = None, timeout_s: float = 15.0) -> tuple[np.ndarray | None, str]:
    """One decoded BGR frame from GStreamer's rtspsrc (which speaks digest and rtsps and, given a
    CA, checks the server's certificate against it), or (None, the pipeline's error)."""
    from gi.repository import Gio, Gst

    pipeline = Gst.parse_launch(
        f"rtspsrc name=src location={url} protocols=tcp latency=0 ! rtph264depay ! h264parse ! avdec_h264 "
        "! videoconvert ! video/x-raw,format=BGR ! appsink name=sink sync=false max-buffers=1 drop=true"
    )
    if ca_file is not None:
        pipeline.get_by_name("src").set_property("tls-database", Gio.TlsFileDatabase.new(str(ca_file.resolve())))
    sink, bus = pipeline.get_by_name("sink"), pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            sample = sink.emit("try-pull-sample", Gst.SECOND // 4)
            if sample is not None:
                caps = sample.get_caps().get_structure(0)
                width, height = caps.get_value("width"), caps.get_value("height")
                ok, info = sample.get_buffer().map(Gst.MapFlags.READ)
                assert ok
                frame = np.frombuffer(info.data, np.uint8)[: width * height * 3].reshape(height, width, 3).copy()
                sample.get_buffer().unmap(info)
                return frame, ""
            error = bus.pop_filtered(Gst.MessageType.ERROR)
            if error is not None:
                return None, error.parse_error()[0].message
        return None, "timed out"
    finally:
        pipeline.set_state(Gst.State.NULL)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("rtsp-pki")
    make_ca(d, "ca")
    make_ca(d, "other-ca")  # trusted by nobody: its client must refuse the server
    make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    return d


@needs_gst
@needs_ffprobe
@pytest.mark.parametrize("auth", ["digest", "basic"])
def test_rtsp_with_credentials_refuses_a_client_without_the_password(auth):
    with serving(credentials=("viewer", PASSWORD), auth=auth) as out:
        assert PASSWORD not in out.url and out.url.startswith("rtsp://viewer@127.0.0.1:")
        offered = challenge(out.port)
        # only the configured scheme is offered: a digest server never invites a basic password
        assert offered.split()[0] == auth.capitalize(), offered
        base = f"127.0.0.1:{out.port}/annotated"
        for url in (f"rtsp://{base}", f"rtsp://viewer:wrong-password@{base}", f"rtsp://intruder:{PASSWORD}@{base}"):
            refused = ffprobe(url)
            assert refused.returncode != 0 and "401" in refused.stderr, (url, refused.stderr)
        assert out.stats()["rtsp_medias_prepared"] == 0  # nothing was built or encoded for them
        allowed = ffprobe(f"rtsp://viewer:{PASSWORD}@{base}")
        assert allowed.returncode == 0, allowed.stderr
        (stream,) = json.loads(allowed.stdout)["streams"]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 240)


@needs_gst
def test_rtsps_with_digest_serves_only_a_client_that_trusts_the_certificate_and_has_the_password(pki):
    tls = (str(pki / "server.pem"), str(pki / "server.key"))
    with serving(credentials=("viewer", PASSWORD), auth="digest", tls=tls) as out:
        assert out.url.startswith("rtsps://viewer@127.0.0.1:") and PASSWORD not in out.url
        base = f"127.0.0.1:{out.port}/annotated"
        frame, error = rtspsrc_frame(f"rtsps://viewer:{PASSWORD}@{base}", pki / "ca.pem")
        assert frame is not None, error
        assert frame.shape == (240, 320, 3) and abs(float(frame.mean()) - GREY) < 8
        for url, ca, why in (
            (f"rtsps://viewer:{PASSWORD}@{base}", pki / "other-ca.pem", "certificate not signed by the trusted CA"),
            (f"rtsps://viewer:wrong-password@{base}", pki / "ca.pem", "wrong password"),
            (f"rtsps://{base}", pki / "ca.pem", "no password"),
            (f"rtsp://viewer:{PASSWORD}@{base}", None, "plain RTSP to the TLS port"),
        ):
            frame, error = rtspsrc_frame(url, ca, timeout_s=10.0)
            assert frame is None, why
        if shutil.which("ffprobe"):  # ffmpeg speaks rtsps + digest too (without checking the certificate)
            assert ffprobe(f"rtsps://viewer:{PASSWORD}@{base}").returncode == 0
            assert "401" in ffprobe(f"rtsps://viewer:wrong-password@{base}").stderr


@needs_gst
def test_the_annotator_serves_rtsps_from_its_parameters_and_names_a_bad_certificate(ctx, pki, tmp_path):
    from argos_camera.annotator_node import AnnotatorNode

    password_file = tmp_path / "rtsp_password"
    password_file.write_text(PASSWORD + "\n")
    port = free_port()
    params = [
        Parameter("rtsp_port", value=port),
        Parameter("rtsp_user", value="viewer"),
        Parameter("rtsp_password_file", value=str(password_file)),
        Parameter("rtsp_tls_cert_file", value=str(pki / "server.pem")),
        Parameter("rtsp_tls_key_file", value=str(pki / "server.key")),
    ]
    node = AnnotatorNode(context=ctx, namespace="cam0", parameter_overrides=params)
    try:
        assert node.rtsp is not None and node.rtsp.url == f"rtsps://viewer@127.0.0.1:{port}/annotated"
        assert node.rtsp.auth == "digest"  # the default scheme
    finally:
        node.destroy_node()
    for cert in (password_file, tmp_path / "missing.pem"):  # not a certificate; no file
        wrong = [*params[:3], Parameter("rtsp_tls_cert_file", value=str(cert)), params[4]]
        with pytest.raises(ConfigError, match=f"rtsp_tls_cert_file: TLS certificate '{cert}'") as raised:
            AnnotatorNode(context=ctx, namespace="cam0", parameter_overrides=wrong)
        assert PASSWORD not in str(raised.value)  # files are named, never shown


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
