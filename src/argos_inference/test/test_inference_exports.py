"""Models made by the real exporters decode as their exporters mean them.

Each fixture under fixtures/exports/ is a tiny model exported by its own exporter (Ultralytics,
DeepStream-Yolo, torch.onnx of an HF transformers model; training/export_fixtures.py made them),
with the exporter's own detections of one fixed image recorded beside it (<name>.npz). Here ONNX
Runtime runs the same model and ARGOS decodes it: layout, NMS (or none), resize, boxes in source
pixels, scores and classes must be the exporter's."""

from pathlib import Path

import numpy as np
import pytest

from argos_common.params import resolve
from argos_inference.decoders import OutputInfo, metadata_layout
from argos_inference.factory import create_detector
from argos_inference.params import PARAMS

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
CLASSES = ["red", "green", "blue"]
# fixture: (layout, ARGOS applies NMS, resize)
EXPECTED = {
    "yolov5nu": ("yolov8", True, "letterbox"),
    "yolov8n": ("yolov8", True, "letterbox"),
    "yolo11n": ("yolov8", True, "letterbox"),
    "yolo26n": ("yolov8", True, "letterbox"),
    "yolo26n_end2end": ("end2end", False, "letterbox"),
    "yolov10n_end2end": ("end2end", False, "letterbox"),
    "yolov8n_nms": ("end2end", False, "letterbox"),
    "yolov8n_deepstream": ("yolov4", True, "letterbox"),
    "rtdetr": ("rtdetr", False, "stretch"),
    "rtdetr_hf": ("detr_logits", False, "stretch"),
}


def reference(name):
    return dict(np.load(FIXTURES / f"{name}.npz"))


def detector_for(name, ref, **overrides):
    values = {
        "engine": "onnxruntime",
        "model.path": str(FIXTURES / f"{name}.onnx"),
        "classes": CLASSES,
        "score_threshold": float(ref["conf"]),
        "model.nms_iou": float(ref["iou"]),
        "model.max_detections": 300,
        **overrides,
    }
    labels = FIXTURES / f"{name}.txt"
    if labels.is_file():  # DeepStream-Yolo writes the class names to a labels file
        values["model.labels"] = str(labels)
    return create_detector(resolve(PARAMS, values))


def by_score(boxes, scores, classes):
    order = np.lexsort((boxes[:, 0], -np.round(scores, 4)))
    return boxes[order], scores[order], classes[order]


def assert_same_detections(dets, ref):
    assert len(ref["scores"]) >= 2, "a fixture with fewer than 2 detections tests little"
    labels = np.array([CLASSES.index(label) for label in dets.labels], dtype=np.int64)
    got = by_score(np.asarray(dets.boxes, np.float64), np.asarray(dets.scores, np.float64), labels)
    # ARGOS clips boxes to the frame; Ultralytics' RT-DETR and HF's post-processing do not
    height, width = ref["image"].shape[:2]
    boxes = np.clip(ref["boxes"].astype(np.float64), 0, [width, height, width, height])
    want = by_score(boxes, ref["scores"].astype(np.float64), ref["classes"])
    assert len(got[1]) == len(want[1]), f"{len(got[1])} detections, the exporter's {len(want[1])}"
    np.testing.assert_allclose(got[1], want[1], atol=2e-4)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[0], want[0], atol=0.02)


def test_every_fixture_has_its_expectation():
    assert sorted(p.stem for p in FIXTURES.glob("*.onnx")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layout_nms_and_resize_as_the_exporter_means(name):
    layout, nms, resize = EXPECTED[name]
    described = detector_for(name, reference(name)).describe()
    assert (described["layout"], described["nms"], described["resize"]) == (layout, nms, resize)
    assert described["class_map"] == CLASSES


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_onnx_runtime_here_gives_the_recorded_outputs(name):
    ref = reference(name)
    detector = detector_for(name, ref)
    outputs = detector.engine.infer(ref["input"])
    names = [o.name for o in detector.engine.output_infos([o.shape for o in outputs])]
    for output_name, value in zip(names, outputs):
        np.testing.assert_allclose(value, ref[f"out_{output_name}"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_decoded_from_the_exporters_input_as_the_exporter_decodes(name):
    """The exporter's own preprocessed tensor through ARGOS' decoder, post-processing and the
    inverse of its resize: the exporter's boxes in source pixels, scores and classes."""
    ref = reference(name)
    detector = detector_for(name, ref)
    letterbox = detector.preprocessor.letterbox_for(ref["image"].shape[:2])
    dets = detector._to_detections(detector.engine.infer(ref["input"]), 0, letterbox)
    assert_same_detections(dets, ref)


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if n != "rtdetr_hf"])
def test_argos_preprocessing_is_the_exporters_and_detect_matches(name):
    """From the camera image on: ARGOS letterboxes (YOLO) or stretches (RT-DETR) the 64x48 image
    to the very tensor Ultralytics makes, so the whole detect() gives the exporter's detections.
    (HF's image processor resizes with its own filter, so rtdetr_hf is checked from its tensor.)"""
    ref = reference(name)
    detector = detector_for(name, ref)
    batch, _ = detector.preprocessor([ref["image"]])
    np.testing.assert_allclose(batch, ref["input"], atol=1e-6)
    assert_same_detections(detector.detect([ref["image"]])[0], ref)


@pytest.mark.parametrize("name", ["yolo26n_end2end", "yolov10n_end2end", "yolov8n_nms", "rtdetr", "rtdetr_hf"])
def test_nms_free_exports_are_not_nmsd_again_even_with_a_strict_nms_iou(name):
    """With model.nms_iou 0.01 any NMS would drop overlapping boxes of one class: NMS-free
    exports keep every row the exporter keeps."""
    ref = reference(name)
    detector = detector_for(name, ref, **{"model.nms_iou": 0.01})
    letterbox = detector.preprocessor.letterbox_for(ref["image"].shape[:2])
    assert_same_detections(detector._to_detections(detector.engine.infer(ref["input"]), 0, letterbox), ref)


def test_letterboxing_an_rtdetr_export_would_misplace_its_boxes():
    """The stretch rule matters: the same RT-DETR rows mapped back through a letterbox land
    elsewhere than the exporter's boxes."""
    ref = reference("rtdetr")
    detector = detector_for("rtdetr", ref, **{"model.resize": "letterbox"})
    letterbox = detector.preprocessor.letterbox_for(ref["image"].shape[:2])
    dets = detector._to_detections(detector.engine.infer(ref["input"]), 0, letterbox)
    with pytest.raises(AssertionError):
        assert_same_detections(dets, ref)


@pytest.mark.parametrize(
    "props, shape, layout",
    [
        ({"end2end": "True", "head": "Detect"}, (1, 300, 6), "end2end"),
        ({"end2end": "False", "head": "Detect", "args": "{'batch': 1, 'nms': True}"}, (1, 300, 6), "end2end"),
        ({"head": "RTDETRDecoder"}, (1, 300, 6), "rtdetr"),
        ({"head": "RTDETRDecoder"}, (1, 300, 84), "detr"),
        ({"head": "v10Detect", "end2end": "False"}, (1, 84, 8400), "yolov8"),
        ({}, (1, 300, 6), None),
        ({"head": "Detect", "args": "{'nms': False}"}, (1, 300, 6), None),
    ],
)
def test_what_ultralytics_metadata_says_settles_the_layout(props, shape, layout):
    said = metadata_layout(props, [OutputInfo("output0", shape)])
    assert (said[0] if said else None) == layout
