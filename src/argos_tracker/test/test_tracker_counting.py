"""Line counting: each test is a way a naive counter (every sign change of the anchor's side of
the line) miscounts; the naive count is computed alongside to show the case is a real trap."""

import math

import numpy as np
import pytest
from tracker_test_lines import EDGE_LINES

from argos_common.counts import CountTotals
from argos_common.detections import Detections
from argos_common.lines import DIRECTION_IN, DIRECTION_OUT, CountingLine, parse_lines
from argos_tracker.counting import LineCounter, signed_distance
from argos_tracker.tracker import CONFIRMED, TENTATIVE, Track, Tracker

FPS = 15


def stamp(frame):
    return frame * 1_000_000_000 // FPS


# Walking this line from top to bottom of the image, the right-hand side is x < 400: an
# anchor moving to +x crosses right-to-left, i.e. "in".
VERTICAL = CountingLine("gate", np.array([[400.0, 100.0], [400.0, 300.0]]), ("lane_a",))


def track_at(x, y, track_id=1, state=CONFIRMED, misses=0, birth_ns=0, label="car"):
    return Track(
        track_id, state, (x - 10.0, y - 5.0, x + 10.0, y + 5.0), label, 0.9, (100.0, 0.0), 5, 5, misses, birth_ns, 0
    )


def feed(counter, path, states=None, misses=None, start_frame=0):
    """Feed one track along `path` [(x, y) | None = track absent]; returns the events per frame."""
    out = []
    for i, point in enumerate(path):
        frame = start_frame + i
        tracks = (
            []
            if point is None
            else [track_at(*point, state=(states[i] if states else CONFIRMED), misses=(misses[i] if misses else 0))]
        )
        out.append(counter.update(tracks, stamp(frame), frame))
    return out


def naive_count(line, points):
    sides = [np.sign(line.side(p)) for p in points]
    return sum(1 for a, b in zip(sides, sides[1:]) if a and b and a != b)


def flat(events):
    return [e for frame in events for e in frame]


def test_box_jitter_back_and_forth_across_a_line_counts_once():
    xs = [370, 380, 390, 398, 403, 397, 402, 398, 404, 396, 405, 412, 420]
    path = [(x, 200.0) for x in xs]
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert naive_count(VERTICAL, path) == 7
    assert [(e.line_id, e.lane, e.direction) for e in events] == [("gate", "lane_a", DIRECTION_IN)]


def test_large_back_and_forth_is_still_one_count_per_track_and_line():
    # Flips well beyond the hysteresis (or a car that really turns back): first crossing only.
    xs = [380, 392, 408, 392, 408, 392, 408, 380, 370]
    path = [(x, 200.0) for x in xs]
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert naive_count(VERTICAL, path) == 6
    assert [e.direction for e in events] == [DIRECTION_IN]


def test_moving_parallel_along_the_line_never_counts():
    rng = np.random.default_rng(1)
    path = [(400.0 + rng.uniform(-4.0, 4.0), 100.0 + 5 * i) for i in range(41)]
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert naive_count(VERTICAL, path) > 5
    assert events == []


@pytest.mark.parametrize("y", [305.0, 350.0, 60.0])
def test_passing_beyond_the_end_of_the_segment_never_counts(y):
    path = [(363.0 + 8 * i, y) for i in range(11)]
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert naive_count(VERTICAL, path) == 1
    assert events == []


@pytest.mark.parametrize("dx, direction", [(8.0, DIRECTION_IN), (-8.0, DIRECTION_OUT)])
def test_direction_is_correct_both_ways(dx, direction):
    path = [(403.0 - 5 * dx + dx * i, 150.0) for i in range(11)]
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert [e.direction for e in events] == [direction]


@pytest.mark.parametrize("dwell", [1, 4])
def test_anchor_landing_exactly_on_the_line_still_counts(dwell):
    # Integer speeds put sample points exactly on the line; CountingLine.crossing is half-open
    # (the step onto the line crosses, the steps from it do not), so exactly one raw crossing.
    path = (
        [(360.0 + 8 * i, 150.0) for i in range(5)]
        + [(400.0, 150.0)] * dwell
        + [(408.0 + 8 * i, 150.0) for i in range(5)]
    )
    assert sum(VERTICAL.crossing(p, q) is not None for p, q in zip(path, path[1:])) == 1
    events = flat(feed(LineCounter([VERTICAL], "center", 5.0), path))
    assert [(e.direction, e.tracker_frame) for e in events] == [(DIRECTION_IN, 5 + dwell)]  # first point off the line


CONFIG_LINES = parse_lines(EDGE_LINES)


