"""`argos export bins` table: time parsing, latest revision, no-data rows, summing, local time."""

import calendar
import json
import time

import pytest

from argos_bringup.export import ExportError, bin_table, latest_bins, parse_time

S = 1_000_000_000
MIN = 60 * S
T0 = calendar.timegm((2025, 3, 1, 7, 0, 0)) * S


def payload(start_ns, revision, rows, interval_min=15):
    return json.dumps(
        {
            "bin_start_ns": start_ns,
            "interval_min": interval_min,
            "revision": revision,
            "movements": [{"movement": m, "class_id": c, "count": n} for (m, c), n in rows.items()],
        }
    )


def test_times_without_a_zone_are_utc_and_zones_are_honoured():
    assert parse_time("2025-03-01T07:00:00Z") == T0 == parse_time("2025-03-01 07:00") == parse_time("2025-03-01T07:00")
    assert parse_time("2025-03-01T08:00:00+01:00") == T0
    with pytest.raises(ExportError, match="not an ISO 8601 time"):
        parse_time("7 am")


def test_latest_revision_wins_whatever_the_order_and_foreign_entries_are_skipped():
    bins = latest_bins(
        [
            payload(T0, 2, {("WBT", "car"): 4}),
            payload(T0, 1, {("WBT", "car"): 3}),
            "not json",
            json.dumps({"bin_start_ns": T0 + 15 * MIN}),  # no interval: not a bin of this schema
        ]
    )
    assert list(bins) == [T0] and bins[T0].revision == 2 and bins[T0].movements == {("WBT", "car"): 4}


def test_rows_cover_the_range_with_no_data_where_no_bin_was_published():
    bins = latest_bins([payload(T0, 1, {("WBT", "car"): 2, ("NBL", "bus"): 1}), payload(T0 + 30 * MIN, 1, {})])
    header, rows = bin_table(bins, T0 + 5 * MIN, T0 + 45 * MIN, movements=["NBL", "WBT", "EBT"], classes=["bus", "car"])
    assert header == [
        "start (UTC)",
        "end (UTC)",
        *("NBL bus", "NBL car", "WBT bus", "WBT car", "EBT bus", "EBT car"),
        *("NBL total", "WBT total", "EBT total"),
        *("total", "data", "revision"),
    ]
    # --from inside an interval: the row of that interval starts at its boundary
    assert [r[0] for r in rows] == ["2025-03-01 07:00:00", "2025-03-01 07:15:00", "2025-03-01 07:30:00"]
    assert rows[0][2:] == ["1", "0", "0", "2", "0", "0", "1", "2", "0", "3", "ok", "1"]
    assert rows[1][2:] == [""] * 10 + ["no data", ""]
    assert rows[2][-3:] == ["0", "ok", "1"]
    header, (hour,) = bin_table(bins, T0, T0 + 60 * MIN, interval_min=60, movements=["WBT"])
    assert hour[header.index("WBT car")] == "2" and hour[-2] == "partial 2/4"


def test_intervals_that_do_not_add_up_are_refused():
    bins = latest_bins([payload(T0, 1, {}), payload(T0 + 5 * MIN, 1, {}, interval_min=5)])
    with pytest.raises(ExportError, match="bins of 5, 15 minutes"):
        bin_table(bins, T0, T0 + 15 * MIN)
    with pytest.raises(ExportError, match="15-min bins"):
        bin_table(latest_bins([payload(T0, 1, {})]), T0, T0 + 15 * MIN, interval_min=5)
    with pytest.raises(ExportError, match="after --from"):
        bin_table({}, T0, T0)


def test_local_time_states_its_offset(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        header, rows = bin_table(latest_bins([payload(T0, 1, {})]), T0, T0 + 15 * MIN, local=True)
        assert header[:3] == ["start (local)", "end (local)", "utc_offset"]
        assert rows[0][:3] == ["2025-03-01 08:00:00", "2025-03-01 08:15:00", "+01:00"]
        assert parse_time("2025-03-01 08:00", local=True) == T0
    finally:
        monkeypatch.undo()  # the process's own zone back for the tests after this one
        time.tzset()
