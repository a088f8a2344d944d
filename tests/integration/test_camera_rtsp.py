"""CameraNode against a real RTSP server (GstRtspServer in a child process): reconnection after the
server dies and comes back, bounded buffering while the consumer stalls, an unreachable camera."""

import time

import pytest
import rclpy
from rclpy.parameter import Parameter

from argos_camera.gst_runtime import gstreamer_available
from argos_camera.node import CameraNode
from argos_camera.rtsp_server import RtspServerProcess
from argos_common.endpoints import free_port
from argos_common.handoff import LatestSlot

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not gstreamer_available(), reason="GStreamer/PyGObject (gi) not importable; scripts/setup.sh installs them"
    ),
]

FAST_RECOVERY = [
    Parameter("stall_timeout_s", value=2.0),
    Parameter("connect_timeout_s", value=3.0),
    Parameter("reconnect_initial_s", value=0.2),
    Parameter("reconnect_max_s", value=1.0),
]


@pytest.fixture
def ctx():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


def wait_for(condition, timeout_s=15.0, between=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if between:
            between()
        time.sleep(0.02)
    return condition()


def test_camera_reconnects_after_the_server_dies_and_returns(ctx):
    server = RtspServerProcess(width=320, height=240, fps=15).start()
    slot = LatestSlot()
    taken = []
    camera = None
    try:
        camera = CameraNode(
            context=ctx, frame_slot=slot, parameter_overrides=[Parameter("source", value=server.url), *FAST_RECOVERY]
        )

        def consume():
            frame = slot.take()
            if frame is not None:
                taken.append(frame)

        assert wait_for(lambda: len(taken) >= 10, between=consume)
        assert camera.stats()["source_state"] == "streaming"
        assert taken[0].image.shape == (240, 320, 3)

        server.stop(hard=True)  # no TEARDOWN: what a crashed camera or a cut cable looks like
        assert wait_for(lambda: camera.stats()["source_state"] == "reconnecting", between=consume)
        frames_at_loss = camera.stats()["frames"]
        assert wait_for(lambda: camera.stats()["reconnects"] >= 2, between=consume)  # it keeps trying
        assert camera.stats()["frames"] == frames_at_loss

        server.start()
        assert wait_for(lambda: camera.stats()["frames"] >= frames_at_loss + 10, timeout_s=20.0, between=consume)
        stats = camera.stats()
        assert stats["source_state"] == "streaming" and stats["state"] == "running"
        numbers = [f.capture_index for f in taken]
        assert numbers == sorted(set(numbers))  # numbering continues across the outage
        stamps = [f.stamp_ns for f in taken]
        assert stamps == sorted(stamps)
    finally:
        if camera is not None:
            camera.destroy_node()
        server.stop()


def test_buffering_stays_bounded_while_the_consumer_stalls(ctx):
    with RtspServerProcess(width=320, height=240, fps=30) as server:
        slot = LatestSlot()
        camera = CameraNode(
            context=ctx, frame_slot=slot, parameter_overrides=[Parameter("source", value=server.url), *FAST_RECOVERY]
        )
        try:
            assert wait_for(lambda: camera.stats()["frames"] >= 5)
            # nobody takes frames now: each new one replaces the last, nothing queues up
            assert wait_for(lambda: camera.stats()["frames"] >= 60, timeout_s=20.0)
            stats = camera.stats()
            held = slot.put_count - slot.dropped  # frames the slot holds or handed out
            assert held == 1 and slot.dropped >= 55
            assert stats["dropped_in_handoff"] == slot.dropped
            latest = slot.take()
            assert latest is not None and slot.take() is None
            assert latest.capture_index >= stats["frames"] - 2  # the newest frame, not an old one
            assert camera.source.status()["dropped"] <= 1  # the capture thread itself kept up
        finally:
            camera.destroy_node()


def test_unreachable_camera_keeps_retrying_with_backoff(ctx):
    url = f"rtsp://127.0.0.1:{free_port()}/test"  # nothing listens there
    camera = CameraNode(context=ctx, parameter_overrides=[Parameter("source", value=url), *FAST_RECOVERY])
    try:
        assert wait_for(lambda: camera.stats()["reconnects"] >= 3)
        stats = camera.stats()
        assert stats["source_state"] in ("reconnecting", "connecting") and stats["frames"] == 0
        assert stats["last_error"] and stats["state"] == "running"
    finally:
        camera.destroy_node()
    assert camera.stats()["source_state"] == "ended"
