"""ROS-free camera cores: reconnection backoff, image publishing policy, calibration files,
image folders, cross-parameter validation."""

import cv2
import numpy as np
import pytest

from argos_camera.backoff import Backoff
from argos_camera.calibration import load_calibration
from argos_camera.params import PARAMS, validate
from argos_camera.publish_policy import ImagePublishPolicy
from argos_camera.sources import ImageFolderSource, SourceError, open_source
from argos_common.params import ConfigError, resolve

CALIBRATION = """\
image_width: 640
image_height: 480
camera_name: cam0
camera_matrix: {rows: 3, cols: 3, data: [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]}
distortion_model: plumb_bob
distortion_coefficients: {rows: 1, cols: 5, data: [-0.1, 0.01, 0.0, 0.0, 0.0]}
rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
projection_matrix: {rows: 3, cols: 4, data: [500.0, 0, 320.0, 0, 0, 500.0, 240.0, 0, 0, 0, 1, 0]}
"""


def test_backoff_doubles_up_to_the_ceiling_and_resets():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_rejects_an_inverted_range():
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_auto_publishes_only_with_subscribers():
    policy = ImagePublishPolicy("auto")
    assert [policy.should_publish(i, subs) for i, subs in enumerate([0, 1, 1, 0])] == [False, True, True, False]
    assert not ImagePublishPolicy("never").should_publish(0, 5)
    assert ImagePublishPolicy("always").should_publish(0, 0)


def test_debug_rate_caps_publishing():
    policy = ImagePublishPolicy("always", debug_rate_hz=5.0)
    frame_ns = 1_000_000_000 // 15
    published = sum(policy.should_publish(i * frame_ns, 0) for i in range(150))  # 10 s at 15 FPS
    assert 45 <= published <= 50


def test_calibration_yaml_is_read(tmp_path):
    path = tmp_path / "cam0.yaml"
    path.write_text(CALIBRATION)
    cal = load_calibration(path)
    assert (cal.width, cal.height, cal.camera_name, cal.distortion_model) == (640, 480, "cam0", "plumb_bob")
    assert cal.k[0] == 500.0 and cal.k[2] == 320.0 and len(cal.p) == 12 and cal.d[0] == -0.1
    assert all(isinstance(v, float) for v in cal.r)


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda t: t.replace("image_width: 640", "image_width: -1"), "positive integers"),
        (lambda t: t.replace("rows: 3, cols: 4", "rows: 3, cols: 3"), "projection_matrix must be 3x4"),
        (lambda t: t.replace("[-0.1, 0.01", "[nope, 0.01"), "must be a list of numbers"),
        (lambda t: "\n".join(r for r in t.splitlines() if not r.startswith("camera_matrix")), "missing camera_matrix"),
        (lambda t: "camera_matrix: [unclosed", "not valid YAML"),
    ],
)
def test_bad_calibration_names_the_parameter(tmp_path, edit, fragment):
    path = tmp_path / "cam0.yaml"
    path.write_text(edit(CALIBRATION))
    with pytest.raises(SourceError, match=fragment) as err:
        load_calibration(path)
    assert err.value.key == "calibration_file"


def test_missing_calibration_file(tmp_path):
    with pytest.raises(SourceError, match="file not found") as err:
        load_calibration(tmp_path / "none.yaml")
    assert err.value.key == "calibration_file"


@pytest.fixture
def folder(tmp_path):
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"frame_{i:03d}.png"), np.full((24, 32, 3), 40 * i, np.uint8))
    (tmp_path / "frame_002b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # sorts between 2 and 3
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_folder_plays_in_name_order_and_skips_corrupt_files(folder):
    source = open_source(f"images://{folder}", {"fps": 5.0})
    assert isinstance(source, ImageFolderSource) and source.size == (32, 24) and source.fps == 5.0
    values = []
    while (item := source.read()) is not None:
        values.append(int(item[0][0, 0, 0]))
    assert values == [0, 40, 80, 120, 160]
    assert source.status()["corrupt"] == 1


def test_image_folder_pattern_and_loop(folder):
    source = open_source(f"images://{folder}?pattern=frame_00[13].png", {"loop": True})
    assert [int(source.read()[0][0, 0, 0]) for _ in range(5)] == [40, 120, 40, 120, 40]
    assert source.status()["restarts"] == 2


@pytest.mark.parametrize(
    "uri, fragment",
    [("images:///no/such/dir", "image folder not found"), ("images://host/dir", "local absolute folder")],
)
def test_bad_image_folders(uri, fragment):
    with pytest.raises(SourceError, match=fragment):
        open_source(uri, {})


def test_folder_without_images(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(SourceError, match="no images in"):
        open_source(f"images://{tmp_path}", {})
    with pytest.raises(SourceError, match="unknown option 'glob'"):
        open_source(f"images://{tmp_path}?glob=*.png", {})


def test_reconnect_range_is_checked_across_parameters():
    values = resolve(PARAMS, {"reconnect_initial_s": 20.0, "reconnect_max_s": 10.0})
    with pytest.raises(ConfigError) as err:
        validate(values)
    assert err.value.key == "reconnect_initial_s"
    validate(resolve(PARAMS, {}))
