"""Interval bins of movements and line counts: clock alignment, publication when a bin closes,
revisions for late events, restart resume, incomplete movements counted apart; GEH."""

import calendar

import pytest

from argos_common.bins import IntervalBins, bin_start_ns
from argos_common.counts import CountRecord
from argos_common.movements import INCOMPLETE, NO_ENTRY, U_TURN, VANISHED, MovementRecord, geh, geh_for_interval

S = 1_000_000_000
T0 = calendar.timegm((2025, 3, 1, 7, 0, 0)) * S  # 07:00:00 UTC
MIN = 60 * S


def move(at_ns, name="west->east", cls="car", status="complete", reason="", left_after_s=4):
    from_line, to_line = name.split("->") if "->" in name else ("west", "")
    return MovementRecord(
        name, from_line, "", to_line, "", cls, at_ns, at_ns + left_after_s * S, "1", 1.0, 1.0, status, reason
    )


def count(at_ns, line="west", direction="in", cls="car"):
    return CountRecord(line, "eastbound", cls, direction, "1", at_ns)


def test_bins_are_aligned_to_the_clock_not_to_the_start():
    assert bin_start_ns(T0 + 14 * MIN + 59 * S, 15 * MIN) == T0
    assert bin_start_ns(T0 + 15 * MIN, 15 * MIN) == T0 + 15 * MIN
    bins = IntervalBins(15, close_delay_s=30.0)
    bins.start(T0 + 7 * MIN)  # started at 07:07: the first bin is still 07:00-07:15
    bins.add_movement(move(T0 + 8 * MIN))
    assert bins.due(T0 + 15 * MIN + 29 * S) == []  # not before the close delay
    (snap,) = bins.due(T0 + 15 * MIN + 30 * S)
    assert (snap.start_ns, snap.end_ns, snap.revision) == (T0, T0 + 15 * MIN, 1)
    assert snap.movements == {("west->east", "car"): 1}
    for minutes in (1, 5, 60):
        b = IntervalBins(minutes, 0.0)
        b.start(T0 + 30 * S)
        assert b.due(T0 + minutes * MIN)[0].start_ns == T0
    with pytest.raises(ValueError):
        IntervalBins(10)


def test_quiet_intervals_are_published_empty_and_each_bin_once():
    bins = IntervalBins(5, close_delay_s=0.0)
    bins.start(T0)
    bins.add_count(count(T0 + 6 * MIN))
    snaps = bins.due(T0 + 15 * MIN)
    assert [(s.start_ns - T0) // MIN for s in snaps] == [0, 5, 10]
    assert [s.lines for s in snaps] == [{}, {("west", "eastbound", "in", "car"): 1}, {}]
    assert bins.due(T0 + 16 * MIN) == []


def test_a_movement_is_binned_by_its_entry_and_a_late_one_revises_the_bin():
    bins = IntervalBins(15, close_delay_s=30.0, late_s=900.0)
    bins.start(T0)
    bins.add_movement(move(T0 + 14 * MIN + 50 * S))
    (first,) = bins.due(T0 + 15 * MIN + 30 * S)
    assert first.revision == 1 and first.movements == {("west->east", "car"): 1}
    # a vehicle that entered at 07:14:55 and left two minutes later: the closed bin changes
    late = move(T0 + 14 * MIN + 55 * S, left_after_s=120)
    assert bins.add_movement(late, now_ns=T0 + 17 * MIN)
    (second,) = bins.due(T0 + 17 * MIN)
    assert (second.start_ns, second.revision, second.movements) == (T0, 2, {("west->east", "car"): 2})
    assert bins.revisions == 1
    # beyond late_s the bin is gone: the event is refused and counted, never silently lost
    assert not bins.add_movement(move(T0 + MIN), now_ns=T0 + 31 * MIN)
    assert bins.too_late == 1


def test_incomplete_movements_are_counted_apart_by_reason():
    bins = IntervalBins(15, 0.0)
    bins.add_movement(move(T0 + MIN, "u_turn", status=INCOMPLETE, reason=U_TURN))
    bins.add_movement(move(T0 + 2 * MIN, "vanished", status=INCOMPLETE, reason=VANISHED))
    exit_only = MovementRecord(
        NO_ENTRY, "", "", "east", "", "bus", 0, T0 + 3 * MIN, "9", status=INCOMPLETE, reason=NO_ENTRY
    )
    bins.add_movement(exit_only)
    bins.add_movement(move(T0 + 4 * MIN))
    (snap,) = bins.due(T0 + 15 * MIN)
    assert snap.movements == {("west->east", "car"): 1}
    assert snap.incomplete == {
        ("u_turn", "west", "car"): 1,
        ("vanished", "west", "car"): 1,
        ("no_entry", "east", "bus"): 1,
    }


def test_restart_resumes_the_open_bin_and_does_not_republish_an_unchanged_one():
    before = IntervalBins(15, close_delay_s=30.0)
    before.start(T0)
    events = [move(T0 + 3 * MIN), move(T0 + 16 * MIN), move(T0 + 17 * MIN, "west->south")]
    for m in events:
        before.add_movement(m)
    published = before.due(T0 + 15 * MIN + 30 * S)  # 07:00 bin out; the 07:15 bin open
    assert [p.revision for p in published] == [1]
    # the process restarts at 07:20 with the stream's events and published bins
    after = IntervalBins(15, close_delay_s=30.0)
    after.start(T0 + 20 * MIN)
    assert after.restore(events, [], published, now_ns=T0 + 20 * MIN) == 3
    after.add_movement(move(T0 + 21 * MIN))
    (snap,) = after.due(T0 + 30 * MIN + 30 * S)
    assert snap.start_ns == T0 + 15 * MIN and snap.revision == 1
    assert snap.movements == {("west->east", "car"): 2, ("west->south", "car"): 1}
    # an event of the published bin that the previous run wrote after publishing it: next revision
    again = IntervalBins(15, close_delay_s=30.0)
    again.start(T0 + 20 * MIN)
    again.restore([*events, move(T0 + 14 * MIN)], [], published, now_ns=T0 + 20 * MIN)
    (revised,) = again.due(T0 + 20 * MIN)
    assert (revised.start_ns, revised.revision, revised.movements) == (T0, 2, {("west->east", "car"): 2})


def test_the_open_bin_is_the_running_matrix():
    bins = IntervalBins(15, 30.0)
    bins.add_movement(move(T0 + MIN))
    bins.add_movement(move(T0 + 2 * MIN, cls="bus"))
    snap = bins.open_bin(T0 + 5 * MIN)
    assert snap.revision == 0 and snap.movements == {("west->east", "car"): 1, ("west->east", "bus"): 1}


def test_geh_is_the_traffic_engineering_statistic_on_hourly_flows():
    assert geh(0, 0) == 0.0
    assert geh(100, 100) == 0.0
    assert geh(150, 100) == pytest.approx(4.472, abs=1e-3)
    # 15-minute counts 25 and 20 are 100 and 80 vehicles per hour
    assert geh_for_interval(25, 20, 900) == pytest.approx(geh(100, 80))
