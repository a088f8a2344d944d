"""`argos eval counting` cells: one run's 1-min keys give the cells of every longer interval."""

from collections import Counter

from argos_bringup.evaluation.movements import MINUTE_NS, T0_NS, SceneResult


def result(ours: Counter, truth: Counter, duration_s: float = 1800.0) -> SceneResult:
    return SceneResult("clean", 7, duration_s, 0, 0.0, ours, truth, Counter(), Counter(), Counter(), 0)


def minute(i: int) -> int:
    return T0_NS + i * MINUTE_NS


def test_cells_are_rebinned_per_interval_and_scored_by_geh():
    # 07:02 and 07:07 are two 5-min bins but one 15-min bin; 07:20 is the second 15-min bin
    ours = Counter({(minute(2), "WBT", "car"): 3, (minute(7), "WBT", "car"): 2, (minute(20), "NBL", "bus"): 1})
    truth = Counter({(minute(2), "WBT", "car"): 3, (minute(7), "WBT", "van"): 4, (minute(20), "NBL", "bus"): 1})
    r = result(ours, truth)
    assert [(c[0], c[1], c[2], c[3]) for c in r.cells(15 * MINUTE_NS)] == [
        (minute(0), "WBT", 5, 7),
        (minute(15), "NBL", 1, 1),
    ]
    assert [(c[0], c[2], c[3]) for c in r.cells(5 * MINUTE_NS)] == [
        (minute(0), 3, 3),
        (minute(5), 2, 4),
        (minute(20), 1, 1),
    ]
    s = r.summary([15, 5])
    assert [g["interval_min"] for g in s["by_interval"]] == [15, 5]
    assert s["interval_min"] == 15 and s["cells"] == 2 and s["cells_exact"] == 1
    five = s["by_interval"][1]
    assert (five["cells"], five["cells_exact"]) == (3, 2)
    # 2 vs 4 in 5 min is 24 vs 48 an hour: GEH sqrt(2 * 24^2 / 72) = 4.0
    assert abs(five["geh_max"] - 4.0) < 1e-9 and five["cells_geh_lt_5"] == 3
    # the class of a movement counts in the per-class error, not in the movement cell
    assert s["movement_abs_error"] == 2 and s["movement_class_abs_error"] == 2 + 4


def test_a_partial_last_bin_is_scored_on_the_time_it_covers():
    ours = Counter({(minute(1), "EBT", "car"): 1})
    truth = Counter({(minute(1), "EBT", "car"): 3})
    # 2 min of scene: 1 vs 3 is 30 vs 90 an hour whatever the bin length
    short = result(ours, truth, duration_s=120.0)
    assert short.cells(15 * MINUTE_NS)[0][4] == short.cells(5 * MINUTE_NS)[0][4]
    full = result(ours, truth, duration_s=1800.0)
    assert full.cells(15 * MINUTE_NS)[0][4] < short.cells(15 * MINUTE_NS)[0][4]
