"""The movement matrix as `argos run`'s summary and `argos status` show it."""

import json

from rich.console import Console

from argos_bringup.monitor import RunMonitor, movement_comparison
from argos_bringup.status import HealthBoard, movement_matrix_table
from argos_bringup.summary import movement_table
from argos_common.health import OK
from argos_common.movements import INCOMPLETE, NO_ENTRY, MovementRecord, matrix_from_keys
from argos_common.ros.diagnostics import value_text


def mv(from_line, to_line, label, name="", status="complete", reason=""):
    return MovementRecord(
        name or f"{from_line}->{to_line}", from_line, "", to_line, "", label, 1, 2, "7", status=status, reason=reason
    )


def text(renderable) -> str:
    console = Console(record=True, width=100, color_system=None)
    console.print(renderable)
    return console.export_text()


def table_rows(out: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("│┃").split(line[0])] for line in out.splitlines() if line and line[0] in "│┃"
    ]


TABLE = {("east", "west"): "WBT", ("south", "north"): "NBT"}


def test_comparison_names_the_truth_with_the_table_and_matches_per_class():
    ours = [
        mv("east", "west", "car", "WBT"),
        mv("east", "west", "car", "WBT"),
        mv("south", "north", "bus", "NBT"),
        mv("", "north", "car", "no_entry", INCOMPLETE, NO_ENTRY),
    ]
    truth = [mv("east", "west", "car"), mv("east", "west", "car"), mv("south", "north", "van")]
    c = movement_comparison(ours, truth, TABLE)
    rows = {r["movement"]: r for r in c["matrix"]}
    assert set(rows) == {"WBT", "NBT"}
    assert rows["WBT"]["match"] and rows["WBT"]["by_class"] == {"car": 2} == rows["WBT"]["truth_by_class"]
    assert (rows["NBT"]["from_line"], rows["NBT"]["to_line"]) == ("south", "north")
    # same movement total, wrong class: the row does not match, two class cells are off
    assert not rows["NBT"]["match"] and rows["NBT"]["total"] == rows["NBT"]["truth_total"] == 1
    assert (c["cells"], c["cells_matching"], c["abs_error_by_movement_class"]) == (3, 1, 2)
    assert not c["all_match"]
    # incomplete ones are listed, never compared
    assert c["incomplete"] == {NO_ENTRY: 1} and c["total"] == c["truth_total"] == 3


def test_the_run_monitor_keeps_one_entry_per_kind_of_movement_not_every_record():
    # `argos run --duration 0` runs for weeks: each record kept grew its memory for good
    monitor = RunMonitor()
    ours = [
        mv("east", "west", "car", "WBT"),
        mv("south", "north", "bus", "NBT"),
        mv("", "north", "car", "no_entry", INCOMPLETE, NO_ENTRY),
    ]
    truth = [mv("east", "west", "car"), mv("south", "north", "van")]
    for _ in range(1000):
        for record in ours:
            monitor.on_movement(record)
        for record in truth:
            monitor.on_truth_movement(record)
    assert len(monitor.movements.counts) == 3 and len(monitor.truth_movements.counts) == 2
    assert monitor.movement_comparison(TABLE) == movement_comparison(ours * 1000, truth * 1000, TABLE)
    assert monitor.movement_comparison(TABLE)["total"] == 2000


def test_summary_table_shows_lines_classes_and_the_match_column():
    c = movement_comparison(
        [mv("east", "west", "car", "WBT")], [mv("east", "west", "car"), mv("south", "north", "bus")], TABLE
    )
    rows = {cells[0]: cells[1:] for cells in table_rows(text(movement_table(c)))}
    assert rows["movement"] == ["from -> to", "graph", "truth", "match", "per class: graph (truth)"]
    assert rows["WBT"] == ["east -> west", "1", "1", "yes", "car 1 (1)"]
    assert rows["NBT"] == ["south -> north", "0", "1", "NO", "bus 0 (1)"]
    assert rows["total"][1:3] == ["1", "2"]


def test_status_shows_the_open_bin_matrix_of_a_bridge_only():
    open_bin = {"WBT car": 3, "WBT van": 1, "NBL bus": 2}
    assert matrix_from_keys(open_bin) == {"NBL": {"bus": 2}, "WBT": {"car": 3, "van": 1}}
    values = {"open_bin": value_text(open_bin), "open_bin_start": "2025-03-01T07:15:00.000Z", "frames": "12"}
    assert json.loads(values["open_bin"]) == open_bin  # JSON on /diagnostics, not a Python repr
    out = text(movement_matrix_table("/cam0/bridge", values))
    assert "since 2025-03-01T07:15:00.000Z (/cam0/bridge)" in " ".join(out.split())  # the title may wrap
    rows = {cells[0]: cells[1:] for cells in table_rows(out)}
    assert rows["movement"] == ["bus", "car", "van", "total"]
    assert rows["WBT"] == ["0", "3", "1", "4"] and rows["NBL"] == ["2", "0", "0", "2"]
    assert rows["total"] == ["2", "3", "1", "6"]
    assert movement_matrix_table("/cam0/tracker", {"frames": "3"}) is None
    assert movement_matrix_table("/cam0/bridge", {"open_bin": "not json"}) is None

    board = HealthBoard()
    board.update("/cam0/bridge", OK, "ok", values)
    board.update("/cam0/tracker", OK, "ok", {"confirmed_tracks": "4"})
    view = text(board.view())
    assert "Movements of the open bin" in view and view.count("Movements of the open bin") == 1
    assert "open_bin=" not in text(board.view(details=True))  # the matrix is its own table
    empty = text(movement_matrix_table("/cam0/bridge", {"open_bin": "{}"}))
    assert "(none yet)" in empty
