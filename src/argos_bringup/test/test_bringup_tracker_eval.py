"""Evaluation building blocks: the seeded perturbation, the peer adapter, MOT scoring, count error."""

from collections import Counter

import numpy as np
import pytest

from argos_bringup.evaluation import mot
from argos_bringup.evaluation.counting import count_error, truth_to_detections
from argos_bringup.evaluation.perturb import Perturbation, Perturber
from argos_common.detections import Detections
from argos_tracker.tracker import LOST, Tracker


def truth(n=50):
    boxes = np.array([[10.0 * i, 20.0, 10.0 * i + 40.0, 40.0] for i in range(n)], np.float32)
    return Detections(boxes, np.ones(n, np.float32), ["car"] * n, [f"o{i}" for i in range(n)])


def test_perturbation_is_seeded_and_does_what_it_documents():
    p = Perturbation(position_noise=0.05, miss_rate=0.2, false_positives_per_frame=2.0, low_score_rate=0.5)
    a = Perturber(p, 3, (640, 480), ["car", "van"])(truth())
    b = Perturber(p, 3, (640, 480), ["car", "van"])(truth())
    np.testing.assert_array_equal(a.boxes, b.boxes)
    runs = [Perturber(p, s, (640, 480), ["car"])(truth()) for s in range(40)]
    kept = np.mean([np.sum(d.scores >= 0.6) + np.sum(d.scores < 0.5) for d in runs])
    assert 35 < kept < 50  # ~20 % misses plus ~2 false positives
    assert 0.3 < np.mean([np.mean(d.scores < 0.5) for d in runs]) < 0.6


def test_occlusion_burst_hides_an_object_for_consecutive_frames():
    perturber = Perturber(Perturbation(burst_rate=1.0, burst_frames=(4, 4)), 0, (640, 480))
    sizes = [len(perturber(truth(1))) for _ in range(10)]
    assert sizes[:5] == [0, 0, 0, 0, 0]  # the burst starts at once and lasts 4 more frames


def test_truth_to_detections_drops_hidden_and_weakens_partly_visible_objects():
    objects = Detections(np.zeros((3, 4), np.float32) + [0, 0, 10, 10], [1.0, 0.5, 0.1], ["car"] * 3, ["a", "b", "c"])
    dets = truth_to_detections(objects)
    assert dets.ids == ["a", "b"] and dets.scores.tolist() == pytest.approx([1.0, 0.3])


def test_count_error_sums_per_key_differences():
    t = Counter({("w", "car", "in"): 10, ("w", "bus", "out"): 2})
    c = Counter({("w", "car", "in"): 9, ("w", "van", "in"): 1, ("w", "bus", "out"): 2})
    assert count_error(t, c) == {
        "true_total": 12,
        "counted_total": 12,
        "abs_error": 2,
        "error_pct": pytest.approx(100 * 2 / 12),
    }


def test_mot_scoring_of_perfect_detections_on_tud_campus_is_near_perfect():
    seq = mot.load_sequence("TUD-Campus")
    dets = mot.detections_for(seq, Perturbation(), 0)
    result = mot.evaluate(seq, dets, lambda: Tracker({"classes": [mot.LABEL]}))
    assert result["num_objects"] > 300
    assert result["num_switches"] <= 2 and result["mota"] > 0.9
    noisy = mot.evaluate(
        seq, mot.detections_for(seq, mot.MOT_PERTURBATION, 0), lambda: Tracker({"classes": [mot.LABEL]})
    )
    assert noisy["mota"] < result["mota"]


def test_peer_adapter_reports_confirmed_tracks_and_coasts_the_missing_ones():
    pytest.importorskip("supervision")
    from argos_bringup.evaluation.peer import PeerByteTrack

    peer = PeerByteTrack(15.0, {"confirm_hits": 1, "max_coast_s": 1.0})

    def dets(x):
        return Detections(np.array([[x, 100, x + 40, 120]], np.float32), [0.9], ["car"])

    for i in range(5):
        tracks = peer.update(dets(10.0 + 5 * i), int(i / 15 * 1e9))
    assert len(tracks) == 1 and tracks[0].velocity[0] == pytest.approx(75.0)
    coasting = peer.update(Detections.empty(), int(5 / 15 * 1e9))
    assert [t.state for t in coasting] == [LOST]
    assert peer.update(Detections.empty(), int(40 / 15 * 1e9)) == []
