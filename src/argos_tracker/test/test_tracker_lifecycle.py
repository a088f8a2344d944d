"""Tracker: lifecycle, identity through crossings and occlusions, two-stage scores, ids, classes."""

import numpy as np
import pytest

from argos_common.detections import Detections
from argos_common.params import ConfigError
from argos_tracker.tracker import CONFIRMED, LOST, TENTATIVE, Tracker

FPS = 15
FRAME_NS = 1_000_000_000 // FPS


def stamp(frame):
    return frame * 1_000_000_000 // FPS


def box(cx, cy, w=40.0, h=18.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def dets(*items):
    """items: (box, score, label) tuples."""
    if not items:
        return Detections.empty()
    boxes, scores, labels = zip(*items)
    return Detections(np.array(boxes), np.array(scores), list(labels))


def run(tracker, frames):
    """frames: list of lists of (box, score, label); returns the tracks after each frame."""
    return [tracker.update(dets(*items), stamp(i)) for i, items in enumerate(frames)]


def by_position(tracks, x, y):
    """The track whose box centre is nearest to (x, y)."""
    return min(tracks, key=lambda t: np.hypot((t.box[0] + t.box[2]) / 2 - x, (t.box[1] + t.box[3]) / 2 - y))


def test_confirmed_after_confirm_hits_and_tentative_dies_at_first_miss():
    tracker = Tracker({"confirm_hits": 3})
    history = run(tracker, [[(box(100 + 7 * i, 100), 0.9, "car")] for i in range(3)] + [[]])
    assert [t.state for t in history[0]] == [TENTATIVE]
    assert [t.state for t in history[1]] == [TENTATIVE]
    assert [t.state for t in history[2]] == [CONFIRMED]
    assert [t.state for t in history[3]] == [LOST]

    tracker = Tracker({"confirm_hits": 3})
    history = run(tracker, [[(box(100 + 7 * i, 100), 0.9, "car")] for i in range(2)] + [[]])
    assert history[2] == []
    assert len(tracker.confirmed_detections()) == 0


def test_confirm_hits_one_confirms_at_birth():
    tracker = Tracker({"confirm_hits": 1})
    (track,) = tracker.update(dets((box(10, 10), 0.9, "car")), 0)
    assert track.state == CONFIRMED


def test_objects_crossing_perpendicular_paths_keep_their_ids():
    # An eastbound and a southbound vehicle meet in the middle of the intersection; their
    # boxes overlap for several frames (IoU up to ~0.3, above the association threshold).
    tracker = Tracker({})
    rng = np.random.default_rng(3)
    frames = []
    for i in range(50):
        east = np.array(box(450 + 7 * i, 400)) + rng.normal(0, 1.0, 4)
        south = np.array(box(625, 225 + 7 * i, w=18, h=40)) + rng.normal(0, 1.0, 4)
        frames.append([(east, 0.9, "car"), (south, 0.8, "van")])
    history = run(tracker, frames)
    start = history[5]
    east_id = by_position(start, 450 + 35, 400).id
    south_id = by_position(start, 625, 225 + 35).id
    assert east_id != south_id
    for i, tracks in enumerate(history[5:], start=5):
        assert {t.id for t in tracks} == {east_id, south_id}, f"frame {i}"
        # while the boxes overlap (centres coincide at frame 25) identity shows in the motion
        by_id = {t.id: t for t in tracks}
        assert by_id[east_id].velocity[0] > 60 and abs(by_id[east_id].velocity[1]) < 30, f"frame {i}"
        assert by_id[south_id].velocity[1] > 60 and abs(by_id[south_id].velocity[0]) < 30, f"frame {i}"
        if abs(i - 25) >= 5:
            assert by_position(tracks, 450 + 7 * i, 400).id == east_id, f"frame {i}"
            assert by_position(tracks, 625, 225 + 7 * i).id == south_id, f"frame {i}"
    labels = {t.id: t.label for t in history[-1]}
    assert labels == {east_id: "car", south_id: "van"}


def test_objects_passing_in_opposite_lanes_keep_their_ids():
    tracker = Tracker({})
    frames = [[(box(300 + 8 * i, 395), 0.9, "car"), (box(700 - 8 * i, 380), 0.9, "truck")] for i in range(50)]
    history = run(tracker, frames)
    ids_east = {by_position(t, 300 + 8 * i, 395).id for i, t in enumerate(history[3:], start=3)}
    ids_west = {by_position(t, 700 - 8 * i, 380).id for i, t in enumerate(history[3:], start=3)}
    assert len(ids_east) == 1 and len(ids_west) == 1 and ids_east != ids_west


@pytest.mark.parametrize("filter_kind", ["kalman", "fixed_gain"])
def test_one_second_occlusion_keeps_the_id(filter_kind):
    tracker = Tracker({"filter": filter_kind, "max_coast_s": 1.0})
    rng = np.random.default_rng(5)
    frames = []
    for i in range(60):
        hidden = 20 <= i < 35  # 15 frames at 15 fps: one second without detections
        frames.append([] if hidden else [(np.array(box(100 + 7 * i, 300)) + rng.normal(0, 1.0, 4), 0.9, "car")])
    history = run(tracker, frames)
    ids = {t.id for tracks in history[19:] for t in tracks}
    assert len(ids) == 1
    assert history[34][0].state == LOST
    assert history[35][0].state == CONFIRMED and history[35][0].hits == 21


def test_track_coasting_longer_than_max_coast_is_replaced():
    tracker = Tracker({"max_coast_s": 1.0})
    frames = [[] if 20 <= i < 40 else [(box(100 + 7 * i, 300), 0.9, "car")] for i in range(50)]
    history = run(tracker, frames)
    first_id = history[19][0].id
    assert all(t.id != first_id for t in history[45])
    assert len(history[45]) == 1


def test_low_score_detections_extend_tracks_but_never_start_them():
    tracker = Tracker({"high_score": 0.5, "low_score": 0.1})
    weak_only = run(tracker, [[(box(100 + 7 * i, 100), 0.3, "car")] for i in range(10)])
    assert all(tracks == [] for tracks in weak_only)

    tracker = Tracker({"high_score": 0.5, "low_score": 0.1})
    frames = [[(box(100 + 7 * i, 100), 0.9 if i < 5 else 0.3, "car")] for i in range(30)]
    history = run(tracker, frames)
    assert {t.id for tracks in history for t in tracks} == {history[0][0].id}
    assert history[-1][0].state == CONFIRMED and history[-1][0].misses == 0
    assert history[-1][0].score == pytest.approx(0.3)


def test_detections_below_low_score_or_of_unknown_class_are_ignored():
    tracker = Tracker({"low_score": 0.1, "classes": ["car", "bus"]})
    history = run(tracker, [[(box(100, 100), 0.05, "car"), (box(300, 100), 0.9, "person")]] * 5)
    assert history[-1] == []


def test_class_is_a_score_weighted_vote_over_the_life():
    tracker = Tracker({})
    labels = ["truck", "car", "car", "truck", "car", "car", "truck", "car"]
    scores = [0.95, 0.6, 0.6, 0.55, 0.6, 0.6, 0.55, 0.6]  # truck: 2.05, car: 3.0
    history = run(tracker, [[(box(100 + 7 * i, 100), s, lab)] for i, (lab, s) in enumerate(zip(labels, scores))])
    assert history[0][0].label == "truck"
    assert history[-1][0].label == "car"


def test_ids_increase_and_wrap_in_a_bounded_space_skipping_live_ids():
    tracker = Tracker(
        {"max_track_id": 4, "max_tracks": 2, "confirm_hits": 1, "max_coast_s": 0.0, "max_coast_stopped_s": 0.0}
    )
    ids = []
    far = box(1000, 600)
    for i in range(6):
        # a long-lived object keeps id 1 alive; a new object appears and vanishes every other frame
        items = [(far, 0.9, "car")]
        if i % 2 == 0:
            items.append((box(100 + 100 * i, 100), 0.9, "car"))
        tracks = tracker.update(dets(*items), stamp(i))
        ids.append(sorted(t.id for t in tracks))
    assert ids == [[1, 2], [1], [1, 3], [1], [1, 4], [1]]
    tracks = tracker.update(dets((far, 0.9, "car"), (box(800, 100), 0.9, "car")), stamp(6))
    assert sorted(t.id for t in tracks) == [1, 2]  # wrapped past 4, skipped live id 1


def test_max_tracks_refuses_births_beyond_the_cap():
    tracker = Tracker({"max_tracks": 2})
    tracks = tracker.update(dets(*[(box(100 + 100 * k, 100), 0.9, "car") for k in range(4)]), 0)
    assert len(tracks) == 2 and tracker.births_refused == 2


def test_stamps_going_back_in_time_reset_the_tracks():
    tracker = Tracker({})
    run(tracker, [[(box(100 + 7 * i, 100), 0.9, "car")] for i in range(5)])
    tracks = tracker.update(dets((box(500, 500), 0.9, "car")), 0)
    assert len(tracks) == 1 and tracks[0].state == TENTATIVE and tracker.resets == 1


def test_confirmed_detections_carry_track_ids_and_velocity_is_pixels_per_second():
    tracker = Tracker({})
    history = run(
        tracker, [[(box(100 + 7 * i, 100), 0.9, "car"), (box(500, 500 + 5 * (i % 2)), 0.9, "bus")] for i in range(30)]
    )
    out = tracker.confirmed_detections()
    assert sorted(out.ids) == sorted(str(t.id) for t in history[-1])
    mover = by_position(history[-1], 100 + 7 * 29, 100)
    assert mover.velocity[0] == pytest.approx(7 * FPS, rel=0.05)
    assert out.labels[out.ids.index(str(mover.id))] == "car"


@pytest.mark.parametrize(
    "values, key",
    [
        ({"low_score": 0.6, "high_score": 0.5}, "low_score"),
        ({"filter": "particle"}, "filter"),
        ({"confirm_hits": 0}, "confirm_hits"),
        ({"max_tracks": 10, "max_track_id": 10}, "max_track_id"),
    ],
)
def test_invalid_configuration_names_the_key(values, key):
    with pytest.raises(ConfigError) as err:
        Tracker(values)
    assert err.value.key == key


def test_stopped_vehicle_that_fades_from_detection_keeps_its_id_and_moving_one_does_not_linger():
    # Brake to a stop in 2 s (~5 m/s^2 at 9 px/m), then no detections for 5 s (a background-
    # subtraction detector absorbs a vehicle waiting at a red light), then pull away.
    rng = np.random.default_rng(9)
    xs, x = [], 100.0
    for v in [7.0] * 10 + list(np.linspace(7.0, 0.0, 30)) + [0.0] * 75 + list(np.linspace(0.0, 7.0, 20)) + [7.0] * 10:
        x += v
        xs.append(x)
    frames = [
        [] if 45 <= i < 120 else [(np.array(box(xi, 300)) + rng.normal(0, 1.0, 4), 0.9, "car")]
        for i, xi in enumerate(xs)
    ]
    history = run(Tracker({"max_coast_s": 1.0, "max_coast_stopped_s": 10.0}), frames)
    assert len({t.id for tracks in history[3:] for t in tracks}) == 1
    assert history[119][0].state == LOST and history[120][0].state == CONFIRMED
    # a moving track is not held: it is gone after max_coast_s
    moving = run(
        Tracker({"max_coast_s": 1.0, "max_coast_stopped_s": 10.0}),
        [[(box(100 + 7 * i, 300), 0.9, "car")] if i < 20 else [] for i in range(60)],
    )
    assert moving[40] == []


def test_thin_box_under_camera_shake_keeps_one_track_and_counts_once():
    # A bicycle from above (16 x 5 px) riding east across a line while the camera shakes by up
    # to 4 px: its box jumps off its prediction. Matched by IoU alone, the tracker starts a
    # second track on the same bicycle (an id switch; near a line, a double or a missed count).
    from argos_common.lines import CountingLine
    from argos_tracker.counting import LineCounter

    rng = np.random.default_rng(11)
    shake = np.clip(np.cumsum(rng.normal(0.0, 2.5, 60)), -4.0, 4.0)
    frames = [[(box(200 + 3.0 * i, 300 + shake[i], 16.0, 5.0), 0.9, "bicycle")] for i in range(60)]
    line = CountingLine("gate", np.array([(300.0, 250.0), (300.0, 350.0)]), ("eastbound",))

    def ids_and_counts(params):
        tracker, counter = Tracker(params), LineCounter([line])
        ids, counted = set(), 0
        for i, items in enumerate(frames):
            tracks = tracker.update(dets(*items), stamp(i))
            ids |= {t.id for t in tracks if t.state != TENTATIVE}
            counted += len(counter.update(tracks, stamp(i), i))
        return ids, counted + len(counter.update([], stamp(60), 60))

    ids, counted = ids_and_counts({"recovery_shape_iou": 0.0})
    assert len(ids) > 1  # the failure this guards against
    ids, counted = ids_and_counts({})
    assert len(ids) == 1 and counted == 1


def test_vehicle_hidden_for_one_and_a_half_seconds_keeps_its_id_by_default():
    # Under a tree canopy or behind a bus, 1-2 s without detections is common at intersections.
    visible = [i for i in range(60) if not 15 <= i < 15 + int(1.5 * FPS)]
    frames = [[(box(100 + 4.0 * i, 200), 0.9, "car")] if i in visible else [] for i in range(60)]
    history = run(Tracker({}), frames)
    assert {t.id for t in history[14]} == {t.id for t in history[-1]} and len(history[-1]) == 1


def test_held_vehicle_is_not_recovered_onto_the_vehicle_queued_behind_it():
    # Car A drives south and stops at a red light; its detections stop (a tree, a background
    # model). 3 s later car B, queued right behind it in the same lane, is first detected. B is
    # inside A's widened gate and has A's shape, but it is behind where A was last seen: a
    # new track, and A keeps waiting.
    frames = [[(box(600, 60 + 4.0 * min(i, 10), 18.0, 40.0), 0.9, "car")] for i in range(25)]
    frames += [[] for _ in range(3 * FPS)]
    frames += [[(box(600, 56, 18.0, 40.0), 0.9, "car")]]
    tracker = Tracker({})
    history = run(tracker, frames)
    (a,) = history[24]
    a_filter = tracker._live[0].filter
    assert a_filter.centre_gate_distance(np.array([box(600, 56, 18.0, 40.0)]))[0] < 13.8
    after = {t.id: t for t in history[-1]}
    assert after[a.id].state == LOST and len(after) == 2


def _published(tracker):
    return tracker.confirmed_detections().ids


def test_young_track_is_published_from_report_hits_but_counts_as_tentative():
    tracker = Tracker({"confirm_hits": 3, "report_hits": 2})
    frames = [[(box(100 + 7 * i, 100), 0.9, "car")] for i in range(3)]
    published, states = [], []
    for i, items in enumerate(frames):
        states.append([t.state for t in tracker.update(dets(*items), stamp(i))])
        published.append(_published(tracker))
    assert states == [[TENTATIVE], [TENTATIVE], [CONFIRMED]]  # what counting sees is unchanged
    assert published[0] == [] and published[1] == published[2] == ["1"]

    # report_hits = confirm_hits: only confirmed tracks are published (the rule before)
    tracker = Tracker({"confirm_hits": 3, "report_hits": 3})
    for i, items in enumerate(frames[:2]):
        tracker.update(dets(*items), stamp(i))
        assert _published(tracker) == []


def test_tracks_box_publishes_the_matched_detection_or_the_filter():
    # a car that jumps 3 px up and down every frame: the filter smooths it, the detection does not
    frames = [[(box(100 + 7 * i, 100 + (3 if i % 2 else -3)), 0.9, "car")] for i in range(8)]
    published, snapshot = {}, {}
    for choice in ("detection", "filtered"):
        tracker = Tracker({"confirm_hits": 3, "report_hits": 2, "tracks_box": choice})
        for i, items in enumerate(frames):
            tracks = tracker.update(dets(*items), stamp(i))
        published[choice] = tracker.confirmed_detections().boxes[0]
        snapshot[choice] = tracks[0].box
    np.testing.assert_array_equal(published["detection"], np.array(frames[-1][0][0], np.float32))
    np.testing.assert_array_equal(published["filtered"], np.array(snapshot["filtered"], np.float32))
    assert abs(published["filtered"][1] - published["detection"][1]) > 0.5
    # counting sees the filter either way: the Track snapshot does not change with the choice
    assert snapshot["detection"] == snapshot["filtered"]


def test_a_one_frame_false_positive_is_never_published():
    tracker = Tracker({"confirm_hits": 3, "report_hits": 2})
    for i in range(6):
        # a different random place every frame, high score: each starts a track that dies next frame
        tracker.update(dets((box(100 + 150 * i, 80 + 60 * (i % 3)), 0.9, "car")), stamp(i))
        assert _published(tracker) == []


def test_tentative_track_survives_one_weak_detection_only_when_allowed():
    frames = [[(box(100 + 7 * i, 100), 0.3 if i == 1 else 0.9, "car")] for i in range(4)]
    kept = run(Tracker({"confirm_hits": 3, "tentative_low_score": True}), frames)
    assert [t.id for t in kept[-1]] == [1] and kept[-1][0].state == CONFIRMED
    strict = run(Tracker({"confirm_hits": 3, "tentative_low_score": False}), frames)
    # without it the weak box ends the young track and the object is found again under a new id
    assert strict[1] == [] and [t.id for t in strict[-1]] == [2] and strict[-1][0].state == TENTATIVE


def test_weak_detections_alone_never_start_a_track():
    tracker = Tracker({"confirm_hits": 1, "tentative_low_score": True})
    for i in range(5):
        assert tracker.update(dets((box(100 + 7 * i, 100), 0.3, "car")), stamp(i)) == []


def _queue_behind_a_bus(occlusion_cover: float):
    """A car follows a bus at the bus's speed in a pole view (the car farther: its bottom edge
    higher); the bus hides it for 3 s (longer than max_coast_s 2 s) while both slow down from 60
    to 20 px/s; then the car shows again where the bus let it go. Returns (car id before, after)."""
    tracker = Tracker({"occlusion_cover": occlusion_cover, "max_coast_s": 2.0, "max_coast_occluded_s": 4.0})
    bus_x, car_x, frames = 300.0, 200.0, []
    for i in range(90):
        speed = 60.0 if i < 20 else 20.0  # px/s: the queue slows while the car is hidden
        bus_x += speed / FPS
        car_x += speed / FPS
        bus = (box(bus_x, 300, w=160, h=90), 0.9, "bus")
        car = (box(car_x + 60, 262, w=60, h=30), 0.9, "car")  # under the bus's box from frame 15 on
        frames.append([bus] if 15 <= i < 60 else [bus, car])
    history = run(tracker, frames)
    car_before = by_position(history[10], car_x - 75 * 60 / FPS + 60, 262)
    car_after = [t for t in history[-1] if t.label == "car"]
    assert len(car_after) == 1
    return car_before.id, car_after[0].id


def test_a_car_hidden_by_a_nearer_bus_longer_than_max_coast_keeps_its_id():
    before, after = _queue_behind_a_bus(0.5)
    assert before == after


def test_without_the_occlusion_rule_the_same_car_gets_a_new_id():
    before, after = _queue_behind_a_bus(0.0)
    assert before != after
