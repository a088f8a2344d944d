"""`argos model inspect` on an Ultralytics-style model (names/imgsz/end2end metadata), and its
--source run writing annotated PNGs and a detections summary."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytestmark = pytest.mark.integration

COCO = Path(__file__).resolve().parents[2] / "config" / "class_maps" / "coco.yaml"
NAMES = [line.split(":")[0].strip('"') for line in COCO.read_text().splitlines() if not line.startswith("#")]


def end2end_model(path: Path) -> Path:
    """Input [1,3,64,96]; output [1,300,6] final rows (one car box, then zero padding), with the
    metadata keys an Ultralytics end-to-end export writes. Not the real exporter's graph."""
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 10, 40, 30, 0.9, 2]  # car
    rows[0, 1] = [12, 11, 41, 31, 0.8, 2]  # overlapping car: final, NMS must not remove it
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
            helper.make_node("Mul", ["m", "zero"], ["z"]),
            helper.make_node("Add", ["rows", "z"], ["output0"]),
        ],
        "e2e",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 96])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 300, 6])],
        [numpy_helper.from_array(rows, "rows"), numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    names = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(NAMES)) + "}"
    for key, value in {"names": names, "imgsz": "[64, 96]", "end2end": "True", "task": "detect"}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def test_inspect_reports_layout_nms_names_and_runs_on_frames(tmp_path):
    model = end2end_model(tmp_path / "yolo26n.onnx")
    out = tmp_path / "inspect"
    exe = shutil.which("argos")
    args = [exe, "model", "inspect", str(model), "--source", "synthetic://intersection", "--frames", "2"]
    proc = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "layout   : end2end" in text and "end2end: True" in text and "nms      : inside the model" in text
    assert "80 names from onnx metadata_props" in text and "coco.yaml" in text
    assert "car -> car" in text and "ignored: 75 model classes" in text
    assert "never reported: van, car_with_trailer, truck_with_trailer, semi_trailer, unclassified, e_scooter" in text
    assert sorted(p.name for p in out.glob("*.png")) == ["frame_0000.png", "frame_0001.png"]
    summary = json.loads((out / "detections.json").read_text())
    assert summary["frames"] == 2 and summary["detections_by_label"] == {"car": 4}  # both boxes kept each frame
    assert summary["model"]["decoding"]["argos_applies_nms"] is False


def test_inspect_of_a_broken_model_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    proc = subprocess.run([shutil.which("argos"), "model", "inspect", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("error:") == 1 and str(bad) in proc.stderr
