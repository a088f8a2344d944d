"""Counting lines and zones survive a resolution change: drawn for one image size (or normalized),
they are scaled to the source's; a source they do not fit is an error naming the parameter."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from argos_bringup.config import load_config
from argos_bringup.evaluation.counting import truth_to_detections
from argos_camera.sources import open_source
from argos_common.lines import parse_lines
from argos_common.params import ConfigError, flatten
from argos_tracker.pipeline import TrackingPipeline
from argos_tracker.zones import parse_zones

EDGE = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"
SHIPPED = flatten(yaml.safe_load(EDGE.read_text())["/**"]["ros__parameters"])
ZONE = {"zones.names": ["box"], "zones.box.points": [560.0, 280.0, 720.0, 280.0, 720.0, 440.0, 560.0, 440.0]}
GEOMETRY = {**{k: v for k, v in SHIPPED.items() if k.startswith(("lines.", "geometry."))}, **ZONE}
FPS, FRAMES = 15.0, 450


def counts_at(width: int, height: int, geometry: dict) -> tuple[Counter, Counter]:
    """(counted, true) (line, class, direction) of 30 s of the synthetic scene at this size: the
    camera's synthetic source (ground truth on its scaled lines) and the tracking pipeline fed the
    scene's true boxes, told the source size as the tracker node is by camera_info."""
    lines = {k: v for k, v in geometry.items() if not k.startswith("zones.")}
    source = open_source(
        "synthetic://intersection?seed=11&density=1.5",
        {**lines, "width": width, "height": height, "fps": FPS, "seed": 11},
    )
    pipeline = TrackingPipeline(geometry)
    assert pipeline.set_source_size(source.size)
    counted, truth = Counter(), Counter()
    for frame in range(1, FRAMES + 1):
        _, extras = source.read()
        gt = extras["ground_truth"]
        truth.update((c.crossing.line_id, c.label, c.crossing.direction) for c in gt.crossings)
        result = pipeline.update(truth_to_detections(gt.objects), int(frame / FPS * 1e9))
        counted.update((r.line_id, r.class_id, r.direction) for r in result.counts)
    return counted, truth


def test_same_scene_at_1920x1080_counts_what_it_counts_at_1280x720():
    counted_720, truth_720 = counts_at(1280, 720, GEOMETRY)
    counted_1080, truth_1080 = counts_at(1920, 1080, GEOMETRY)
    lines_only = Counter({k: v for k, v in counted_720.items() if k[0] != "box"})
    assert sum(truth_720.values()) >= 20 and truth_1080 == truth_720
    assert counted_1080 == counted_720 and sum(lines_only.values()) >= 0.9 * sum(truth_720.values())
    assert any(k[0] == "box" for k in counted_1080), "the zone is scaled as well"


def test_normalized_points_count_the_same():
    normalized = {k: v for k, v in GEOMETRY.items() if not k.startswith("geometry.")}
    for key in [k for k in normalized if k.endswith(".points")]:
        normalized[key] = [v / (1280.0 if i % 2 == 0 else 720.0) for i, v in enumerate(normalized[key])]
    normalized["geometry.normalized"] = True
    assert counts_at(1920, 1080, normalized)[0] == counts_at(1280, 720, GEOMETRY)[0]


def test_scaled_points():
    lines = parse_lines(GEOMETRY, (1920, 1080))
    assert lines[0].points.tolist() == [[630.0, 435.0], [630.0, 540.0], [630.0, 645.0]]
    zone = parse_zones(GEOMETRY, (640, 360))[0]
    assert zone.points.tolist() == [[280.0, 140.0], [360.0, 140.0], [360.0, 220.0], [280.0, 220.0]]


def test_another_aspect_ratio_is_an_error_naming_the_parameter():
    with pytest.raises(ConfigError) as err:
        parse_lines(GEOMETRY, (1280, 1024))
    assert err.value.key == "geometry.image_size" and "1280x720" in err.value.problem
    assert "1280x1024" in err.value.problem and "geometry.resize: stretch" in err.value.problem
    stretched = parse_lines({**GEOMETRY, "geometry.resize": "stretch"}, (1280, 1024))
    assert stretched[0].points[0].tolist() == pytest.approx([420.0, 290.0 * 1024 / 720])
    pipeline = TrackingPipeline(GEOMETRY)
    with pytest.raises(ConfigError) as err:
        pipeline.set_source_size((640, 480))
    assert err.value.key == "geometry.image_size"


def test_pixel_points_outside_the_source_are_named():
    pixels = {k: v for k, v in GEOMETRY.items() if not k.startswith(("geometry.", "zones."))}
    with pytest.raises(ConfigError) as err:
        parse_lines(pixels, (640, 360))
    assert err.value.key == "lines.west.points" and "geometry.image_size" in err.value.problem
    assert len(parse_lines(pixels, (1280, 720))) == 4  # drawn for this size: used as they are


def test_geometry_parameters_are_checked():
    with pytest.raises(ConfigError) as err:
        parse_lines({**GEOMETRY, "geometry.normalized": True})
    assert err.value.key == "geometry.normalized"
    normalized = {**GEOMETRY, "geometry.image_size": [], "geometry.normalized": True}
    with pytest.raises(ConfigError) as err:
        parse_lines(normalized, (1280, 720))
    assert err.value.key == "lines.west.points" and "0..1" in err.value.problem


def test_camera_refuses_a_size_the_lines_do_not_fit():
    with pytest.raises(ConfigError) as err:
        open_source("synthetic://intersection", {**SHIPPED, "width": 1280, "height": 1024})
    assert err.value.key == "geometry.image_size"
    assert load_config(EDGE).node("tracker")["geometry.image_size"] == [1280, 720]


def test_tracker_waits_for_the_source_size():
    pipeline = TrackingPipeline(GEOMETRY)
    assert pipeline.source_size is None and pipeline.lines[0].points[0].tolist() == [420.0, 290.0]
    from argos_common.detections import Detections

    pipeline.update(Detections(np.zeros((0, 4)), np.zeros(0), []), 1)
    assert pipeline.frames_without_geometry == 1
    assert pipeline.set_source_size((1920, 1080)) and not pipeline.set_source_size((1920, 1080))
