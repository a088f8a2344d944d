"""Turning movements from tracks entering by one approach line and leaving by another, with the
lines of config/edge.yaml; U-turns, vanished tracks and exits without entry are reported, and a
vehicle whose track breaks inside the box is one movement."""

import numpy as np
import pytest
from tracker_test_lines import EDGE_LINES as CONFIG_LINES

from argos_common.detections import Detections
from argos_common.movements import COMPLETE, INCOMPLETE, NO_ENTRY, U_TURN, VANISHED
from argos_common.params import ConfigError
from argos_tracker.pipeline import TrackingPipeline

FPS = 15.0
EDGE_LINES = {**CONFIG_LINES, "movements.lines": ["west", "east", "north", "south"]}
TABLE = {"movements.names": ["EBT", "EBR"], "movements.EBT.from": "west", "movements.EBT.to": "east"}
TABLE |= {"movements.EBR.from": "west", "movements.EBR.to": "south"}


def straight(a, b, step=8.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
    return [tuple(a + (b - a) * i / n) for i in range(n)]


def run(paths_per_frame, params=None, tail_frames=0):
    """`paths_per_frame`: per frame, the anchors (bottom centre) of the vehicles seen in it."""
    pipeline = TrackingPipeline({**EDGE_LINES, **(params or {})})
    out = []
    frames = list(paths_per_frame) + [[]] * tail_frames
    for i, anchors in enumerate(frames):
        boxes = np.array([[x - 16, y - 14, x + 16, y] for x, y in anchors], float).reshape(-1, 4)
        dets = Detections(boxes, [0.9] * len(anchors), ["car"] * len(anchors))
        out += pipeline.update(dets, int(round(i * 1e9 / FPS))).movements
    out += pipeline.finish_frame(int(round(len(frames) * 1e9 / FPS))).movements
    return out, pipeline


def one(path):
    return [[p] for p in path]


EASTBOUND = straight((300, 385), (980, 385))  # inner eastbound lane, bottom of the box at 385
EAST_RIGHT = straight((300, 415), (590, 415)) + straight((595, 425), (595, 640))  # outer lane, turns south


def test_through_and_right_turn_are_movements_named_by_their_lines_or_the_table():
    moves, pipeline = run(one(EASTBOUND) + one(EAST_RIGHT))
    assert [(m.movement, m.from_line, m.from_lane, m.to_line, m.to_lane, m.status) for m in moves] == [
        ("west->east", "west", "eastbound", "east", "eastbound", COMPLETE),
        ("west->south", "west", "eastbound", "south", "southbound", COMPLETE),
    ]
    first = moves[0]
    assert first.class_id == "car" and 0 < first.entered_ns < first.left_ns
    assert first.speed_px_s == pytest.approx(8.0 * FPS, rel=0.1)
    assert pipeline.movements.stats()["movements"] == 2
    labelled, _ = run(one(EASTBOUND) + one(EAST_RIGHT), TABLE)
    assert [m.movement for m in labelled] == ["EBT", "EBR"]


def test_u_turn_is_incomplete_never_a_movement():
    path = straight((300, 385), (520, 385)) + straight((520, 370), (520, 330)) + straight((515, 325), (300, 325))
    moves, pipeline = run(one(path))
    assert [(m.status, m.reason, m.from_line, m.to_line, m.to_lane) for m in moves] == [
        (INCOMPLETE, U_TURN, "west", "west", "westbound")
    ]
    assert pipeline.movements.stats()["movements_u_turn"] == 1


def test_a_track_that_vanishes_inside_is_incomplete_after_the_link_window():
    moves, pipeline = run(one(straight((300, 385), (560, 385))), {"movements.link_s": 1.0}, tail_frames=60)
    assert [(m.status, m.reason, m.from_line, m.to_line) for m in moves] == [(INCOMPLETE, VANISHED, "west", "")]
    assert moves[0].left_ns > moves[0].entered_ns
    # and at the end of the stream, a track still inside is reported as well
    moves, _ = run(one(straight((300, 385), (560, 385))))
    assert [m.reason for m in moves] == [VANISHED]


def test_an_exit_without_entry_is_incomplete():
    moves, _ = run(one(straight((600, 385), (980, 385))))
    assert [(m.status, m.reason, m.from_line, m.to_line, m.entered_ns) for m in moves] == [
        (INCOMPLETE, NO_ENTRY, "", "east", 0)
    ]


def gap_path(gap_frames):
    path = EASTBOUND
    return [[p] if not (30 <= i < 30 + gap_frames) else [] for i, p in enumerate(path)]


def test_a_short_gap_inside_keeps_one_track_through_the_trackers_recovery():
    moves, pipeline = run(gap_path(10))
    assert [(m.movement, m.status, m.linked_track_id) for m in moves] == [("west->east", COMPLETE, "")]
    assert pipeline.movements.linked == 0


def test_a_broken_id_inside_is_linked_into_one_movement_not_an_incomplete_plus_a_movement():
    # the first track dies after 0.3 s of coasting; the vehicle is re-found under a new id
    moves, pipeline = run(gap_path(12), {"max_coast_s": 0.3, "max_coast_stopped_s": 0.3})
    assert [(m.movement, m.status) for m in moves] == [("west->east", COMPLETE)]
    assert moves[0].linked_track_id not in ("", moves[0].track_id)
    assert pipeline.movements.linked == 1
    assert pipeline.movements.stats()["movements_incomplete"] == 0
    # without linking the same vehicle gives a vanished entry and an exit without entry
    moves, _ = run(gap_path(12), {"max_coast_s": 0.3, "max_coast_stopped_s": 0.3, "movements.link_s": 0.0})
    assert sorted(m.reason for m in moves) == [NO_ENTRY, VANISHED]


def test_two_vehicles_side_by_side_are_two_movements():
    other = straight((300, 355), (980, 355))  # inner lane next to it
    moves, _ = run([[a, b] for a, b in zip(EASTBOUND, other)])
    assert [m.movement for m in moves] == ["west->east", "west->east"]
    assert len({m.track_id for m in moves}) == 2


def test_movement_config_errors_name_the_key():
    with pytest.raises(ConfigError) as err:
        TrackingPipeline({**EDGE_LINES, "movements.lines": ["west", "nowhere"]})
    assert err.value.key == "movements.lines"
    with pytest.raises(ConfigError) as err:
        TrackingPipeline({**EDGE_LINES, **TABLE, "movements.EBR.to": "elsewhere"})
    assert err.value.key == "movements.EBR.to"
    with pytest.raises(ConfigError) as err:
        TrackingPipeline({**EDGE_LINES, **TABLE, "movements.EBR.to": "east"})
    assert err.value.key == "movements.EBR.to"
    # no approach lines: no movements at all
    assert run(one(EASTBOUND), {"movements.lines": []})[0] == []
