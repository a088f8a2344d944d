"""Pipeline construction per source type, for a desktop and a Jetson element set (no GStreamer needed).

V4L2 and Argus cannot run on the development machines; their pipelines differ from the file and
RTSP ones only in the head, which is what these tests pin down.
"""

import pytest

from argos_camera.pipelines import SINK_NAME, RtspOptions, pipeline_for
from argos_camera.source_types import SourceError

DESKTOP = frozenset({"videoconvert", "decodebin", "jpegdec", "v4l2src", "rtspsrc", "appsink"})
JETSON = DESKTOP | {"nvvidconv", "nvv4l2decoder", "nvarguscamerasrc"}


def on(elements):
    return elements.__contains__


def test_every_pipeline_ends_in_bgr_and_the_argos_appsink():
    for uri in (
        "file:///data/a.mp4",
        "rtsp://cam.local/stream",
        "v4l2:///dev/video0",
        "argus://0",
        "gst://videotestsrc",
    ):
        spec = pipeline_for(uri, on(DESKTOP))
        assert spec.description.endswith(
            f"video/x-raw,format=BGR ! appsink name={SINK_NAME} max-buffers=1 enable-last-sample=false"
        ), uri


def test_file_pipeline_quotes_the_path_and_uses_decodebin():
    spec = pipeline_for("file:///data/my%20clips/a%22b.mkv", on(DESKTOP))
    assert spec.kind == "file" and spec.live is False
    assert spec.description.startswith(
        'filesrc location="/data/my clips/a\\"b.mkv" ! decodebin name=decoder ! videoconvert ! video/x-raw,format=BGR'
    )
    assert not spec.hardware


def test_jetson_file_pipeline_converts_nvmm_with_nvvidconv():
    spec = pipeline_for("file:///data/a.mp4", on(JETSON))
    assert (
        "decodebin name=decoder ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR"
        in spec.description
    )
    assert spec.hardware


@pytest.mark.parametrize("transport, protocols", [("tcp", "tcp"), ("udp", "udp"), ("auto", "tcp+udp+udp-mcast")])
def test_rtsp_pipeline_carries_transport_latency_and_timeouts(transport, protocols):
    url = "rtsp://user:pw@10.0.0.5:554/h264?channel=1&subtype=0"
    spec = pipeline_for(url, on(DESKTOP), RtspOptions(transport, 150, 2.5))
    assert spec.kind == "rtsp" and spec.live is True
    assert spec.description.startswith(
        f'rtspsrc name=src location="{url}" protocols={protocols} latency=150 drop-on-latency=true '
        "timeout=2500000 tcp-timeout=2500000 ! application/x-rtp,media=video ! decodebin name=decoder ! "
    )


def test_rtsp_needs_a_host_and_a_known_transport():
    with pytest.raises(SourceError, match="needs a host"):
        pipeline_for("rtsp:///stream", on(DESKTOP))
    with pytest.raises(SourceError) as err:
        pipeline_for("rtsp://cam/stream", on(DESKTOP), RtspOptions("quic"))
    assert err.value.key == "rtsp_transport"


def test_v4l2_pipeline_sets_the_requested_caps():
    spec = pipeline_for("v4l2:///dev/video2?width=1280&height=720&fps=30&format=yuy2", on(DESKTOP))
    assert spec.kind == "v4l2" and spec.live and spec.location == "/dev/video2"
    assert spec.description.startswith(
        'v4l2src device="/dev/video2" io-mode=2 ! '
        "video/x-raw,format=YUY2,width=1280,height=720,framerate=30/1 ! videoconvert"
    )


def test_v4l2_mjpeg_is_decoded_in_hardware_when_present():
    desktop = pipeline_for("v4l2:///dev/video0?format=MJPG&fps=30", on(DESKTOP)).description
    jetson = pipeline_for("v4l2:///dev/video0?format=MJPG&fps=30", on(JETSON)).description
    assert "image/jpeg,framerate=30/1 ! jpegdec ! videoconvert" in desktop
    assert "image/jpeg,framerate=30/1 ! nvv4l2decoder mjpeg=1 ! nvvidconv ! video/x-raw,format=BGRx" in jetson


@pytest.mark.parametrize(
    "uri, fragment",
    [
        ("v4l2://video0", "expected a device path"),
        ("v4l2:///dev/video0?fps=0", "fps must be a positive integer"),
        ("v4l2:///dev/video0?format=H264", "format must be one of"),
        ("v4l2:///dev/video0?exposure=3", "unknown option 'exposure'"),
        ("argus://front", "sensor id must be a number"),
        ("argus://0?sensor_mode=x", "sensor_mode must be a number"),
        ("argus://0?width=-5", "width must be a positive integer"),
        ("gst://", "gst:// needs a pipeline"),
        ("gst://videotestsrc ! appsink name=argos_sink", "leave out the sink"),
        ("gst://filesrc location=\"a.mp4 ! decodebin", "unbalanced quotes"),
        ("file://otherhost/a.mp4", "local absolute path"),
    ],
)
def test_bad_uris_fail_with_a_clear_message(uri, fragment):
    with pytest.raises(SourceError, match=fragment) as err:
        pipeline_for(uri, on(DESKTOP))
    assert err.value.key == "source"


def test_argus_pipeline_reads_nvmm_through_nvvidconv():
    spec = pipeline_for("argus://1?sensor_mode=3&width=1280&height=720&fps=60", on(JETSON))
    assert spec.kind == "argus" and spec.live
    assert spec.description == (
        "nvarguscamerasrc sensor-id=1 sensor-mode=3 ! video/x-raw(memory:NVMM),width=1280,height=720,"
        "framerate=60/1,format=NV12 ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR"
        f" ! appsink name={SINK_NAME} max-buffers=1 enable-last-sample=false"
    )


def test_argus_defaults_to_1080p30_on_sensor_0():
    spec = pipeline_for("argus://", on(JETSON))
    assert "sensor-id=0 ! video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1" in spec.description


def test_custom_pipeline_gets_the_common_tail_and_liveness_from_gstreamer():
    spec = pipeline_for("gst://videotestsrc pattern=ball ! video/x-raw,width=320,height=240 !", on(DESKTOP))
    assert spec.kind == "gst" and spec.live is None
    assert spec.description.startswith("videotestsrc pattern=ball ! video/x-raw,width=320,height=240 ! videoconvert")
