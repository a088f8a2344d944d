"""Sources: URIs, synthetic options, video files written here with cv2.VideoWriter (both file back-ends)."""

import cv2
import numpy as np
import pytest

from argos_camera.file_source import VideoFileSource
from argos_camera.gst_runtime import gstreamer_available
from argos_camera.params import PARAMS
from argos_camera.sources import SUPPORTED, SourceError, SyntheticSource, open_source
from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import ConfigError, resolve

BACKENDS = [
    "opencv",
    pytest.param(
        "gstreamer",
        marks=pytest.mark.skipif(
            not gstreamer_available(), reason="GStreamer/PyGObject (gi) not importable; scripts/setup.sh installs it"
        ),
    ),
]

FRAMES = 12


@pytest.fixture
def params():
    return resolve(PARAMS, {"width": 320, "height": 180})


@pytest.fixture
def clip(tmp_path):
    """A 12-frame MJPG .avi whose frames carry their index as brightness."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for i in range(FRAMES):
        writer.write(np.full((48, 64, 3), 10 + i * 20, np.uint8))
    writer.release()
    return path


def _brightness(image):
    return (float(image.mean()) - 10) / 20


def backend_params(params, backend):
    return {**params, "file_backend": backend, "realtime": False}


@pytest.mark.parametrize("backend", BACKENDS)
def test_file_source_reads_every_frame_then_ends(clip, params, backend):
    source = open_source(f"file://{clip}", backend_params(params, backend))
    assert isinstance(source, VideoFileSource) == (backend == "opencv")
    assert source.fps == pytest.approx(10.0)
    assert source.size == (64, 48)
    frames = []
    while (item := source.read()) is not None:
        frames.append(item[0])
    assert len(frames) == FRAMES
    assert [round(_brightness(f)) for f in frames] == list(range(FRAMES))
    assert source.read() is None
    source.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_plain_path_is_a_file_source(clip, params, backend):
    source = open_source(str(clip), backend_params(params, backend))
    assert source.size == (64, 48) and source.read()[0].shape == (48, 64, 3)
    assert isinstance(source, VideoFileSource) == (backend == "opencv")
    source.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_file_source_loops_when_asked(clip, params, backend):
    source = open_source(str(clip), {**backend_params(params, backend), "loop": True})
    order = [round(_brightness(source.read()[0])) for _ in range(FRAMES * 2 + 3)]
    assert order == list(range(FRAMES)) * 2 + [0, 1, 2]
    assert source.restarts == 2
    source.close()


def test_missing_file_names_the_source_key(tmp_path, params):
    with pytest.raises(SourceError) as err:
        open_source(f"file://{tmp_path}/nope.mp4", params)
    assert err.value.key == "source" and "not found" in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, ConfigError)


def test_a_text_file_is_not_a_video(tmp_path, params):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError) as err:
        open_source(str(path), params)
    assert err.value.key == "source" and str(path) in str(err.value)


def test_a_directory_is_not_a_video(tmp_path, params):
    with pytest.raises(SourceError, match="not a file"):
        open_source(str(tmp_path), params)


def test_unknown_scheme_is_rejected_with_the_supported_list(params):
    with pytest.raises(SourceError) as err:
        open_source("x://camera", params)
    assert str(err.value) == f"source: unsupported source 'x://' (supported: {SUPPORTED})"
    assert "rtsp://" in SUPPORTED and "v4l2://" in SUPPORTED and "argus://" in SUPPORTED
    assert err.value.key == "source"


def test_synthetic_source_carries_ground_truth(params):
    source = open_source("synthetic://intersection", params)
    assert isinstance(source, SyntheticSource)
    assert source.size == (320, 180) and source.fps == 15.0
    image, extras = source.read()
    assert image.shape == (180, 320, 3)
    assert "ground_truth" in extras


def test_uri_options_override_parameters(params):
    source = open_source("synthetic://intersection?seed=11&density=0.5&occluders=false", params)
    scene = source.scene
    assert scene.traffic.density == 0.5
    assert not scene.renderer.occluder_mask.any()
    same = open_source("synthetic://intersection", {**params, "seed": 11, "density": 0.5, "occluders": False})
    assert np.array_equal(source.read()[0], same.read()[0])


@pytest.mark.parametrize(
    "uri, fragment",
    [
        ("synthetic://roundabout", "unknown synthetic scene"),
        ("synthetic://intersection?seed=abc", "seed must be an integer"),
        ("synthetic://intersection?density=-1", "density must be within"),
        ("synthetic://intersection?occluders=maybe", "occluders must be true or false"),
        ("synthetic://intersection?speed=3", "unknown option 'speed'"),
    ],
)
def test_bad_synthetic_uris_are_reported(uri, fragment, params):
    with pytest.raises(SourceError, match=fragment) as err:
        open_source(uri, params)
    assert err.value.key == "source"


def test_default_classes_are_the_eleven(params):
    assert params["classes"] == list(DEFAULT_CLASSES)


def test_synthetic_uri_conditions_reach_the_scene():
    from argos_camera.sources import SourceError, open_source

    source = open_source("synthetic://intersection?conditions=night,rain&density=2", {"width": 320, "height": 180})
    try:
        assert source.scene.conditions == ("night", "rain")
    finally:
        source.close()
    with pytest.raises(SourceError, match="unknown condition 'fog'"):
        open_source("synthetic://intersection?conditions=fog", {})
