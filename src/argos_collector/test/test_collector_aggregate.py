"""Interval aggregation and line protocol: deterministic points, watermark closing, late entries."""

import json

import pytest

from argos_collector.aggregate import IntervalAggregator, MalformedEntry, parse_entry
from argos_collector.line_protocol import Point, to_lines

S = 1_000_000_000
ID = {"site": "s", "device": "d", "camera": "c"}


def count(stamp_ns, line="west", lane="", cls="car", direction="in", speed=None):
    return (
        "count",
        stamp_ns,
        {
            **ID,
            "line_id": line,
            "lane": lane,
            "class_id": cls,
            "direction": direction,
            "speed_px_s": speed,
            "speed_m_s": None,
        },
    )


def tracks(stamp_ns, labels):
    return "tracks", stamp_ns, {**ID, "inference_results": [{"label": label} for label in labels]}


def feed(agg, entries):
    closed = []
    for i, (kind, stamp, payload) in enumerate(entries):
        closed += agg.add(f"{i}-0", kind, stamp, payload)
    return closed


def lines_of(buckets):
    return to_lines([p for b in buckets for p in b.points()])


def test_line_protocol_escaping_types_and_sorted_tags():
    point = Point(
        "argos counts",
        {"z": "a b", "line": "w,1", "lane": "", "k=": "v"},
        {"count": 3, "mean": 1.5, "label": 'say "hi"', "ok": True, "none": None},
        42,
    )
    assert point.line() == (
        'argos\\ counts,k\\==v,line=w\\,1,z=a\\ b count=3i,mean=1.5,label="say \\"hi\\"",ok=true 42'
    )
    with pytest.raises(ValueError):
        Point("m", {}, {"x": float("nan")}, 1).line()


def test_interval_closes_only_after_the_grace_and_aggregates_counts_speed_and_occupancy():
    agg = IntervalAggregator(interval_s=10, grace_s=2)
    entries = [
        tracks(1 * S, ["car", "car", "bus"]),
        count(3 * S, speed=10.0),
        count(4 * S, speed=20.0),
        count(5 * S, direction="out"),
        tracks(6 * S, ["car"]),
        tracks(11 * S, []),
    ]
    assert feed(agg, entries) == []  # 11 s < 10 s + 2 s grace: still open
    (bucket,) = agg.add("9-0", *tracks(12 * S, []))
    text = lines_of([bucket])
    assert (
        "argos_counts,camera=c,class=car,device=d,direction=in,line=west,site=s count=2i,speed_px_s_mean=15.0 0" in text
    )
    assert "argos_counts,camera=c,class=car,device=d,direction=out,line=west,site=s count=1i 0" in text
    assert "argos_occupancy,camera=c,class=car,device=d,site=s objects_mean=1.5,objects_max=2i,frames=2i 0" in text
    assert "argos_occupancy,camera=c,class=bus,device=d,site=s objects_mean=0.5,objects_max=1i,frames=2i 0" in text
    assert "argos_interval,camera=c,device=d,site=s frames=2i,counts=3i,late=0i 0" in text
    assert bucket.entry_ids == ["0-0", "1-0", "2-0", "3-0", "4-0"]


def test_late_entries_go_to_the_earliest_open_interval_and_are_counted():
    agg = IntervalAggregator(interval_s=10, grace_s=0)
    closed = feed(agg, [count(1 * S), tracks(25 * S, [])])  # closes [0, 10) and [10, 20)
    assert [b.start_ns for b in closed] == [0]
    agg.add("late-0", *count(2 * S))  # its interval is gone: counted in [20, 30)
    (bucket,) = agg.flush_all()
    assert bucket.start_ns == 20 * S and bucket.late == 1 and agg.late == 1
    assert "late-0" in bucket.entry_ids


