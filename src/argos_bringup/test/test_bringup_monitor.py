from argos_bringup.monitor import RunMonitor, count_errors
from argos_common.counts import CountRecord, CountTotals


def crossing(line: str, label: str, direction: str) -> CountRecord:
    return CountRecord(line, "", label, direction, "1", 0)


def test_count_errors_compare_cells_not_totals():
    measured = CountTotals([crossing("west", "car", "in"), crossing("west", "car", "in")])
    # same total, wrong class: must show as 2 cell errors
    truth = CountTotals([crossing("west", "car", "in"), crossing("west", "van", "in")])
    err = count_errors(measured, truth)
    assert err["total_measured"] == err["total_truth"] == 2
    assert err["abs_error_by_class_direction"] == 2
    assert err["abs_error_by_line_direction"] == 0


def test_monitor_fps_uses_frame_arrivals():
    t = [0.0]
    mon = RunMonitor(clock=lambda: t[0])
    for _ in range(31):
        mon.on_detections()
        t[0] += 1 / 15
    assert abs(mon.fps() - 15.0) < 1e-6
