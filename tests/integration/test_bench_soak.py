"""`argos bench soak` stopped early: Ctrl-C ends the run with the summary of the rows so far, and
takes the graph and the private servers down with it."""

import os
import shutil
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_ctrl_c_ends_the_soak_with_its_summary_and_no_process_left():
    bench = subprocess.Popen(
        [shutil.which("argos"), "bench", "soak", "--duration", "600", "--interval", "2", "--warmup", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(line[:7].strip().isdigit() for line in lines) < 3:
            line = bench.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        spawned = children(bench.pid)  # the graph and the private redis-server and mosquitto
        bench.send_signal(signal.SIGINT)
        out, _ = bench.communicate(timeout=90)
    finally:
        if bench.poll() is None:
            bench.kill()
    out = "".join(lines) + out
    assert bench.returncode == 0 and "Traceback" not in out, out[-3000:]
    assert "stopped by signal 2 after" in out and "RSS slope after warm-up: " in out, out[-3000:]
    assert len(spawned) >= 3 and not {pid for pid in spawned if os.path.exists(f"/proc/{pid}")}, spawned
