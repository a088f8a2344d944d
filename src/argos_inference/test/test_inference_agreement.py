"""int8-against-fp32 agreement (argos_inference.agreement) and the calibration footage it runs on:
held-out split and video frames."""

import cv2
import numpy as np
import pytest

from argos_common.detections import Detections
from argos_inference.agreement import compare, format_table
from argos_inference.calibration import calibration_frames, held_out_mask, split_held_out, video_frames


def dets(rows):
    """rows: (x1, y1, x2, y2, score, label)."""
    return Detections([r[:4] for r in rows], [r[4] for r in rows], [r[5] for r in rows])


def test_agreement_per_class_one_to_one_with_score_drift():
    reference = [
        dets([(0, 0, 10, 10, 0.9, "car"), (20, 0, 30, 10, 0.8, "car"), (50, 50, 60, 60, 0.7, "bus")]),
        dets([(0, 0, 10, 10, 0.6, "bicycle")]),
    ]
    candidate = [
        # both int8 boxes overlap the first fp32 car; only one may match it (one-to-one), the
        # second car is matched by the box shifted by 1 px; the bus is detected as a truck
        dets(
            [
                (0, 0, 10, 10, 0.85, "car"),
                (1, 0, 11, 10, 0.5, "car"),
                (21, 0, 31, 10, 0.7, "car"),
                (50, 50, 60, 60, 0.7, "truck"),
            ]
        ),
        dets([(0, 0, 10, 10, 0.61, "bicycle"), (100, 100, 110, 110, 0.4, "bicycle")]),
    ]
    result = compare(reference, candidate)
    car, bus, truck, bicycle = (result.per_class[k] for k in ("car", "bus", "truck", "bicycle"))
    assert (car.reference, car.candidate, car.matched) == (2, 3, 2)
    assert car.precision == pytest.approx(2 / 3) and car.recall == 1.0 and car.f1 == pytest.approx(0.8)
    assert (bus.matched, bus.recall, bus.precision) == (0, 0.0, None)
    assert (truck.reference, truck.precision, truck.recall) == (0, 0.0, None)
    assert (bicycle.matched, bicycle.precision) == (1, 0.5)
    assert (result.overall.reference, result.overall.candidate, result.overall.matched) == (4, 6, 3)
    assert result.overall.f1 == pytest.approx(0.6)
    # matched pairs' |score difference|: 0.05 (car), 0.1 (car, IoU 0.82 with the 2nd fp32 car), 0.01
    assert result.score_drift_median == pytest.approx(0.05, abs=1e-6)
    assert result.score_drift_p95 == pytest.approx(np.percentile([0.05, 0.1, 0.01], 95), abs=1e-6)
    table = format_table(result)
    assert "on 2 held-out frames" in table and "all classes" in table
    assert [line.split()[:4] for line in table.splitlines() if line.startswith("car ")] == [["car", "2", "3", "2"]]
    record = result.as_dict()
    assert record["f1"] == 0.6 and record["per_class"]["bus"]["precision"] is None


def test_agreement_of_nothing_is_undefined_not_perfect():
    result = compare([dets([])], [dets([])])
    assert result.overall.f1 is None and result.score_drift_median is None
    with pytest.raises(ValueError):
        compare([dets([])], [])


def test_held_out_split_is_even_and_deterministic(tmp_path):
    assert held_out_mask(8, 0.25) == [False, False, False, True] * 2
    assert sum(held_out_mask(10, 0.5)) == 5 and held_out_mask(10, 0.5)[1::2] == [True] * 5
    paths = [tmp_path / f"{i}.png" for i in range(9)]
    calibration, held = split_held_out(paths, 0.25)
    assert [p.name for p in held] == ["3.png", "7.png"] and len(calibration) == 7
    assert split_held_out(paths, 0.25) == (calibration, held)
    with pytest.raises(ValueError, match="too few"):
        split_held_out(paths[:3], 0.25)
    with pytest.raises(ValueError, match="between 0 and 1"):
        held_out_mask(4, 1.0)


def test_video_frames_are_spread_over_the_video(tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for i in range(30):  # frame i has brightness 8 * i: the picked frames can be told apart
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    paths = video_frames(video, 4, tmp_path / "frames")
    assert [p.name for p in paths] == [f"frame_{i:07d}.png" for i in (0, 10, 19, 29)]
    levels = [float(cv2.imread(str(p)).mean()) for p in paths]
    assert levels == pytest.approx([0, 80, 152, 232], abs=3)
    assert len(calibration_frames(video, 0, tmp_path / "all")) == 30  # fewer frames than the default 200
    with pytest.raises(ValueError, match="one image"):
        calibration_frames(paths[0], 0, tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="not found"):
        calibration_frames(tmp_path / "absent.mp4", 0, tmp_path / "x")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="video"):
        calibration_frames(tmp_path / "junk.mp4", 0, tmp_path / "x")
