"""The one tracking pipeline (tracker + lines + zones + totals + ground speed) the node, replay
and the evaluations share."""

import math

import numpy as np
import pytest

from argos_common.detections import Detections
from argos_common.params import ConfigError
from argos_tracker.pipeline import TrackingPipeline, resolve_tracker_params

LINE = {
    "lines.names": ["gate"],
    "lines.gate.points": [400.0, 300.0, 400.0, 500.0],
    "lines.gate.lanes": ["main"],
    "anchor": "center",
}
ZONE = {"zones.names": ["box"], "zones.box.points": [450.0, 350.0, 550.0, 350.0, 550.0, 450.0, 450.0, 450.0]}


def drive(pipeline, frames=40, speed_px=10.0):
    counts = []
    for i in range(frames):
        x = 300.0 + speed_px * i
        dets = Detections(np.array([[x - 10, 390.0, x + 10, 410.0]]), [0.9], ["car"])
        counts += pipeline.update(dets, int(i * 1e9 / 15)).counts
    return counts + pipeline.finish(int(frames * 1e9 / 15))


def test_one_car_counts_on_the_line_and_in_and_out_of_the_zone_with_totals():
    pipeline = TrackingPipeline({**LINE, **ZONE})
    counts = drive(pipeline)
    assert [(c.line_id, c.lane, c.class_id, c.direction) for c in counts] == [
        ("gate", "main", "car", "in"),
        ("box", "", "car", "in"),
        ("box", "", "car", "out"),
    ]
    assert len({c.track_id for c in counts}) == 1 and all(c.tracker_frame > 0 for c in counts)
    assert pipeline.totals.total == 3 and pipeline.frames == 40
    assert counts[0].speed_px_s == pytest.approx(150.0, rel=0.05)


def test_speed_in_metres_from_the_scale_or_nan_without_one():
    unknown = drive(TrackingPipeline(LINE))
    assert math.isnan(unknown[0].speed_m_s)
    scaled = drive(TrackingPipeline({**LINE, "meters_per_pixel": 0.1}))
    assert scaled[0].speed_m_s == pytest.approx(scaled[0].speed_px_s * 0.1)


def test_defaults_are_the_node_parameters_and_bad_values_name_the_key():
    assert TrackingPipeline().params == resolve_tracker_params({})
    with pytest.raises(ConfigError) as err:
        TrackingPipeline({"low_score": 0.9, "high_score": 0.5})
    assert err.value.key == "low_score"
    with pytest.raises(ConfigError) as err:
        TrackingPipeline({"lines.names": ["bad"], "lines.bad.points": [1.0, 2.0]})
    assert err.value.key == "lines.bad.points"
