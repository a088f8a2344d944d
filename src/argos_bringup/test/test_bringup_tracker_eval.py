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


def test_hota_is_one_for_the_truth_and_clear_mota_agrees_with_motmetrics():
    from argos_bringup.evaluation.scoring import MotScore, _trackeval

    seq = mot.load_sequence("TUD-Campus")
    perfect = MotScore()
    for frame in seq.frames:
        boxes, ids = seq.truth.get(frame, (np.zeros((0, 4)), []))
        perfect.add(frame, ids, boxes, [i + 100 for i in ids], boxes)
    assert perfect.compute()["hota"] == pytest.approx(1.0)
    assert perfect.compute()["mota"] == pytest.approx(1.0)

    # a real tracker run: trackeval's own CLEAR MOTA on the same frames is motmetrics' MOTA
    dets = mot.detections_for(seq, mot.MOT_PERTURBATION, 3)
    tracker = Tracker({"classes": [mot.LABEL]})
    score = MotScore()
    for frame, d in zip(seq.frames, dets):
        tracker.update(d, int(frame / mot.SEQUENCE_FPS * 1e9))
        shown = tracker.confirmed_detections()
        boxes, ids = seq.truth.get(frame, (np.zeros((0, 4)), []))
        score.add(frame, ids, boxes, shown.ids, shown.boxes)
    ours = score.compute()
    clear = _trackeval().metrics.CLEAR({"THRESHOLD": mot.MATCH_IOU, "PRINT_CONFIG": False})
    assert clear.eval_sequence(score.trackeval_data())["MOTA"] == pytest.approx(ours["mota"], abs=1e-9)
    assert 0.3 < ours["hota"] < 1.0


@pytest.mark.parametrize("name", ["supervision ByteTrack", "trackers SORT", "trackers ByteTrack", "trackers OC-SORT"])
def test_every_peer_follows_one_object_under_one_id(name):
    from argos_bringup.evaluation.peer import peer_factories

    peer = peer_factories(15.0, {"confirm_hits": 3, "max_coast_s": 1.0, "high_score": 0.5})[name]()
    ids = set()
    for i in range(20):
        x = 10.0 + 5 * i
        peer.update(Detections(np.array([[x, 100, x + 40, 120]], np.float32), [0.9], ["car"]), int(i / 15 * 1e9))
        ids.update(peer.confirmed_detections().ids)
    assert len(ids) == 1
    assert peer.confirmed_detections().boxes[0, 0] == pytest.approx(105.0, abs=2.0)


def test_peer_adapter_reports_confirmed_tracks_and_coasts_the_missing_ones():
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
