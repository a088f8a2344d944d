"""Two-stage (ByteTrack-style) association with optimal assignment and gating."""

import numpy as np
import pytest

from argos_common.geometry import iou_matrix
from argos_tracker.association import AssociationConfig, assign, associate

CONFIG = AssociationConfig(iou_threshold=0.2, low_score_iou_threshold=0.4, gate_chi2=13.8)


def test_iou_matrix_values():
    a = np.array([[0, 0, 10, 10], [100, 100, 110, 110]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [50, 50, 60, 60]])
    iou = iou_matrix(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(1.0)
    assert iou[0, 1] == pytest.approx(50 / 150)
    assert iou[0, 2] == 0.0 and iou[1].sum() == 0.0
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_assignment_is_optimal_not_greedy():
    # Greedy (best pair first) takes track0-det0 (0.05) and leaves track1 unmatched;
    # the optimum pairs track0-det1 and track1-det0.
    cost = np.array([[0.05, 0.2], [0.1, 0.9]])
    feasible = np.array([[True, True], [True, False]])
    assert sorted(assign(cost, feasible)) == [(0, 1), (1, 0)]


def test_high_score_detection_wins_over_low_score_one():
    tracks = np.array([[0, 0, 40, 20]])
    dets = np.array([[1, 0, 41, 20], [0, 1, 40, 21]])
    result = associate(tracks, [True], dets, [False, True], CONFIG)
    assert result.matches == [(0, 1)]
    assert result.unmatched_high == []


def test_low_score_detection_extends_confirmed_track_only():
    tracks = np.array([[0, 0, 40, 20], [100, 0, 140, 20]])
    dets = np.array([[1, 0, 41, 20], [101, 0, 141, 20]])
    # track 0 confirmed, track 1 tentative; both detections weak
    result = associate(tracks, [True, False], dets, [False, False], CONFIG)
    assert result.matches == [(0, 0)]
    assert result.unmatched_tracks == [1]
    assert result.unmatched_high == []  # weak boxes never become new tracks


def test_low_score_stage_uses_stricter_iou():
    tracks = np.array([[0, 0, 40, 20]])
    shifted = np.array([[16, 0, 56, 20]])  # IoU = 24/56 ~ 0.43
    far = np.array([[22, 0, 62, 20]])  # IoU = 18/62 ~ 0.29
    assert associate(tracks, [True], shifted, [False], CONFIG).matches == [(0, 0)]
    assert associate(tracks, [True], far, [False], CONFIG).matches == []
    assert associate(tracks, [True], far, [True], CONFIG).matches == [(0, 0)]


def test_unmatched_high_detections_start_tracks_and_iou_gate_applies():
    tracks = np.array([[0, 0, 40, 20]])
    dets = np.array([[30, 0, 70, 20], [200, 200, 240, 220]])  # IoU with track 10/70 < 0.2
    result = associate(tracks, [True], dets, [True, True], CONFIG)
    assert result.matches == []
    assert result.unmatched_tracks == [0]
    assert result.unmatched_high == [0, 1]


def test_mahalanobis_gate_blocks_overlapping_but_implausible_pair():
    tracks = np.array([[0, 0, 40, 20]])
    dets = np.array([[2, 0, 42, 20]])
    assert associate(tracks, [True], dets, [True], CONFIG, gate_d2=np.array([[50.0]])).matches == []
    assert associate(tracks, [True], dets, [True], CONFIG, gate_d2=np.array([[1.0]])).matches == [(0, 0)]
    no_gate = AssociationConfig(gate_chi2=0.0)
    assert associate(tracks, [True], dets, [True], no_gate, gate_d2=np.array([[50.0]])).matches == [(0, 0)]


RECOVERING = AssociationConfig(iou_threshold=0.2, low_score_iou_threshold=0.4, gate_chi2=13.8, recovery_shape_iou=0.5)
# A bicycle seen from above: 16 x 5 px. Camera shake of 4 px moves its box off its prediction.
BIKE_TRACK = np.array([[100.0, 100.0, 116.0, 105.0]])
BIKE_SHAKEN = np.array([[101.0, 104.0, 117.0, 109.0]])  # IoU 1/9 of the prediction


def test_recovery_stage_rematches_a_thin_box_that_lost_its_overlap():
    assert iou_matrix(BIKE_TRACK, BIKE_SHAKEN)[0, 0] < RECOVERING.iou_threshold
    without = associate(BIKE_TRACK, [True], BIKE_SHAKEN, [True], CONFIG, gate_d2=np.array([[4.0]]))
    assert without.matches == [] and without.unmatched_high == [0]  # a second track would start
    result = associate(BIKE_TRACK, [True], BIKE_SHAKEN, [True], RECOVERING, gate_d2=np.array([[4.0]]))
    assert result.matches == [(0, 0)]
    assert result.unmatched_high == [] and result.unmatched_tracks == []


def test_recovery_needs_the_gate_a_similar_shape_and_a_confirmed_track():
    gate_ok = np.array([[4.0]])
    # outside the Mahalanobis gate
    assert associate(BIKE_TRACK, [True], BIKE_SHAKEN, [True], RECOVERING, gate_d2=np.array([[20.0]])).matches == []
    # a car-sized box where the bicycle was predicted is another object
    car = np.array([[95.0, 95.0, 135.0, 113.0]])
    assert associate(BIKE_TRACK, [True], car, [True], RECOVERING, gate_d2=gate_ok).matches == []
    # tentative tracks do not recover (they die at their first miss), low-score boxes are not taken
    assert associate(BIKE_TRACK, [False], BIKE_SHAKEN, [True], RECOVERING, gate_d2=gate_ok).matches == []
    assert associate(BIKE_TRACK, [True], BIKE_SHAKEN, [False], RECOVERING, gate_d2=gate_ok).matches == []
    # no distances, no recovery
    assert associate(BIKE_TRACK, [True], BIKE_SHAKEN, [True], RECOVERING).matches == []


def test_recovery_only_takes_detections_no_track_matched_by_overlap():
    # Track 1 overlaps detection 0 well; track 0 (shaken off) may only have what is left, the
    # nearest first.
    tracks = np.array([[100.0, 100.0, 116.0, 105.0], [100.0, 106.0, 116.0, 111.0]])
    dets = np.array([[100.0, 106.5, 116.0, 111.5], [99.0, 96.0, 115.0, 101.0], [103.0, 95.0, 119.0, 100.0]])
    gate = np.array([[5.0, 3.0, 2.0], [0.1, 9.0, 9.0]])
    result = associate(tracks, [True, True], dets, [True, True, True], RECOVERING, gate_d2=gate)
    assert sorted(result.matches) == [(0, 2), (1, 0)]
    assert result.unmatched_high == [1]


def test_recovery_respects_the_callers_restriction():
    gate_ok = np.array([[4.0]])
    allowed = associate(
        BIKE_TRACK, [True], BIKE_SHAKEN, [True], RECOVERING, gate_d2=gate_ok, recoverable=np.array([[True]])
    )
    barred = associate(
        BIKE_TRACK, [True], BIKE_SHAKEN, [True], RECOVERING, gate_d2=gate_ok, recoverable=np.array([[False]])
    )
    assert allowed.matches == [(0, 0)] and barred.matches == [] and barred.unmatched_high == [0]
