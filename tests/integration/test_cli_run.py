"""`argos run` as a user runs it: embedded servers, summary JSON, and clear errors on bad input."""

import json
import shutil
import subprocess

import pytest

from argos_common.endpoints import free_port

pytestmark = pytest.mark.integration


def argos(*args, timeout=90):
    exe = shutil.which("argos")  # the console script users call, installed by colcon on PATH
    assert exe, "`argos` is not on PATH after `source scripts/env.sh`"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def test_run_writes_summary_with_counts_fps_latency(tmp_path):
    out = tmp_path / "summary.json"
    proc = argos("run", "--duration", "10", "--summary", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mosquitto_sub -h 127.0.0.1 -p" in proc.stdout  # the user is told where to watch
    s = json.loads(out.read_text())
    assert s["frames"]["processed"] > 0 and s["fps"]["mean"] > 0
    assert s["latency_ms"]["p50"] is not None and s["latency_ms"]["p95"] >= s["latency_ms"]["p50"]
    assert isinstance(s["counts"]["by_class_direction"], dict)
    assert s["ground_truth"]["by_class_direction"], "10 s of the default scene has ground-truth crossings"
    assert s["redis"]["entries_written"] > 0 and s["redis"]["stream_length_at_end"] > 0
    assert s["mqtt"]["received_by_independent_subscriber"].get("detections", 0) > 0
    # per-sink delivery counters (nothing spooled or dropped with healthy local servers)
    assert s["mqtt"]["spool_dropped"] == 0 and s["redis"]["dropped"] == 0 and s["bridge_queue"]["dropped"] == 0
    assert s["mqtt"]["messages_published"] >= s["mqtt"]["received_by_independent_subscriber"]["detections"]
    # the movement matrix next to the scene's true movements, named by edge.yaml's table
    mv = s["movements"]
    assert mv["truth_total"] > 0, "10 s of the default scene has vehicles through the intersection"
    approaches = {"east", "west", "north", "south"}
    for row in mv["matrix"]:
        assert row["from_line"] in approaches and row["to_line"] in approaches and row["from_line"] != row["to_line"]
        assert row["movement"][:2] in {"EB", "WB", "NB", "SB"}, row  # a label of the table, not `from->to`
        assert row["total"] == sum(row["by_class"].values())
        assert row["match"] == (row["by_class"] == row["truth_by_class"])
        assert row["movement"] in proc.stdout
    assert "Turning movements: graph (ground truth)" in proc.stdout
    # the clean scene: every cell matches but for a vehicle leaving in the last frames in flight
    assert mv["abs_error_by_movement_class"] <= 1, mv


@pytest.mark.parametrize(
    "args, key",
    [
        (["--source", "nothing://x"], "source"),
        (["--source", "file:///no/such/video.mp4"], "source"),
        (["--param", "camera.fps=fast"], "camera.fps"),
        (["--param", "tracker.confirm_hitz=3"], "tracker.confirm_hitz"),
        # lines drawn for 1280x720 do not fit a 5:4 view without a rule
        (["--param", "camera.height=1024"], "geometry.image_size"),
    ],
)
def test_bad_input_fails_fast_with_one_line_naming_the_parameter(args, key):
    proc = argos("run", "--duration", "3", *args, timeout=60)
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and key in errors[0], proc.stderr


def test_unreachable_brokers_do_not_stop_the_graph(tmp_path):
    out = tmp_path / "summary.json"
    dead_redis, dead_mqtt = free_port(), free_port()
    proc = argos(
        "run",
        "--duration",
        "5",
        "--quiet",
        "--summary",
        str(out),
        "--param",
        f"bridge.redis_url=redis://127.0.0.1:{dead_redis}/0",
        "--param",
        f"bridge.mqtt_url=mqtt://127.0.0.1:{dead_mqtt}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = json.loads(out.read_text())
    assert s["frames"]["processed"] > 0
    assert s["redis"]["entries_written"] == 0 and s["mqtt"]["messages_published"] == 0