def test_replaying_a_suffix_from_the_stored_watermark_rebuilds_identical_points():
    entries = [tracks(i * S // 2, ["car"] * (i % 3)) for i in range(60)]
    entries += [count(7 * S), count(3 * S), count(17 * S, direction="out", speed=5.0), count(2 * S)]
    entries.sort(key=lambda e: e[1])
    entries.insert(40, count(1 * S))  # a late one in the middle
    whole = IntervalAggregator(interval_s=5, grace_s=1)
    reference = feed(whole, entries)

    first = IntervalAggregator(interval_s=5, grace_s=1)
    cut = 30
    done, watermark_at_commit, acked = [], 0, set()
    for i, (kind, stamp, payload) in enumerate(entries[:cut]):
        closed = first.add(f"{i}-0", kind, stamp, payload)
        if closed:
            done += closed
            watermark_at_commit = first.watermark_ns
            acked.update(x for b in closed for x in b.entry_ids)
    # crash: a new aggregator starts from the stored watermark and re-reads every unacknowledged entry
    second = IntervalAggregator(interval_s=5, grace_s=1, watermark_ns=watermark_at_commit)
    for i, (kind, stamp, payload) in enumerate(entries):
        if f"{i}-0" not in acked:
            done += second.add(f"{i}-0", kind, stamp, payload)
    assert lines_of(done) == lines_of(reference)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"type": "bogus", "payload": "{}", "stamp_ns": "1"}, "unknown entry type"),
        ({"type": "count", "payload": "{not json", "stamp_ns": "1"}, "unreadable"),
        ({"type": "count", "payload": "[]", "stamp_ns": "1"}, "not a JSON object"),
        ({"type": "count", "payload": json.dumps({"line_id": "w"}), "stamp_ns": "1"}, "lacks class_id, direction"),
        ({"type": "tracks", "payload": "{}", "stamp_ns": "x"}, "unreadable"),
        ({"type": "tracks", "payload": "{}", "stamp_ns": "1"}, "inference_results"),
    ],
)
def test_malformed_entries_name_the_reason(fields, reason):
    with pytest.raises(MalformedEntry, match=reason):
        parse_entry(fields)


def test_parse_entry_accepts_bytes_from_redis():
    kind, stamp, payload = parse_entry({b"type": b"totals", b"payload": b'{"total": 1}', b"stamp_ns": b"5"})
    assert (kind, stamp, payload) == ("totals", 5, {"total": 1})


def test_bin_entries_become_points_at_the_bin_start_that_a_revision_overwrites():
    from argos_bridge import schema
    from argos_common.bins import BinSnapshot

    start = 1_700_000_100 * S - (1_700_000_100 * S) % (900 * S)

    def bin_entry(revision, n):
        snap = BinSnapshot(start, start + 900 * S, revision, {("WBT", "car"): n}, {}, {("east", "", "in", "car"): n})
        payload = json.loads(
            schema.to_json(schema.bin_payload(**ID, snapshot=snap, now_ns=start + 930 * S, classes=["car"]))
        )
        return parse_entry({"type": "bin", "payload": json.dumps(payload), "stamp_ns": str(start + 930 * S)})

    agg = IntervalAggregator(10.0, 0.0)
    agg.add("1-0", *bin_entry(1, 3))
    agg.add("2-0", *bin_entry(2, 4))
    (bucket,) = agg.flush_all()
    bins = [p for p in bucket.points() if p.measurement.endswith("_bins")]
    lines = [p.line() for p in bins]
    assert lines[0].startswith("argos_movement_bins,camera=c,class=car,device=d,interval_min=15,movement=WBT,site=s ")
    assert lines[0].endswith(f"count=3i,revision=1i {start}")
    # the same series and time for both revisions: InfluxDB keeps the later one
    movement_points = [p for p in bins if p.measurement == "argos_movement_bins"]
    assert [p.fields for p in movement_points] == [{"count": 3, "revision": 1}, {"count": 4, "revision": 2}]
    assert (
        movement_points[0].tags == movement_points[1].tags and movement_points[0].time_ns == movement_points[1].time_ns
    )
    with pytest.raises(MalformedEntry):
        parse_entry({"type": "bin", "payload": json.dumps({**ID, "revision": 1}), "stamp_ns": "1"})
