"""Class-aware NMS, per-class thresholds and top-k against a plain-loop reference; layout detection."""

import numpy as np
import pytest

from argos_common.geometry import iou_matrix
from argos_inference.decoders import Candidates, LayoutError, OutputInfo, detect_layout, e2e_output_order
from argos_inference.postprocess import PostProcess


def reference_nms(boxes, scores, classes, thresholds, iou):
    order = sorted((i for i in range(len(scores)) if scores[i] >= thresholds[classes[i]]), key=lambda i: -scores[i])
    kept = []
    for i in order:
        ok = True
        for k in kept:
            if classes[k] != classes[i]:
                continue
            a, b = boxes[i], boxes[k]
            w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
            inter = max(w, 0) * max(h, 0)
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if inter / union > iou:
                ok = False
                break
        if ok:
            kept.append(i)
    return kept


@pytest.mark.parametrize("seed", range(5))
def test_class_aware_nms_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = 200
    xy = rng.uniform(0, 100, (n, 2)) + rng.normal(0, 0.5, (n, 2))
    wh = rng.uniform(5, 30, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, n).astype(np.float32)
    classes = rng.integers(0, 3, n)
    thresholds = np.array([0.2, 0.5, 0.7], np.float32)
    out = PostProcess(thresholds, iou_threshold=0.4, max_detections=1000)(Candidates(boxes, scores, classes))
    expected = reference_nms(boxes.tolist(), scores.tolist(), classes.tolist(), thresholds.tolist(), 0.4)
    np.testing.assert_array_equal(out.scores, scores[expected])
    np.testing.assert_array_equal(out.class_ids, classes[expected])


def test_other_classes_never_suppress_and_top_k_keeps_the_best():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    out = PostProcess(np.full(3, 0.1, np.float32), 0.5, 10)(Candidates(boxes, scores, np.array([0, 1, 0, 2])))
    assert out.class_ids.tolist() == [0, 1, 2]
    out = PostProcess(np.full(3, 0.1, np.float32), 0.5, 2)(Candidates(boxes, scores, np.array([0, 1, 0, 2])))
    assert out.scores.tolist() == pytest.approx([0.9, 0.8])


def test_class_index_outside_the_class_map_is_an_error():
    with pytest.raises(ValueError, match="outside the class map"):
        PostProcess(np.full(2, 0.1, np.float32))(
            Candidates(np.zeros((1, 4), np.float32), np.ones(1, np.float32), np.array([5]))
        )


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou_matrix(a, b), [[1.0, 50 / 150, 0.0]])


@pytest.mark.parametrize(
    "shape, classes, layout",
    [
        ((1, 15, 8400), 11, "yolov8"),
        ((1, 15, 8400), None, "yolov8"),
        ((1, 25200, 16), 11, "yolov5"),
        ((1, 300, 15), 11, "detr"),
        ((1, 8400, 6), 11, "yolov4"),
        ((1, 8400, 6), None, "yolov4"),
    ],
)
def test_single_output_layout_detection(shape, classes, layout):
    assert detect_layout([OutputInfo("output0", shape)], classes) == layout


@pytest.mark.parametrize("shape, classes", [((1, 300, 16), None), ((1, 100, 7), 11), ((1, 100), 11)])
def test_undecidable_layouts_ask_for_model_layout(shape, classes):
    with pytest.raises(LayoutError, match="model.layout"):
        detect_layout([OutputInfo("output0", shape)], classes)


def test_e2e_outputs_found_by_name_or_by_shape_and_dtype():
    named = [
        OutputInfo("detection_classes", (1, 100), True),
        OutputInfo("num_detections", (1, 1), True),
        OutputInfo("detection_scores", (1, 100)),
        OutputInfo("detection_boxes", (1, 100, 4)),
    ]
    assert e2e_output_order(named) == (1, 3, 2, 0)
    anonymous = [
        OutputInfo("o1", (1, 1), True),
        OutputInfo("o2", (1, 100, 4)),
        OutputInfo("o3", (1, 100), True),
        OutputInfo("o4", (1, 100)),
    ]
    assert e2e_output_order(anonymous) == (0, 1, 3, 2)
