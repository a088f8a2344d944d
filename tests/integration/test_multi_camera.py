"""Two cameras from one config in one process: own namespaces, own streams and topics,
independent counts."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration
EDGE = Path(__file__).resolve().parents[2] / "config" / "edge.yaml"


def two_camera_config(tmp_path, **inference) -> Path:
    config = yaml.safe_load(EDGE.read_text())
    config["/cam0/camera"] = {"ros__parameters": {"frame_id": "cam0_optical"}}
    config["/cam1/camera"] = {
        "ros__parameters": {"source": "synthetic://intersection?seed=11", "frame_id": "cam1_optical"}
    }
    config["/**/inference"]["ros__parameters"].update(inference)
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("shared", [False, True], ids=["detector-per-camera", "shared-detector"])
def test_two_cameras_run_independently_from_one_config(tmp_path, shared):
    path = two_camera_config(tmp_path)
    out = tmp_path / "summary.json"
    proc = subprocess.run(
        [shutil.which("argos"), "run", "--config", str(path), "--duration", "10", "--quiet", "--summary", str(out)]
        + (["--shared-inference"] if shared else []),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cameras = json.loads(out.read_text())["cameras"]
    assert set(cameras) == {"/cam0", "/cam1"}
    assert cameras["/cam0"]["nodes"]["bridge"]["stream"] == "argos:demo-site:edge-01:cam0"
    assert cameras["/cam1"]["nodes"]["bridge"]["stream"] == "argos:demo-site:edge-01:cam1"
    assert cameras["/cam1"]["source"] == "synthetic://intersection?seed=11"
    for summary in cameras.values():
        assert summary["frames"]["processed"] > 0 and summary["redis"]["stream_length_at_end"] > 0
    # different seeds, different traffic: each camera is compared with its own ground truth
    assert cameras["/cam0"]["ground_truth"] != cameras["/cam1"]["ground_truth"]

    if shared:  # one detector, adopted by the first camera's graph, processed both cameras' frames
        assert "inference" in cameras["/cam0"]["nodes"] and "inference" not in cameras["/cam1"]["nodes"]
        assert cameras["/cam0"]["nodes"]["inference"]["frames_processed"] == sum(
            c["frames"]["processed"] for c in cameras.values()
        )


def test_a_camera_section_error_names_the_camera(tmp_path):
    config = yaml.safe_load(EDGE.read_text())
    config["/cam1/camera"] = {"ros__parameters": {"fsp": 10.0}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [shutil.which("argos"), "check-config", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "error: /cam1/camera.fsp: unknown parameter" in proc.stderr


def test_shared_inference_refuses_the_per_camera_motion_engine(tmp_path):
    path = two_camera_config(tmp_path, engine="motion")
    proc = subprocess.run(
        [shutil.which("argos"), "run", "--config", str(path), "--duration", "3", "--quiet", "--shared-inference"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "inference_shared.engine" in proc.stderr, proc.stderr[-2000:]
