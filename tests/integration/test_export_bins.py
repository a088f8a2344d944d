"""`argos export bins` as a user runs it, on bins the real bridge core published to a real
redis-server: one row per interval, a column per movement and class, the latest revision of a
bin, a quiet interval as zeros and an interval the unit was down as `no data`."""

import csv
import shutil
import subprocess
import time

import pytest

from argos_bridge.bridge import Bridge
from argos_bridge.schema import iso_utc_ms
from argos_common.bins import bin_start_ns
from argos_common.movements import MovementRecord
from waiting import wait_until

pytestmark = pytest.mark.integration

S = 1_000_000_000
MIN = 60 * S
KEY = "argos:s:d:c"


class Clock:
    def __init__(self, now_ns):
        self.now_ns = now_ns

    def __call__(self):
        return self.now_ns


def movement(name, from_line, to_line, label, entered_ns, track):
    return MovementRecord(name, from_line, "", to_line, "", label, entered_ns, entered_ns + 5 * S, track)


def export(*args):
    exe = shutil.which("argos")
    assert exe, "`argos` is not on PATH after `source scripts/env.sh`"
    return subprocess.run([exe, "export", "bins", *args], capture_output=True, text=True, timeout=60)


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark: Excel reads the encoding right
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_export_of_bins_published_by_the_bridge(tmp_path, redis_server, mqtt_broker, capsys):
    base = bin_start_ns(time.time_ns() - 3 * 3600 * S, 60 * MIN)  # on the hour: the hourly rows below are one
    clock = Clock(base + 5 * MIN)
    params = {"redis_url": redis_server.url, "mqtt_url": mqtt_broker.url, "site": "s", "device": "d", "camera": "c"}
    bridge = Bridge({**params, "totals_interval_s": 600.0, "bins.close_delay_s": 30.0}, clock_ns=clock)
    bridge.start()
    try:
        published = lambda n: wait_until(lambda: bridge.stats()["bins_published"] == n, 5.0)  # noqa: E731
        bridge.submit_movement(movement("WBT", "east", "west", "car", base + 2 * MIN, "1"))
        bridge.submit_movement(movement("WBT", "east", "west", "car", base + 3 * MIN, "2"))
        bridge.submit_movement(movement("WBT", "east", "west", "van", base + 4 * MIN, "3"))
        clock.now_ns = base + 15 * MIN + 31 * S
        assert published(1)
        bridge.submit_movement(movement("NBL", "south", "west", "bus", base + 16 * MIN, "4"))
        # a vehicle that entered at :14 is reported late: bin 0 goes out again as revision 2
        bridge.submit_movement(movement("WBT", "east", "west", "car", base + 14 * MIN, "5"))
        assert published(2)
        clock.now_ns = base + 30 * MIN + 31 * S
        assert published(3)
        clock.now_ns = base + 45 * MIN + 31 * S  # a quiet third bin
        assert published(4)
    finally:
        bridge.close()
    # the unit is down for the fourth bin: nothing is published for it

    out = tmp_path / "bins.csv"
    frm, to = iso_utc_ms(base), iso_utc_ms(base + 60 * MIN)
    proc = export("--from", frm, "--to", to, "--redis-url", redis_server.url, "--stream", KEY, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"4 intervals of {KEY}" in proc.stderr
    rows = read_csv(out)
    start = lambda ns: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / S))  # noqa: E731
    assert [(r["start (UTC)"], r["end (UTC)"]) for r in rows] == [
        (start(base + i * 15 * MIN), start(base + (i + 1) * 15 * MIN)) for i in range(4)
    ]
    first, second, quiet, down = rows
    assert (first["WBT car"], first["WBT van"], first["WBT total"], first["total"]) == ("3", "1", "4", "4")
    assert (first["revision"], first["data"]) == ("2", "ok")  # the late event's revision won
    assert (second["NBL bus"], second["NBL total"], second["WBT total"], second["total"]) == ("1", "1", "0", "1")
    assert quiet["total"] == "0" and quiet["data"] == "ok" and quiet["WBT car"] == "0"
    assert down["data"] == "no data" and down["total"] == "" and down["WBT car"] == ""
    header = list(rows[0])
    # every configured movement of edge.yaml's table has its columns, in the table's order
    assert header.index("EBT car") < header.index("WBT car") < header.index("NBL bus")
    assert "WBL car" in header and first["WBL car"] == "0" and first["WBL total"] == "0"
    # classes in the configured order, only those seen in the range
    assert {h.split(" ", 1)[1] for h in header if h.startswith("WBT ")} == {"car", "van", "bus", "total"}
    assert header.index("WBT car") < header.index("WBT van") < header.index("WBT bus")

    # hourly rows from 15-min bins: summed, and the hour says it misses one of its four bins
    hourly = tmp_path / "hourly.csv"
    args = ("--from", frm, "--to", to, "--redis-url", redis_server.url, "--stream", KEY)
    proc = export(*args, "--interval-min", "60", "--out", str(hourly))
    assert proc.returncode == 0, proc.stderr
    (hour,) = read_csv(hourly)
    assert (hour["WBT car"], hour["NBL bus"], hour["total"], hour["data"]) == ("3", "1", "5", "partial 3/4")

    # to stdout; one-line errors with exit code 2 for what the user typed wrong (in-process: the
    # console script was run above)
    from argos_bringup.cli import main

    capsys.readouterr()
    assert main(["export", "bins", *args]) == 0
    assert capsys.readouterr().out.startswith("start (UTC),end (UTC),")
    assert main(["export", "bins", *args, "--interval-min", "5"]) == 2
    assert "15-min bins" in capsys.readouterr().err
    assert main(["export", "bins", "--from", "yesterday", "--to", to, "--redis-url", redis_server.url]) == 2
    assert "'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
