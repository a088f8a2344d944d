"""training.evaluate: IoU, NMS, YOLOv8-layout decoding, AP with ignore boxes (numpy only)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.evaluate import Evaluator, average_precision, batched_nms, decode_yolov8, iou_matrix, match_image, nms  # noqa: E402


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert iou_matrix(a, b)[0] == pytest.approx([1.0, 1 / 3, 0.0])


def test_nms_keeps_the_best_of_overlapping_boxes_per_class():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]
    # the fourth box is another class: kept by class-wise NMS
    assert sorted(batched_nms(boxes, scores, np.array([0, 0, 0, 1]), 0.5).tolist()) == [0, 2, 3]


def test_decode_yolov8_layout():
    C, N = 11, 6
    out = np.zeros((1, 4 + C, N), np.float32)
    out[0, :4, 0] = [100, 50, 20, 10]  # cx, cy, w, h
    out[0, 4 + 1, 0] = 0.9  # class 1
    out[0, :4, 1] = [101, 50, 20, 10]  # duplicate, lower score: suppressed
    out[0, 4 + 1, 1] = 0.8
    out[0, :4, 2] = [300, 200, 8, 3]
    out[0, 4 + 9, 2] = 0.5
    out[0, 4 + 3, 3] = 0.1  # below threshold
    boxes, scores, classes = decode_yolov8(out, conf_threshold=0.25, iou_threshold=0.5)
    assert classes.tolist() == [1, 9]
    assert scores == pytest.approx([0.9, 0.5])
    assert boxes[0] == pytest.approx([90, 45, 110, 55])
    assert boxes[1] == pytest.approx([296, 198.5, 304, 201.5])


def test_average_precision():
    assert average_precision(np.array([1, 1]), np.array([0.9, 0.8]), 2) == pytest.approx(1.0)
    assert average_precision(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.7]), 4) == pytest.approx(
        0.25 * 1 + 0.25 * 2 / 3
    )
    assert average_precision(np.array([], np.int8), np.array([]), 3) == 0.0
    assert np.isnan(average_precision(np.array([0]), np.array([0.5]), 0))


def test_matching_ignores_detections_on_ignore_boxes_and_counts_duplicates():
    gt = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    ignore = np.array([False, True])
    det = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60], [100, 100, 110, 110]], np.float32)
    res = match_image(det, [0.9, 0.8, 0.7, 0.6], gt, ignore)
    assert res.tolist() == [1, 0, -1, 0]


def test_evaluator_map_and_operating_point():
    ev = Evaluator(["car", "bus"], operating_threshold=0.5)
    gt = np.array([[0, 0, 0, 10, 10, 0], [1, 20, 20, 40, 30, 0], [0, 60, 60, 70, 70, 1]], np.float32)
    ev.add(
        np.array([[0, 0, 10, 10], [20, 20, 40, 30], [60, 60, 70, 70], [80, 80, 90, 90]]),
        np.array([0.9, 0.8, 0.7, 0.3]),
        np.array([0, 1, 0, 0]),
        gt,
    )
    s = ev.summary()
    assert s["per_class"]["car"]["instances"] == 1 and s["per_class"]["bus"]["instances"] == 1
    assert s["per_class"]["car"]["ap50"] == pytest.approx(1.0)  # the FP scores below the TP
    assert s["map50"] == pytest.approx(1.0)
    assert s["at_threshold"] == {"score_threshold": 0.5, "precision": 1.0, "recall": 1.0}
    # a wrong class is a false positive and a miss
    ev2 = Evaluator(["car", "bus"])
    ev2.add(np.array([[0, 0, 10, 10]]), np.array([0.9]), np.array([1]), gt[:1])
    s2 = ev2.summary()
    assert s2["per_class"]["car"]["ap50"] == 0.0 and s2["per_class"]["bus"]["ap50"] is None
    assert s2["at_threshold"]["precision"] == 0.0 and s2["at_threshold"]["recall"] == 0.0
