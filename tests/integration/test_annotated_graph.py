"""The composed graph serves its annotated stream over RTSP: an independent client decodes it
while the pipeline keeps processing every captured frame."""

import json
import shutil
import subprocess
import time

import pytest

from argos_common.endpoints import free_port

pytestmark = pytest.mark.integration


def test_composed_graph_serves_annotated_rtsp_to_a_viewer(tmp_path):
    port, out = free_port(), tmp_path / "summary.json"
    run = subprocess.Popen(
        [
            shutil.which("argos"),
            "run",
            "--duration",
            "12",
            "--quiet",
            "--summary",
            str(out),
            "--param",
            f"annotator.rtsp_port={port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        probe = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the server starts with the graph
            probe = subprocess.run(
                [
                    "ffprobe",
                    "-v",
                    "error",
                    "-rtsp_transport",
                    "tcp",
                    "-show_entries",
                    "stream=codec_name,width,height",
                    "-of",
                    "csv=p=0",
                    f"rtsp://127.0.0.1:{port}/annotated",
                ],
                capture_output=True,
                text=True,
                timeout=20,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.5)
        assert probe is not None and probe.stdout.strip() == "h264,1280,720", probe.stderr
    finally:
        _, err = run.communicate(timeout=90)
    assert run.returncode == 0, err[-3000:]
    s = json.loads(out.read_text())
    assert s["nodes"]["annotator"]["rtsp_frames_served"] > 0 and not s["nodes"]["annotator"]["rtsp_error"]
    # the viewer never took frames from inference (the annotator has a slot of its own): every
    # captured frame was offered to inference, which processed it or, when busy, had it replaced
    captured, inference = s["frames"]["captured"], s["nodes"]["inference"]
    assert inference["frames_received"] == captured
    assert s["frames"]["processed"] + s["frames"]["dropped_in_handoff"] == captured
    print(f"\nwith an RTSP viewer: {s['frames']['processed']} of {captured} frames processed, {s['fps']['mean']} FPS")
