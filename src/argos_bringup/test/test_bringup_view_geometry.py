"""The synthetic pole view's counting lines for the tracker and the annotator (view_geometry):
the very lines the scene's ground truth crosses, at the camera's size; nothing for any other
source or for lines not drawn on the map; and the parameter files edge.yaml gives separate node
processes (composition:=false), read back by rcl as a node process reads them."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from argos_bringup.config import load_config
from argos_bringup.view_geometry import map_view_geometry, override_files, view_overrides
from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import parse_lines
from argos_sim import open_scene
from argos_sim.views import map_points

EDGE = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"
POLE = "synthetic://intersection?view=pole"
ZONE = [560.0, 280.0, 720.0, 280.0, 720.0, 440.0, 560.0, 440.0]  # the junction box, on the map
MASK = [0.0, 0.0, 300.0, 0.0, 300.0, 200.0]


def loaded(source: str, width: int = 1920, height: int = 1080, **tracker):
    return load_config(EDGE, {"camera": {"source": source, "width": width, "height": height}, "tracker": tracker})


def scene_of(config):
    """The scene the camera node opens for this config: its view_lines are what ground truth crosses."""
    camera = config.node("camera")
    size = (camera["width"], camera["height"])
    return open_scene(camera["source"], *size, 15.0, DEFAULT_CLASSES, parse_lines(camera, size), render=False)


@pytest.mark.parametrize("source", [POLE, POLE + "&height=10&tilt=35"], ids=["default-pole", "height10-tilt35"])
def test_overrides_are_the_scenes_view_lines_at_the_cameras_size(source):
    config = loaded(source)
    scene = scene_of(config)
    overrides = view_overrides(config.node("camera"), config.params)
    assert set(overrides) == {"tracker", "annotator"}
    for node in ("tracker", "annotator"):
        values = overrides[node]
        assert values["geometry.image_size"] == [1920, 1080]
        assert values["lines.names"] == [line.id for line in scene.view_lines]
        for line in scene.view_lines:
            assert values[f"lines.{line.id}.points"] == line.points.ravel().tolist()
            assert values[f"lines.{line.id}.lanes"] == list(line.lanes)
    assert overrides["tracker"]["ground_homography"] == list(scene.ground_homography)
    assert "ground_homography" not in overrides["annotator"]

    # applied to the config, the tracker places exactly those lines on the 1920x1080 frames
    map_view_geometry(config)
    placed = parse_lines(config.node("tracker"), (1920, 1080))
    assert [p.points.tolist() for p in placed] == [v.points.tolist() for v in scene.view_lines]


def test_the_pole_camera_options_change_the_lines():
    default = view_overrides(loaded(POLE).node("camera"), loaded(POLE).params)["tracker"]
    config = loaded(POLE + "&height=10&tilt=35")
    other = view_overrides(config.node("camera"), config.params)["tracker"]
    assert default["lines.west.points"] != other["lines.west.points"]


@pytest.mark.parametrize(
    "source",
    ["synthetic://intersection", "synthetic://intersection?view=top&seed=3", "rtsp://cam/stream", "/data/v.mp4"],
)
def test_nothing_for_the_top_view_and_real_cameras(source):
    config = loaded(source)
    before = {node: dict(values) for node, values in config.params.items()}
    assert view_overrides(config.node("camera"), config.params) == {}
    assert map_view_geometry(config) is None and config.params == before


def test_lines_in_another_geometry_are_left_alone_and_a_set_homography_kept():
    """The opt-out: lines in the pole image's own pixels (any geometry but the map's 1280x720)."""
    image_lines = {"geometry.image_size": []}  # the shipped points, read as pixels of the 1280x720 pole image
    config = load_config(EDGE, {"camera": {"source": POLE}, "tracker": image_lines, "annotator": image_lines})
    overrides = view_overrides(config.node("camera"), config.params)
    assert set(overrides) == {"tracker"} and set(overrides["tracker"]) == {"ground_homography"}
    assert "not on the map" in map_view_geometry(config)
    assert config.node("tracker")["lines.west.points"] == [420.0, 290.0, 420.0, 360.0, 420.0, 430.0]

    homography = [0.1, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 1.0]
    config = loaded(POLE, ground_homography=homography)
    assert "ground_homography" not in view_overrides(config.node("camera"), config.params)["tracker"]


def test_zones_are_mapped_and_privacy_masks_rescaled():
    config = load_config(
        EDGE,
        {
            "camera": {"source": POLE, "width": 1920, "height": 1080},
            "tracker": {"zones.names": ["box"], "zones.box.points": ZONE},
            "annotator": {"privacy_masks.names": ["house"], "privacy_masks.house.points": MASK},
        },
    )
    scene = scene_of(config)
    overrides = view_overrides(config.node("camera"), config.params)
    corners = np.asarray(ZONE).reshape(-1, 2) * 1.5  # on the map at 1920x1080
    mapped = np.asarray(overrides["tracker"]["zones.box.points"]).reshape(-1, 2)
    assert np.allclose(mapped, map_points(scene.ground_to_image, corners)[0])
    # a mask covers a part of the image itself: the same part at the camera's size
    assert overrides["annotator"]["privacy_masks.house.points"] == [v * 1.5 for v in MASK]


def test_the_log_line_says_what_was_mapped():
    note = map_view_geometry(loaded(POLE + "&height=10&tilt=35&corner=ne"))
    assert note.startswith("counting lines west, east, north, south mapped from the map into the 1920x1080 image")
    assert "10 m high, 35 deg down, 100 deg fov, corner ne" in note and "tracker and annotator" in note
    assert "ground_homography" in note


def _pole_config(tmp_path, reordered: bool) -> Path:
    """edge.yaml on the pole view; `reordered`: a /cam0/tracker section first and the /** section
    last. rcl applies a node's keys in the order they first appear, so there the map lines of /**
    come last and only the override's own /** key replaces them."""
    raw = yaml.safe_load(EDGE.read_text())
    raw["/**/camera"]["ros__parameters"]["source"] = POLE
    if reordered:
        shared = raw.pop("/**")
        raw = {"/cam0/tracker": {"ros__parameters": {"confirm_hits": 3}}, **raw, "/**": shared}
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_override_files_for_separate_processes(tmp_path):
    config = _pole_config(tmp_path, False)
    files, note = override_files([str(config)], "cam0")
    assert set(files) == {"tracker", "annotator"} and note.startswith("/cam0: counting lines west")
    expected = view_overrides(load_config(config).node("camera"), load_config(config).params)
    for node, sections in files.items():
        assert set(sections) == {"/**", f"/**/{node}", f"/cam0/{node}"}
        assert all(body == {"ros__parameters": expected[node]} for body in sections.values())
        assert "&id" not in yaml.safe_dump(sections)  # rcl refuses YAML aliases
    assert override_files([str(EDGE)], "/cam0") == ({}, None)  # the top view: no file
    broken = tmp_path / "broken.yaml"
    broken.write_text("/**/camera:\n  ros__parameters:\n    source: synthetic://intersection?view=pole\n    fsp: 1.0\n")
    assert override_files([str(broken)], "/cam0") == ({}, None)  # the node processes name the key


@pytest.mark.integration
@pytest.mark.parametrize("reordered", [False, True], ids=["shipped-order", "cam0-first-shared-last"])
def test_a_separate_tracker_process_reads_the_mapped_lines(tmp_path, reordered):
    """What a tracker node process started by launch gets: edge.yaml, then its override file."""
    import rclpy
    from rclpy.context import Context

    from argos_tracker.node import TrackerNode

    config = _pole_config(tmp_path, reordered)
    files, _note = override_files([str(config)], "/cam0")
    override = tmp_path / "tracker.yaml"
    override.write_text(yaml.safe_dump(files["tracker"]))
    context = Context()
    rclpy.init(
        args=["tracker", "--ros-args", "--params-file", str(config), "--params-file", str(override)], context=context
    )
    try:
        node = TrackerNode(namespace="/cam0", context=context)
        try:
            for key, value in files["tracker"]["/**"]["ros__parameters"].items():
                assert list(node.get_parameter(key).value) == value, key  # floats survive YAML exactly
        finally:
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
