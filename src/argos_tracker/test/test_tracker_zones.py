"""Zone entry/exit events and occupancy: each rule against the way a naive counter miscounts."""

from argos_common.counts import CountRecord, CountTotals
from argos_tracker.tracker import CONFIRMED, LOST, TENTATIVE, Track
from argos_tracker.zones import ZoneCounter, parse_zones

ZONE = {"zones.names": ["box"], "zones.box.points": [100.0, 100.0, 300.0, 100.0, 300.0, 300.0, 100.0, 300.0]}


def track(tid, x, y, state=CONFIRMED, misses=0, birth=0, label="car"):
    return Track(tid, state, (x - 10.0, y - 20.0, x + 10.0, y), label, 0.9, (30.0, 0.0), 5, 5, misses, birth, 0)


def run(counter, path, **kw):
    events = []
    for i, (x, y) in enumerate(path):
        events += counter.update([track(1, x, y, **kw)], i, i)
    return events


def test_drive_through_emits_one_in_and_one_out_with_occupancy():
    counter = ZoneCounter(parse_zones(ZONE), hysteresis_px=5.0)
    events, inside = [], []
    for i, x in enumerate(range(50, 360, 10)):
        events += counter.update([track(1, float(x), 200.0)], i, i)
        inside.append(counter.occupancy()["box"])
    assert [(e.line_id, e.direction) for e in events] == [("box", "in"), ("box", "out")]
    assert max(inside) == 1 and inside[-1] == 0
    assert [(e.line_id, e.lane, e.class_id, e.direction, e.track_id) for e in events] == [
        ("box", "", "car", "in", "1"),
        ("box", "", "car", "out", "1"),
    ]


def test_jitter_on_the_border_never_toggles():
    counter = ZoneCounter(parse_zones(ZONE), hysteresis_px=5.0)
    path = [(80.0, 200.0)] + [(100.0 + (3.0 if i % 2 else -3.0), 200.0) for i in range(30)]
    assert run(counter, path) == []


def test_stop_and_go_across_the_border_counts_each_direction_once():
    counter = ZoneCounter(parse_zones(ZONE), hysteresis_px=2.0)
    path = [(80.0, 200.0), (120.0, 200.0), (80.0, 200.0), (120.0, 200.0), (80.0, 200.0), (120.0, 200.0)]
    events = run(counter, path)
    assert sorted(e.direction for e in events) == ["in", "out"]


def test_born_inside_never_entered_and_coasting_positions_are_ignored():
    counter = ZoneCounter(parse_zones(ZONE))
    assert run(counter, [(200.0, 200.0), (250.0, 200.0)]) == []
    other = ZoneCounter(parse_zones(ZONE))
    # a coasting prediction drifting into the zone is not an entry
    assert run(other, [(50.0, 200.0), (200.0, 200.0)], state=LOST, misses=1) == []


def test_tentative_events_wait_for_confirmation_and_vanish_if_it_dies():
    counter = ZoneCounter(parse_zones(ZONE))
    assert run(counter, [(50.0, 200.0), (200.0, 200.0)], state=TENTATIVE) == []
    assert counter.update([], 3, 3) == []  # died tentative: nothing
    kept = ZoneCounter(parse_zones(ZONE))
    assert run(kept, [(50.0, 200.0), (200.0, 200.0)], state=TENTATIVE) == []
    events = kept.update([track(1, 210.0, 200.0, label="van")], 3, 3)
    assert [(e.direction, e.class_id, e.tracker_frame) for e in events] == [("in", "van", 1)]


def test_totals_line_is_stable_and_readable():
    records = [CountRecord("west", "eastbound", "car", "in", "1", 0)] * 3 + [
        CountRecord("box", "", "bus", "out", "2", 0)
    ]
    text = CountTotals(records).text({"box": 2})
    assert text == "totals 4: box bus out=1, west/eastbound car in=3; occupancy box=2"
