"""Watching a unit in Foxglove, checked with a real WebSocket client (the `websockets` package)
against the server of a running `argos run --foxglove 0`: the subprotocol is negotiated, the
advertised channels carry the names and schemas the shipped layout uses, messages arrive on the
image, annotation, counts and totals channels, and a received JPEG decodes with the privacy mask
black. (A Foxglove app screenshot cannot be taken offline; decoding what the app would receive is
the check.) Also: the JPEG ROS topics of the annotator, and who may connect."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import ssl
import struct
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import websockets
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from harness.pki import make_ca, make_cert

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LAYOUT = REPO / "config" / "foxglove" / "argos-edge.json"
# the SDK speaks foxglove.sdk.v1, the successor of foxglove.websocket.v1; the app offers both
SUBPROTOCOLS = ["foxglove.websocket.v1", "foxglove.sdk.v1"]
MASK = [100.0, 80.0, 500.0, 80.0, 500.0, 300.0, 100.0, 300.0]  # x 100-500, y 80-300 at 1280x720
EXPECTED = {  # topic -> (message encoding, schema name)
    "/cam0/camera/image_raw/compressed": ("protobuf", "foxglove.CompressedImage"),
    "/cam0/annotated/image_raw/compressed": ("protobuf", "foxglove.CompressedImage"),
    "/cam0/annotations": ("protobuf", "foxglove.ImageAnnotations"),
    "/cam0/counts": ("json", "argos.CountEvent"),
    "/cam0/totals": ("json", "argos.CountTotals"),
}


def mask_config(tmp_path: Path) -> Path:
    path = tmp_path / "masks.yaml"
    path.write_text(
        f"/**:\n  ros__parameters:\n    privacy_masks:\n      names: [house]\n      house:\n        points: {MASK}\n"
    )
    return path


def protobuf_class(channel: dict):
    """The message class of an advertised protobuf channel, from its FileDescriptorSet."""
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(channel["schema"]))
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(channel["schemaName"]))


def assert_masked(image: np.ndarray) -> None:
    """Black inside the mask (JPEG ringing allowed a few pixels in), content outside it."""
    assert image.shape[:2] == (720, 1280), image.shape
    inside = image[80 + 4 : 300 - 4, 100 + 4 : 500 - 4].astype(int)
    assert inside.max() <= 24 and inside.mean() < 2.0, (inside.max(), inside.mean())
    outside = image.copy()
    outside[70:311, 90:511] = 0
    assert outside.mean() > 20, "the rest of the frame is still there"


def start_run(tmp_path: Path, *extra: str, duration: int = 60) -> subprocess.Popen:
    exe = shutil.which("argos")
    assert exe, "`argos` is not on PATH after `source scripts/env.sh`"
    return subprocess.Popen(
        [exe, "run", "--duration", str(duration), "--progress-interval", "30", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_url(proc: subprocess.Popen, timeout_s: float = 90.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"argos run ended early: {proc.wait()} {proc.stderr.read()[-3000:]}")
        if line.strip().startswith("foxglove:"):
            return line.split()[1]
    raise AssertionError("argos run never printed its foxglove URL")


async def watch(url: str, want: set[str], timeout_s: float) -> tuple[str, dict, dict[str, list]]:
    """Connect, subscribe to every advertised channel, collect messages until each topic of
    `want` has one. (subprotocol, advertised channels by topic, decoded messages by topic)."""
    async with websockets.connect(url, subprotocols=SUBPROTOCOLS, max_size=None, open_timeout=10) as ws:
        channels: dict[str, dict] = {}
        deadline = time.monotonic() + 20
        while not EXPECTED.keys() <= channels.keys() and time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if message["op"] == "advertise":
                channels.update({c["topic"]: c for c in message["channels"]})
        by_id = {sub_id: channels[t] for sub_id, t in enumerate(sorted(channels))}
        await ws.send(
            json.dumps(
                {
                    "op": "subscribe",
                    "subscriptions": [{"id": i, "channelId": c["id"]} for i, c in by_id.items()],
                }
            )
        )
        classes = {c["topic"]: protobuf_class(c) for c in channels.values() if c["encoding"] == "protobuf"}
        received: dict[str, list] = {}
        deadline = time.monotonic() + timeout_s
        while not want <= received.keys() and time.monotonic() < deadline:
            data = await asyncio.wait_for(ws.recv(), timeout=10)
            if isinstance(data, str):
                continue  # status, further advertisements
            opcode, sub_id, _log_time = struct.unpack_from("<BIQ", data)
            if opcode != 1:
                continue
            topic = by_id[sub_id]["topic"]
            payload = data[13:]
            decoded = classes[topic].FromString(payload) if topic in classes else json.loads(payload)
            received.setdefault(topic, []).append(decoded)
        return ws.subprotocol, channels, received


@pytest.mark.slow
def test_argos_run_serves_the_graph_to_a_foxglove_client(tmp_path):
    proc = start_run(tmp_path, "--config", str(REPO / "config" / "edge.yaml"), "--config", str(mask_config(tmp_path)),
                     "--foxglove", "0")  # fmt: skip
    try:
        url = wait_for_url(proc)
        assert url.startswith("ws://127.0.0.1:") and not url.endswith(":0")
        subprotocol, channels, got = asyncio.run(watch(url, set(EXPECTED), timeout_s=55))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert subprotocol == "foxglove.sdk.v1"
    assert {t: (c["encoding"], c["schemaName"]) for t, c in channels.items() if t in EXPECTED} == EXPECTED
    assert set(EXPECTED) <= got.keys(), f"no message on {set(EXPECTED) - got.keys()}"
    for topic in ("/cam0/camera/image_raw/compressed", "/cam0/annotated/image_raw/compressed"):
        message = got[topic][0]
        assert message.format == "jpeg" and message.timestamp.seconds > 0
        assert_masked(cv2.imdecode(np.frombuffer(message.data, np.uint8), cv2.IMREAD_COLOR))
    # boxes (closed outlines) with "class #id" labels, and the four counting lines of edge.yaml
    annotations = [a for a in got["/cam0/annotations"] if any(t.text.count("#") for t in a.texts)]
    assert annotations, "no annotation with a tracked box arrived"
    texts = {t.text for t in annotations[-1].texts}
    assert {"west", "east", "north", "south"} <= texts and any(" #" in t for t in texts)
    count = got["/cam0/counts"][0]
    assert count["direction"] in ("in", "out") and count["line_id"] in ("west", "east", "north", "south")
    totals = got["/cam0/totals"][-1]
    assert set(totals["by_line"]) >= {"west", "east", "north", "south"} and totals["total"] >= 0
    # the shipped layout shows exactly these topics
    assert layout_topics() == set(EXPECTED)


def layout_topics() -> set[str]:
    """Every topic a panel of the shipped layout shows."""
    topics = set()
    for panel in json.loads(LAYOUT.read_text())["configById"].values():
        if "imageMode" in panel:
            topics.add(panel["imageMode"]["imageTopic"])
            topics.update(panel["imageMode"]["annotations"])
        if "topicPath" in panel:
            topics.add(panel["topicPath"])
    return topics


def test_a_network_address_needs_tls_and_gets_only_wss(tmp_path):
    from argos_camera.foxglove_out import FoxgloveServer

    with pytest.raises(ValueError, match="not loopback.*--foxglove-tls-cert"):
        FoxgloveServer(0, "0.0.0.0")
    make_ca(tmp_path, "ca")
    make_cert(tmp_path, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    server = FoxgloveServer(0, "0.0.0.0", tls_cert=str(tmp_path / "server.pem"), tls_key=str(tmp_path / "server.key"))
    try:
        assert server.url.startswith("wss://")

        async def plain():
            async with websockets.connect(f"ws://127.0.0.1:{server.port}", subprotocols=SUBPROTOCOLS, open_timeout=5):
                pass

        with pytest.raises((websockets.WebSocketException, OSError, asyncio.TimeoutError)):
            asyncio.run(plain())
        trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))

        async def secure():
            async with websockets.connect(
                f"wss://127.0.0.1:{server.port}", subprotocols=SUBPROTOCOLS, ssl=trusted, open_timeout=5
            ) as ws:
                return json.loads(await ws.recv())["op"]

        assert asyncio.run(secure()) == "serverInfo"
    finally:
        server.close()


def test_argos_run_refuses_a_network_foxglove_without_tls():
    exe = shutil.which("argos")
    proc = subprocess.run(
        [exe, "run", "--duration", "3", "--foxglove", "0", "--foxglove-host", "0.0.0.0"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--foxglove-tls-cert" in errors[0], proc.stderr


def test_jpeg_topics_carry_masked_frames(ctx):
    """annotated/image_raw/compressed and camera/image_raw/compressed from real nodes: JPEG that
    decodes, the mask black, published only while subscribed."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CompressedImage

    from argos_camera.annotator_node import AnnotatorNode
    from argos_camera.node import CameraNode
    from argos_common.handoff import LatestSlot
    from argos_common.ros.qos import SENSOR

    masks = [
        Parameter("privacy_masks.names", Parameter.Type.STRING_ARRAY, ["house"]),
        Parameter("privacy_masks.house.points", Parameter.Type.DOUBLE_ARRAY, MASK),
    ]
    slot = LatestSlot()
    # the camera itself masks nothing here: the annotator alone must black out what it sends
    camera = CameraNode(
        context=ctx, namespace="cam0", frame_slot=slot, parameter_overrides=[Parameter("source", value="synthetic://intersection")]
    )  # fmt: skip
    annotator = AnnotatorNode(context=ctx, namespace="cam0", frame_slot=slot, parameter_overrides=masks)
    probe = Node("probe", context=ctx)
    got: dict[str, CompressedImage] = {}
    executor = SingleThreadedExecutor(context=ctx)
    for node in (camera, annotator, probe):
        executor.add_node(node)
    try:
        for _ in range(30):  # nobody subscribed: nothing is encoded
            executor.spin_once(timeout_sec=0.05)
        assert annotator.stats()["jpeg_camera_published"] == annotator.stats()["jpeg_annotated_published"] == 0
        for topic in ("/cam0/annotated/image_raw/compressed", "/cam0/camera/image_raw/compressed"):
            probe.create_subscription(CompressedImage, topic, lambda m, t=topic: got.setdefault(t, m), SENSOR)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(got) < 2:
            executor.spin_once(timeout_sec=0.02)
    finally:
        executor.shutdown()
        for node in (probe, annotator, camera):
            node.destroy_node()
    assert len(got) == 2, f"received only {sorted(got)}"
    for msg in got.values():
        assert msg.format == "jpeg" and msg.header.frame_id
        assert_masked(cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR))
