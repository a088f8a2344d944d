"""Overflow policy of the bridge's hand-off queue (exercised before start(): nothing is sent)."""

import numpy as np

from argos_bridge.bridge import Bridge
from argos_common.detections import Detections

ONE_BOX = Detections(np.array([[0, 0, 10, 10]]), [0.9], ["car"], ["1"])


def count_event(i: int) -> dict:
    return {"stamp_ns": i, "line_id": "west", "class_id": "car", "direction": "in", "track_id": str(i)}


def queued_kinds(bridge: Bridge) -> list[str]:
    return [item[0] for item in bridge._queue]


def test_full_queue_drops_the_oldest_tracks_first():
    bridge = Bridge({"queue_size": 10})
    for i in range(15):
        bridge.submit_tracks(i, "f", ONE_BOX)
    stats = bridge.stats()
    assert stats["frames"] == 15 and stats["queue_depth"] == 10 and stats["queue_dropped"] == 5
    # the survivors are the newest five..fifteen, frame numbers kept
    assert [item[4] for item in bridge._queue] == list(range(5, 15))


def test_count_events_are_never_dropped_for_tracks():
    bridge = Bridge({"queue_size": 10})
    bridge.submit_count(count_event(0))
    for i in range(30):
        bridge.submit_tracks(i, "f", ONE_BOX)
    bridge.submit_count(count_event(1))
    kinds = queued_kinds(bridge)
    assert kinds.count("count") == 2 and len(kinds) == 10
    assert bridge.stats()["queue_dropped"] == (30 - 9) + 1  # tracks beyond the 9 that fit, then one for the 2nd count


def test_counts_may_overflow_the_queue_size_but_stay_bounded():
    bridge = Bridge({"queue_size": 10})
    for i in range(150):
        bridge.submit_count(count_event(i))
    stats = bridge.stats()
    assert stats["queue_depth"] == 100 and stats["counts_dropped"] == 50 and stats["queue_dropped"] == 0
    bridge.submit_tracks(0, "f", ONE_BOX)  # no room and no tracks to give up: the new tracks message goes
    assert bridge.stats()["queue_dropped"] == 1 and queued_kinds(bridge).count("tracks") == 0
