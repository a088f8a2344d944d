"""Every malformed input file ends `argos run` / `argos check-config` with one line naming the file
and what is wrong, exit code 2, and no traceback."""

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

MODEL = Path(__file__).resolve().parents[2] / "models" / "argos-traffic-v1.onnx"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"


def argos(*args, timeout=90):
    exe = shutil.which("argos")
    assert exe, "`argos` is not on PATH after `source scripts/env.sh`"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def one_error_line(proc) -> str:
    assert proc.returncode == 2, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


@pytest.mark.parametrize(
    "content, what",
    [
        (BINARY, "is not a text file"),
        (b"/**:\n  ros__parameters:\n    classes: [car, bus\n", "is not valid YAML (line 4, column 1"),
        (b"- just\n- a list\n", "must map node names to ros__parameters"),
    ],
)
@pytest.mark.parametrize("command", ["run", "check-config"])
def test_malformed_config_file(tmp_path, content, what, command):
    path = tmp_path / "edge.yaml"
    path.write_bytes(content)
    extra = ["--duration", "3"] if command == "run" else []
    line = one_error_line(argos(command, "--config", str(path), *extra))
    assert str(path) in line and what in line


@pytest.mark.parametrize(
    "content, what",
    [
        (BINARY, "is not a text file"),
        (b"camera_matrix: [unclosed\n", "is not valid YAML (line 2"),
        (b"image_width: 640\n", "image_width and image_height"),
    ],
)
def test_malformed_calibration_file(tmp_path, content, what):
    path = tmp_path / "cam0.yaml"
    path.write_bytes(content)
    line = one_error_line(argos("run", "--duration", "3", "--param", f"camera.calibration_file={path}"))
    assert "calibration_file" in line and str(path) in line and what in line


def bad_model_args(tmp_path, model=None, labels=None, metadata=""):
    args = ["run", "--duration", "3", "--param", f"inference.model.metadata={metadata}"]
    if model is not None:
        args += ["--param", f"inference.model.path={model}"]
    if labels is not None:
        args += ["--param", f"inference.model.labels={labels}"]
    return args


@pytest.mark.parametrize(
    "content, what",
    [
        (lambda: MODEL.read_bytes()[:3000], "is not a readable ONNX model"),
        (lambda: BINARY, "is not a readable ONNX model"),
        (lambda: b"", "is not a readable ONNX model"),
    ],
)
def test_malformed_model_file(tmp_path, content, what):
    path = tmp_path / "model.onnx"
    path.write_bytes(content())
    line = one_error_line(argos(*bad_model_args(tmp_path, model=path)))
    assert "model.path" in line and str(path) in line and what in line


@pytest.mark.parametrize(
    "content, what",
    [
        (BINARY, "is not a text file"),
        (b"\n\n", "holds no class names"),
        (b"car\n\nbus\n", "line 2 is empty"),
        (b"car\nbus\ncar\n", "'car' named more than once"),
    ],
)
def test_malformed_labels_file(tmp_path, content, what):
    path = tmp_path / "labels.txt"
    path.write_bytes(content)
    line = one_error_line(argos(*bad_model_args(tmp_path, labels=path)))
    assert "model.labels" in line and str(path) in line and what in line


@pytest.mark.parametrize(
    "content, what",
    [
        (BINARY, "is not a text file"),
        (b'{"classes": [', "is not valid JSON"),
        (b'{"classes": {"x": "car"}}', "classes must be"),
    ],
)
def test_malformed_metadata_file(tmp_path, content, what):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    line = one_error_line(argos(*bad_model_args(tmp_path, metadata=path)))
    assert "model.metadata" in line and str(path) in line and what in line