@pytest.mark.parametrize(
    "start, step, expected",
    [
        ((380.0, 395.0), (8.0, 0.0), [("west", "eastbound", "in"), ("east", "eastbound", "out")]),
        ((900.0, 325.0), (-8.0, 0.0), [("east", "westbound", "in"), ("west", "westbound", "out")]),
        ((605.0, 160.0), (0.0, 8.0), [("north", "southbound", "in"), ("south", "southbound", "out")]),
        ((675.0, 560.0), (0.0, -8.0), [("south", "northbound", "in"), ("north", "northbound", "out")]),
    ],
)
def test_configured_intersection_lines_count_entering_as_in_with_lanes(start, step, expected):
    path = [(start[0] + step[0] * i, start[1] + step[1] * i) for i in range(70)]
    events = flat(feed(LineCounter(CONFIG_LINES, "center", 5.0), path))
    assert [(e.line_id, e.lane, e.direction) for e in events] == expected


def test_tentative_crossing_counts_once_confirmed_with_the_crossing_frame():
    xs = [396, 402, 410, 418, 426, 434]
    states = [TENTATIVE, TENTATIVE, TENTATIVE, TENTATIVE, CONFIRMED, CONFIRMED]
    per_frame = feed(LineCounter([VERTICAL], "center", 5.0), [(x, 200.0) for x in xs], states=states)
    assert [len(e) for e in per_frame] == [0, 0, 0, 0, 1, 0]
    (event,) = per_frame[4]
    assert event.tracker_frame == 1 and event.stamp_ns == stamp(1)  # the step 396 -> 402
    assert event.direction == DIRECTION_IN


def test_tentative_track_that_dies_never_counts():
    counter = LineCounter([VERTICAL], "center", 5.0)
    events = flat(
        feed(counter, [(390, 200.0), (402, 200.0), (414, 200.0), None, None], states=[TENTATIVE] * 3 + [None, None])
    )
    assert events == []


def test_coasting_predictions_never_count_only_measured_anchors():
    # Occluded while crossing: the prediction crosses, the count waits for the track to be seen.
    path = [(380, 200.0), (388, 200.0), (396, 200.0), (404, 200.0), (412, 200.0), (420, 200.0)]
    misses = [0, 0, 1, 2, 3, 0]
    per_frame = feed(LineCounter([VERTICAL], "center", 5.0), path, misses=misses)
    assert [len(e) for e in per_frame] == [0, 0, 0, 0, 0, 1]
    # ... and a track that is never seen again does not count on its prediction alone
    per_frame = feed(LineCounter([VERTICAL], "center", 5.0), path[:5] + [None], misses=misses[:5] + [None])
    assert flat(per_frame) == []


def test_confirmed_track_ending_just_past_a_line_counts_at_removal():
    # A line a few pixels from the frame edge: the object leaves the image before its anchor
    # can settle beyond the hysteresis.
    counter = LineCounter([VERTICAL], "center", 5.0)
    per_frame = feed(counter, [(380, 200.0), (390, 200.0), (398, 200.0), (402, 200.0), None])
    assert [len(e) for e in per_frame] == [0, 0, 0, 0, 1]
    assert per_frame[-1][0].tracker_frame == 3
    # but not when it ended back on its original side, nor when it never got confirmed
    counter = LineCounter([VERTICAL], "center", 5.0)
    assert flat(feed(counter, [(380, 200.0), (398, 200.0), (402, 200.0), (399, 200.0), None])) == []
    counter = LineCounter([VERTICAL], "center", 5.0)
    assert flat(feed(counter, [(390, 200.0), (398, 200.0), (402, 200.0), None], states=[TENTATIVE] * 3 + [None])) == []


def test_a_track_counts_on_every_line_it_crosses_and_totals_add_up():
    line2 = CountingLine("gate2", np.array([[500.0, 100.0], [500.0, 300.0]]))
    counter = LineCounter([VERTICAL, line2], "center", 5.0)
    events = flat(feed(counter, [(370 + 10 * i, 200.0) for i in range(20)]))
    for i in range(20):
        events += counter.update([track_at(520 - 10 * i, 250.0, track_id=2, label="bus")], stamp(30 + i), 30 + i)
    assert CountTotals(events).as_dict() == {
        ("gate", "lane_a", "car", DIRECTION_IN): 1,
        ("gate2", "", "car", DIRECTION_IN): 1,
        ("gate", "lane_a", "bus", DIRECTION_OUT): 1,
        ("gate2", "", "bus", DIRECTION_OUT): 1,
    }


def test_reused_id_with_a_new_birth_is_a_new_object():
    counter = LineCounter([VERTICAL], "center", 5.0)
    events = []
    for birth, start in ((0, 0), (stamp(100), 100)):
        for i in range(6):
            t = track_at(385 + 6 * i, 200.0, track_id=7, birth_ns=birth)
            events += counter.update([t], stamp(start + i), start + i)
    assert len(events) == 2


