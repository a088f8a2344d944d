from argos_bringup.monitor import CountTable, RunMonitor, count_errors, percentiles


def test_percentiles():
    assert percentiles([]) == {"p50": None, "p95": None}
    p = percentiles(list(range(1, 101)))
    assert p["p50"] == 50.5 and p["p95"] == 95.05


def test_count_errors_compare_cells_not_totals():
    measured, truth = CountTable(), CountTable()
    measured.add("west", "car", "in")
    measured.add("west", "car", "in")
    truth.add("west", "car", "in")
    truth.add("west", "van", "in")   # same total, wrong class: must show as 2 cell errors
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
