"""`argos quantize --calibration` on the bundled detector and synthetic footage: good calibration
passes the int8-against-fp32 check and writes the int8 model with its card; calibration frames
that are all black truly degrade int8 on the held-out frames, and the model is refused."""

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import resolve
from argos_inference.calibration import held_out_mask
from argos_inference.commands import register
from argos_inference.factory import create_detector
from argos_inference.model_metadata import file_sha256
from argos_inference.params import PARAMS

MODEL = Path(__file__).resolve().parents[2] / "models" / "argos-traffic-v1.onnx"
FRAMES = 16
pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="models/ has no bundled detector")


def argos(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="argos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """FRAMES frames of a busy synthetic intersection, 3 scene frames apart."""
    from argos_sim.scene import IntersectionScene

    folder = tmp_path_factory.mktemp("footage")
    scene = IntersectionScene(width=1280, height=720, fps=15.0, seed=5, density=1.5, classes=DEFAULT_CLASSES, lines=[])
    for _ in range(30):
        scene.next_frame()
    for i in range(FRAMES):
        for _ in range(3):
            frame = scene.next_frame()[0]
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    return folder


def table_row(out: str, label: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(label))


def test_good_calibration_passes_and_writes_the_card(tmp_path, footage, capsys):
    video = tmp_path / "site.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (1280, 720))
    for path in sorted(footage.iterdir()):
        writer.write(cv2.imread(str(path)))
    writer.release()
    out = tmp_path / "site-int8.onnx"
    assert argos(["quantize", "--model", str(MODEL), "--calibration", str(video), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    card = json.loads(out.with_suffix(".json").read_text())
    agreement = card["quantization"]["agreement"]
    assert agreement["frames"] == FRAMES // 4 and card["quantization"]["calibration"]["frames"] == FRAMES - FRAMES // 4
    assert agreement["f1"] >= 0.97 and agreement["passed"] and not agreement["forced"]
    assert agreement["reference"] > 20  # a busy scene: the check is about real detections
    all_row = table_row(printed, "all classes")
    assert all_row[2:5] == [str(agreement[k]) for k in ("reference", "candidate", "matched")]
    assert float(all_row[-1]) == pytest.approx(agreement["f1"], abs=5e-4)
    assert set(agreement["per_class"]) <= set(DEFAULT_CLASSES) and "car" in agreement["per_class"]
    assert table_row(printed, "car ")[1:4] == [
        str(agreement["per_class"]["car"][k]) for k in ("reference", "candidate", "matched")
    ]
    assert 0 <= agreement["score_drift"]["median"] <= agreement["score_drift"]["p95"] < 0.2
    assert "score drift of the matched pairs" in printed and "agreement check passed" in printed
    assert card["sha256"] == {out.name: file_sha256(out)} and card["quantization"]["from"]["sha256"] == file_sha256(
        MODEL
    )
    assert card["classes"] == list(DEFAULT_CLASSES) and card["input_size"] == [384, 640]
    # the card is the int8 model's own sidecar: the graph reads the model through it
    detector = create_detector(resolve(PARAMS, {"engine": "onnxruntime", "model.path": str(out)}))
    try:
        assert detector.describe()["class_map_from"] == "model metadata"
        assert len(detector.detect([cv2.imread(str(next(footage.iterdir())))])[0]) > 10
    finally:
        detector.close()


def test_black_calibration_frames_are_refused_unless_forced(tmp_path, footage, capsys):
    # the calibration part of this footage is black, the held-out part is the real scene
    folder = tmp_path / "black"
    folder.mkdir()
    paths = sorted(footage.iterdir())
    for path, held in zip(paths, held_out_mask(len(paths), 0.25)):
        if held:
            shutil.copy(path, folder / path.name)
        else:
            cv2.imwrite(str(folder / path.name), np.zeros((720, 1280, 3), np.uint8))
    out = tmp_path / "black-int8.onnx"
    argv = ["quantize", "--model", str(MODEL), "--calibration", str(folder), "--out", str(out)]
    assert argos(argv) == 2
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: int8 agreement F1 0.") and "< 0.97" in errors[0]
    assert "not written" in errors[0] and "--force" in errors[0]
    assert float(table_row(captured.out, "all classes")[-1]) < 0.97
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert argos([*argv, "--force"]) == 0
    agreement = json.loads(out.with_suffix(".json").read_text())["quantization"]["agreement"]
    assert agreement["f1"] < 0.97 and not agreement["passed"] and agreement["forced"]
    assert "written because of --force" in capsys.readouterr().out