def test_signed_distance_to_polyline():
    assert signed_distance(VERTICAL, (390.0, 200.0)) == pytest.approx(10.0)
    assert signed_distance(VERTICAL, (410.0, 200.0)) == pytest.approx(-10.0)
    assert abs(signed_distance(VERTICAL, (405.0, 320.0))) == pytest.approx(math.hypot(5.0, 20.0))
    assert signed_distance(VERTICAL, (400.0, 200.0)) == 0.0


# -- through the real tracker: noisy boxes ---------------------------------------------------


def box(cx, bottom, w=40.0, h=18.0):
    return [cx - w / 2, bottom - h, cx + w / 2, bottom]


def track_and_count(boxes_per_frame, lines, frame_width=1280.0):
    tracker = Tracker({})
    counter = LineCounter(lines, "bottom_center", 5.0)
    events = []
    for i, boxes in enumerate(boxes_per_frame):
        clipped = [np.clip(b, [0, 0, 0, 0], [frame_width, 720, frame_width, 720]) for b in boxes]
        visible = [b for b in clipped if b[2] - b[0] >= 6.0]
        dets = Detections(np.array(visible).reshape(-1, 4), [0.9] * len(visible), ["car"] * len(visible))
        events += counter.update(tracker.update(dets, stamp(i)), stamp(i), i)
    # the stream ends: let the tracker remove everything
    for j in range(len(boxes_per_frame), len(boxes_per_frame) + 30):
        events += counter.update(tracker.update(Detections.empty(), stamp(j)), stamp(j), j)
    return events


def test_stop_and_go_right_on_the_line_counts_once():
    # Approach the line at 7 px/frame, brake to a stop with the anchor on the line, wait three
    # seconds (a red light) under box noise, then pull away.
    rng = np.random.default_rng(11)
    line = CountingLine("stop", np.array([[400.0, 300.0], [400.0, 500.0]]))
    x, positions = 300.0, []
    speeds = [7.0] * 10 + list(np.linspace(7.0, 0.0, 10)) + [0.0] * 45 + list(np.linspace(0.0, 7.0, 10)) + [7.0] * 15
    for v in speeds:
        x += v
        positions.append(x)
    stop_at = positions[30]
    positions = [p - stop_at + 400.0 for p in positions]  # standing exactly on the line
    raw = [np.array(box(p, 420.0)) + rng.normal(0.0, 1.5, 4) for p in positions]
    assert naive_count(line, [((b[0] + b[2]) / 2, b[3]) for b in raw]) > 3
    events = track_and_count([[b] for b in raw], [line])
    assert [(e.direction, e.track_id) for e in events] == [(DIRECTION_IN, "1")]


@pytest.mark.parametrize("line_x, x0, step", [(1274.0, 1150.0, 8.0), (6.0, -19.0, 8.0)])
def test_line_near_the_frame_edge_still_counts(line_x, x0, step):
    # Leaving (line 6 px before the right edge) and entering (6 px after the left edge) the
    # image: boxes are clipped at the border, so the anchor slows down and stops short.
    rng = np.random.default_rng(2)
    line = CountingLine("edge", np.array([[line_x, 300.0], [line_x, 500.0]]))
    frames = [[np.array(box(x0 + step * i, 420.0)) + rng.normal(0.0, 1.0, 4)] for i in range(25)]
    events = track_and_count(frames, [line])
    assert [e.direction for e in events] == [DIRECTION_IN]


def test_vehicle_waiting_on_the_line_unseen_counts_once_when_it_pulls_away():
    # Queued at a red light with the anchor just before the line; the detector loses it for
    # 5 s and only finds it again once it has pulled away over the line: one count, by the same
    # track (a tracker that dropped it would start a new track past the line and miss it).
    rng = np.random.default_rng(12)
    line = CountingLine("stop", np.array([[400.0, 300.0], [400.0, 500.0]]))
    x, positions = 330.0, []
    for v in [7.0] * 10 + list(np.linspace(7.0, 0.0, 30)) + [0.0] * 90 + list(np.linspace(0.0, 7.0, 20)) + [7.0] * 10:
        x += v
        positions.append(x)
    positions = [p - positions[40] + 397.0 for p in positions]  # stands 3 px before the line
    seen_again = next(i for i, p in enumerate(positions) if i > 45 and p > 412.0)
    frames = [
        [] if 45 <= i < seen_again else [np.array(box(p, 420.0)) + rng.normal(0.0, 1.0, 4)]
        for i, p in enumerate(positions)
    ]
    events = track_and_count(frames, [line])
    assert [(e.direction, e.track_id) for e in events] == [(DIRECTION_IN, "1")]
