"""Constant-acceleration and aspect states, motion cost, heading, ground-plane speed, parameters."""

import math

import numpy as np
import pytest

from argos_common.detections import Detections
from argos_common.params import ConfigError, resolve
from argos_tracker.association import AssociationConfig, associate
from argos_tracker.ground_plane import GroundPlane
from argos_tracker.motion_model import MotionConfig, MotionModel
from argos_tracker.params import PARAMS, validate
from argos_tracker.tracker import Tracker

FPS = 15.0


def box_at(cx, cy, w=40.0, h=18.0):
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def test_constant_acceleration_model_learns_braking_and_predicts_better_than_constant_velocity():
    # a vehicle braking at 60 px/s^2 from 150 px/s towards a queue
    errors = {}
    for ca in (False, True):
        f = MotionModel(MotionConfig(constant_acceleration=ca)).create(box_at(0.0, 0.0))
        for i in range(1, 30):
            t = i / FPS
            f.predict(1 / FPS)
            f.update(box_at(150.0 * t - 30.0 * t * t, 0.0))
        f.predict(0.5)  # half a second without detections
        t = 29 / FPS + 0.5
        errors[ca] = abs((f.box[0] + f.box[2]) / 2 - (150.0 * t - 30.0 * t * t))
        assert f.kf.x.shape[0] == (12 if ca else 8)
    assert errors[True] < 1.0 < errors[False]


def test_aspect_height_state_tracks_a_box_that_turns():
    f = MotionModel(MotionConfig(box_state="ah")).create(box_at(100.0, 100.0, 40.0, 16.0))
    for i in range(1, 31):  # the box rotates from 40 x 16 to 16 x 40 over 2 s
        w = 40.0 - 24.0 * i / 30
        f.predict(1 / FPS)
        f.update(box_at(100.0, 100.0, w, 56.0 - w))
    x1, y1, x2, y2 = f.box
    assert x2 - x1 == pytest.approx(16.0, abs=2.0)
    assert y2 - y1 == pytest.approx(40.0, abs=2.0)
    assert f.kf.x[2, 0] == pytest.approx(0.4, abs=0.06)  # the aspect itself is in the state


def test_motion_cost_picks_the_candidate_where_the_track_is_headed():
    # two detections overlap the predicted box equally (IoU alike) on either side of it; only
    # the one ahead along the velocity is plausible
    track = np.array([box_at(100.0, 100.0)])
    dets = np.array([box_at(106.0, 100.0), box_at(94.0, 100.0)])
    d2 = np.array([[1.0, 12.0]])
    iou_only = associate(
        track, np.array([True]), dets[::-1], np.array([True, True]), AssociationConfig(gate_chi2=0.0), None
    )
    with_motion = associate(
        track,
        np.array([True]),
        dets,
        np.array([True, True]),
        AssociationConfig(gate_chi2=0.0, motion_cost_weight=1.0),
        d2,
    )
    assert iou_only.matches == [(0, 0)]  # a tie: IoU alone takes whichever comes first
    assert with_motion.matches == [(0, 0)]
    flipped = associate(
        track,
        np.array([True]),
        dets,
        np.array([True, True]),
        AssociationConfig(gate_chi2=0.0, motion_cost_weight=1.0),
        d2[:, ::-1],
    )
    assert flipped.matches == [(0, 1)]


def test_heading_follows_the_direction_of_travel():
    tracker = Tracker({"classes": ["car"], "confirm_hits": 1})
    for i in range(20):
        tracks = tracker.update(
            Detections(
                np.array([box_at(100.0 + 5 * i, 200.0 - 5 * i)], np.float32), np.array([0.9], np.float32), ["car"]
            ),
            int(i / FPS * 1e9),
        )
    assert tracks[0].heading_deg == pytest.approx(315.0, abs=3.0)  # right and up the image


def test_ground_plane_speed_accounts_for_perspective():
    # ground (x, y) = (0.1 u, 10 v) / (1 - v / 1000) metres: rows nearer v = 1000 cover more road
    plane = GroundPlane([0.1, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, -0.001, 1.0])
    near = plane.speed_m_s((500.0, 100.0), (0.0, 100.0))
    far = plane.speed_m_s((500.0, 800.0), (0.0, 100.0))
    assert far > 5 * near
    # sideways at v = 100: 100 px/s x 0.1 m/px / 0.9
    assert plane.speed_m_s((500.0, 100.0), (100.0, 0.0)) == pytest.approx(100.0 * 0.1 / 0.9, rel=1e-6)
    assert plane.speed_m_s((1.0, 1.0), (0.0, 0.0)) == 0.0


@pytest.mark.parametrize(
    "values, key",
    [
        ({"ground_homography": [1.0] * 8}, "ground_homography"),
        ({"ground_homography": [1.0] * 9}, "ground_homography"),  # singular
        ({"zones.names": ["box"], "zones.box.points": [0.0, 0.0, 1.0, 1.0]}, "zones.box.points"),
        (
            {
                "zones.names": ["west"],
                "lines.names": ["west"],
                "zones.west.points": [0.0, 0.0, 9.0, 0.0, 9.0, 9.0],
                "lines.west.points": [0.0, 0.0, 1.0, 1.0],
            },
            "zones.west.points",
        ),
    ],
)
def test_bad_new_parameters_name_the_key(values, key):
    with pytest.raises(ConfigError) as err:
        validate(resolve(PARAMS, values))
    assert err.value.key == key


def test_constant_acceleration_tracker_keeps_ids_through_a_stop():
    tracker = Tracker({"classes": ["car"], "motion_model": "constant_acceleration", "box_state": "ah"})
    x, v, ids = 0.0, 150.0, set()
    for i in range(60):
        v = max(0.0, v - 120.0 / FPS) if i < 30 else min(150.0, v + 120.0 / FPS)
        x += v / FPS
        tracks = tracker.update(
            Detections(np.array([box_at(x, 100.0)], np.float32), np.array([0.9], np.float32), ["car"]),
            int(i / FPS * 1e9),
        )
        ids |= {t.id for t in tracks}
    assert ids == {1}
    assert math.isfinite(tracks[0].speed_px_s)
