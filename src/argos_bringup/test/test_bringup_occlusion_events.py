"""ID switches per occlusion event: kept, switched and lost identities, by a vehicle or a tree."""

from __future__ import annotations

from argos_bringup.evaluation.occlusion import OcclusionEvents

CAR = [100.0, 100.0, 140.0, 120.0]
NEARER = [90.0, 105.0, 150.0, 130.0]  # covers CAR, bottom edge lower: nearer the camera
FAR_AWAY = [400.0, 100.0, 440.0, 120.0]


def _run(track_ids_after: list[str | None], occluder=NEARER) -> OcclusionEvents:
    """gt-1 seen with track 7 for 3 frames, hidden 4 frames behind `occluder`, then visible with
    the given reported ids frame by frame (None: not reported)."""
    events = OcclusionEvents(window=3)
    for _ in range(3):
        events.add(["gt-1", "gt-2"], [CAR, occluder], [1.0, 1.0], ["7", "8"], [CAR, occluder])
    for _ in range(4):
        events.add(["gt-1", "gt-2"], [CAR, occluder], [0.1, 1.0], ["8"], [occluder])
    for hyp in track_ids_after:
        ids, boxes = (["8"], [occluder]) if hyp is None else ([hyp, "8"], [CAR, occluder])
        events.add(["gt-1", "gt-2"], [CAR, occluder], [1.0, 1.0], ids, boxes)
    return events


def test_an_identity_kept_through_the_occlusion():
    s = _run([None, "7", "7"]).summary()
    assert s["vehicle_events"] == 1 and s["all_events"] == 1
    assert s["vehicle_switches_per_100"] == 0.0 and s["vehicle_lost_per_100"] == 0.0


def test_a_new_id_after_the_occlusion_is_a_switch():
    s = _run(["12", "12"]).summary()
    assert s["vehicle_switches_per_100"] == 100.0


def test_no_track_within_the_window_is_lost():
    s = _run([None, None, None, None]).summary()
    assert s["vehicle_lost_per_100"] == 100.0 and s["vehicle_switches_per_100"] == 0.0


def test_hidden_without_a_nearer_box_is_a_static_occlusion():
    s = _run(["7"], occluder=FAR_AWAY).summary()
    assert s["all_events"] == 1 and s["vehicle_events"] == 0
    assert s["vehicle_switches_per_100"] is None


def test_an_object_never_seen_before_it_is_hidden_is_no_event():
    events = OcclusionEvents()
    for visible in (0.1, 0.1, 1.0, 1.0):
        events.add(["gt-1"], [CAR], [visible], ["3"], [CAR])
    assert events.summary()["all_events"] == 0
