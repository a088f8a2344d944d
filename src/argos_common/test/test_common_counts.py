"""Count events into CountRecord and the running totals."""

import math
from dataclasses import dataclass

import pytest

from argos_common.counts import CountRecord, CountTotals


@dataclass
class TrackerCount:
    stamp_ns: int
    line_id: str
    lane: str
    class_id: str
    direction: str
    track_id: str


def test_record_from_mapping_and_from_attribute_object_agree():
    fields = dict(stamp_ns=5, line_id="west", lane="a", class_id="car", direction="in", track_id="3")
    assert CountRecord.from_event(fields) == CountRecord.from_event(TrackerCount(**fields))


def test_record_defaults_and_stamp_alias():
    record = CountRecord.from_event({"stamp": 7, "line_id": "n", "class_id": "bus", "direction": "out"})
    assert record.stamp_ns == 7 and record.lane == "" and record.track_id == "" and record.tracker_frame == 0
    assert math.isnan(record.speed_px_s) and math.isnan(record.speed_m_s)


def test_record_missing_required_field_names_it():
    with pytest.raises(KeyError, match="line_id"):
        CountRecord.from_event({"stamp_ns": 1, "class_id": "car", "direction": "in"})


def record(line="west", lane="", cls="car", direction="in"):
    return CountRecord(stamp_ns=0, line_id=line, lane=lane, class_id=cls, direction=direction, track_id="1")


def test_totals_since_start_and_per_interval():
    totals = CountTotals()
    totals.add(record())
    totals.add(record())
    totals.add(record(cls="bus", direction="out"))
    assert totals.roll() == [(("west", "", "bus", "out"), 1, 1), (("west", "", "car", "in"), 2, 2)]
    totals.add(record())
    assert totals.roll() == [(("west", "", "bus", "out"), 1, 0), (("west", "", "car", "in"), 3, 1)]
    assert totals.roll() == [(("west", "", "bus", "out"), 1, 0), (("west", "", "car", "in"), 3, 0)]


def test_totals_keep_lanes_apart():
    totals = CountTotals()
    totals.add(record(lane="eastbound"))
    totals.add(record(lane="westbound"))
    assert [row[0][1] for row in totals.roll()] == ["eastbound", "westbound"]
