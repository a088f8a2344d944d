"""Every output layout end to end through ONNX Runtime: a tiny ONNX model per layout whose output
is a known tensor, decoded by the DnnDetector and checked against a plain-loop reference
(decode, per-class threshold, greedy class-aware NMS, letterbox inverse) written independently."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from argos_common.params import ConfigError, resolve
from argos_inference.factory import create_detector
from argos_inference.model_metadata import card_beside, file_sha256, read_metadata
from argos_inference.params import PARAMS

INPUT_HW = (64, 96)  # model input height, width
SOURCE_HW = (120, 320)  # camera image: letterboxed with bars top and bottom
CLASSES = ["car", "truck", "bus"]


def constant_output_model(path, outputs, input_hw=INPUT_HW, batch=1, integer_outputs=()):
    """Model with input `images` [batch,3,H,W] whose outputs are the given tensors (plus 0 x the
    input mean, so the graph really consumes its input)."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero")]
    infos = []
    for name, value in outputs.items():
        value = np.asarray(value)
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        if name in integer_outputs:
            nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [f"{name}_float"]))
            nodes.append(helper.make_node("Cast", [f"{name}_float"], [name], to=TensorProto.INT32))
            infos.append(helper.make_tensor_value_info(name, TensorProto.INT32, list(value.shape)))
        else:
            nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
            infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes,
        "constant_outputs",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, *input_hw])],
        infos,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def detector_for(path, **overrides):
    values = {
        "engine": "onnxruntime",
        "model.path": str(path),
        "classes": CLASSES,
        "score_threshold": 0.3,
        "model.nms_iou": 0.5,
        **overrides,
    }
    return create_detector(resolve(PARAMS, values))


def source_image():
    return np.full((*SOURCE_HW, 3), 90, np.uint8)


# ---- independent reference ------------------------------------------------------------------


def ref_iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def ref_finish(cands, thresholds, nms=True, iou=0.5, stretch=False):
    """cands: list of (x1, y1, x2, y2, score, class) in model pixels -> source-pixel detections
    (through the inverse of a letterbox, or of a stretch to the input)."""
    cands = [c for c in cands if c[4] >= thresholds[c[5]] and c[2] > c[0] and c[3] > c[1]]
    cands.sort(key=lambda c: -c[4])
    kept = []
    for c in cands:
        if not nms or all(k[5] != c[5] or ref_iou(k, c) <= iou for k in kept):
            kept.append(c)
    h, w = SOURCE_HW
    ih, iw = INPUT_HW
    r = min(ih / h, iw / w)
    new_w, new_h = (iw, ih) if stretch else (round(w * r), round(h * r))
    left, top = (iw - new_w) // 2, (ih - new_h) // 2
    out = []
    for x1, y1, x2, y2, score, cls in kept:
        box = [(x1 - left) * w / new_w, (y1 - top) * h / new_h, (x2 - left) * w / new_w, (y2 - top) * h / new_h]
        box = [min(max(box[0], 0), w), min(max(box[1], 0), h), min(max(box[2], 0), w), min(max(box[3], 0), h)]
        out.append((box, score, CLASSES[cls]))
    return out


def assert_matches(detections, expected):
    assert len(detections) == len(expected) > 0
    for i, (box, score, label) in enumerate(expected):
        assert detections.labels[i] == label
        assert detections.scores[i] == pytest.approx(score, abs=1e-5)
        np.testing.assert_allclose(detections.boxes[i], box, atol=1e-3)


def random_rows(rng, n):
    """Boxes clustered so that NMS has work to do: cx, cy, w, h in model pixels."""
    centres = rng.uniform([10, 8], [86, 56], (4, 2))
    pick = centres[rng.integers(0, 4, n)] + rng.normal(0, 2, (n, 2))
    sizes = rng.uniform(6, 20, (n, 2))
    return np.concatenate([pick, sizes], axis=1)


def corners(cx, cy, w, h):
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


# ---- layouts -----------------------------------------------------------------------------------


def test_yolov8_layout_channels_first(tmp_path):
    rng = np.random.default_rng(1)
    n, c = 40, len(CLASSES)
    raw = np.concatenate([random_rows(rng, n).T, rng.uniform(0, 1, (c, n))], axis=0)[None]  # [1, 4+C, N]
    detector = detector_for(constant_output_model(tmp_path / "v8.onnx", {"output0": raw}))
    assert detector.describe()["layout"] == "yolov8"
    cands = []
    for j in range(n):
        scores = [raw[0, 4 + k, j] for k in range(c)]
        best = max(range(c), key=lambda k: scores[k])
        cands.append((*corners(*raw[0, :4, j]), scores[best], best))
    assert_matches(detector.detect([source_image()])[0], ref_finish(cands, [0.3] * c))


def test_yolov5_layout_objectness_times_class(tmp_path):
    rng = np.random.default_rng(2)
    n, c = 30, len(CLASSES)
    raw = np.concatenate([random_rows(rng, n), rng.uniform(0.3, 1, (n, 1)), rng.uniform(0, 1, (n, c))], axis=1)[None]
    detector = detector_for(constant_output_model(tmp_path / "v5.onnx", {"output": raw}))
    assert detector.describe()["layout"] == "yolov5"
    cands = []
    for row in raw[0]:
        scores = [row[4] * row[5 + k] for k in range(c)]
        best = max(range(c), key=lambda k: scores[k])
        cands.append((*corners(*row[:4]), scores[best], best))
    assert_matches(detector.detect([source_image()])[0], ref_finish(cands, [0.3] * c))


def test_yolov4_deepstream_layout_with_per_class_thresholds(tmp_path):
    rng = np.random.default_rng(3)
    n = 30
    xywh = random_rows(rng, n)
    raw = np.concatenate(
        [
            xywh[:, :2] - xywh[:, 2:] / 2,
            xywh[:, :2] + xywh[:, 2:] / 2,
            rng.uniform(0, 1, (n, 1)),
            rng.integers(0, 3, (n, 1)),
        ],
        axis=1,
    )[None]  # [1, N, 6]
    detector = detector_for(
        constant_output_model(tmp_path / "v4.onnx", {"output": raw}),
        **{"model.class_thresholds.labels": ["bus"], "model.class_thresholds.values": [0.8]},
    )
    assert detector.describe()["layout"] == "yolov4"
    cands = [(*row[:4], row[4], int(row[5])) for row in raw[0]]
    assert_matches(detector.detect([source_image()])[0], ref_finish(cands, [0.3, 0.3, 0.8]))


def test_detr_layout_normalised_boxes_and_no_nms(tmp_path):
    rng = np.random.default_rng(4)
    q, c = 20, len(CLASSES)
    rows = random_rows(rng, q) / np.array([INPUT_HW[1], INPUT_HW[0]] * 2)
    raw = np.concatenate([rows, rng.uniform(0, 1, (q, c))], axis=1)[None]  # [1, Q, 4+C]
    detector = detector_for(
        constant_output_model(tmp_path / "detr.onnx", {"logits_boxes": raw}), **{"model.layout": "detr"}
    )
    cands = []
    for row in raw[0]:
        cx, cy, w, h = row[0] * INPUT_HW[1], row[1] * INPUT_HW[0], row[2] * INPUT_HW[1], row[3] * INPUT_HW[0]
        best = max(range(c), key=lambda k: row[4 + k])
        cands.append((*corners(cx, cy, w, h), row[4 + best], best))
    # DETRs are stretched to the input, as their exporters preprocess (model.resize: auto)
    assert detector.describe()["resize"] == "stretch"
    assert_matches(detector.detect([source_image()])[0], ref_finish(cands, [0.3] * c, nms=False, stretch=True))


def test_end_to_end_nms_layout_uses_only_num_dets_rows(tmp_path):
    rng = np.random.default_rng(5)
    k = 10
    xywh = random_rows(rng, k)
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)[None]
    scores = rng.uniform(0.2, 1, (1, k))
    classes = rng.integers(0, 3, (1, k))
    outputs = {"det_boxes": boxes, "det_scores": scores, "det_classes": classes, "num_dets": np.array([[6]])}
    detector = detector_for(
        constant_output_model(tmp_path / "e2e.onnx", outputs, integer_outputs=("det_classes", "num_dets"))
    )
    assert detector.describe()["layout"] == "e2e" and not detector.describe()["nms"]
    cands = [(*boxes[0, i], scores[0, i], int(classes[0, i])) for i in range(6)]
    assert_matches(detector.detect([source_image()])[0], ref_finish(cands, [0.3] * 3, nms=False))


def test_batch_of_several_cameras_each_in_its_own_coordinates(tmp_path):
    n = 20
    raw = np.zeros((2, 4 + 3, n), np.float32)
    raw[0, :4, 0], raw[0, 4, 0] = (48, 32, 20, 10), 0.9  # image 0: one car
    raw[1, :4, 1], raw[1, 6, 1] = (20, 20, 10, 10), 0.8  # image 1: one bus
    detector = detector_for(constant_output_model(tmp_path / "b2.onnx", {"output0": raw}, batch=2))
    small, large = np.zeros((64, 96, 3), np.uint8), np.zeros((128, 192, 3), np.uint8)
    out = detector.detect([small, large, small])
    assert [d.labels for d in out] == [["car"], ["bus"], ["car"]]
    np.testing.assert_allclose(out[0].boxes[0], [38, 27, 58, 37], atol=1e-4)  # 1:1 letterbox
    np.testing.assert_allclose(out[1].boxes[0], [30, 30, 50, 50], atol=1e-4)  # scale 2


# ---- configuration and model errors --------------------------------------------------------------


def test_missing_and_corrupt_model_files_name_model_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        detector_for(tmp_path / "absent.onnx")
    assert err.value.key == "model.path" and "not found" in err.value.problem
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage-not-a-protobuf" * 10)
    with pytest.raises(ConfigError) as err:
        detector_for(corrupt)
    assert err.value.key == "model.path" and "not a readable ONNX model" in err.value.problem


def test_wrong_input_size_names_model_input_size(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 7, 20))})
    with pytest.raises(ConfigError) as err:
        detector_for(path, **{"model.input_size": [640, 640]})
    assert err.value.key == "model.input_size" and "64x96" in err.value.problem


def test_unknown_layout_names_model_layout(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"a": np.zeros((1, 7)), "b": np.zeros((1, 3))})
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.layout" and "set model.layout" in err.value.problem


def test_class_count_mismatch_with_the_class_map(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 5, 100))})
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.class_map" and "5 classes" in err.value.problem and "has 3" in err.value.problem
    detector = detector_for(path, **{"model.class_map": ["car", "", "truck", "bus", ""]})
    assert detector.describe()["class_thresholds"] == pytest.approx([0.3, 2.0, 0.3, 0.3, 2.0])


def test_class_map_from_the_sidecar_json_and_labels_outside_classes(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    record = {"sha256": {"m.onnx": file_sha256(path)}}
    (tmp_path / "m.json").write_text(json.dumps({**record, "classes": ["bus", "car"], "color": "bgr"}))
    detector = detector_for(path)
    assert detector.describe()["class_map"] == ["bus", "car"] and detector.describe()["color"] == "bgr"
    (tmp_path / "m.json").write_text(json.dumps({**record, "classes": ["person", "car"]}))
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.class_map" and "person" in err.value.problem


def test_training_style_sidecar_sets_input_size_and_normalisation(tmp_path):
    path = constant_output_model(tmp_path / "dyn.onnx", {"output0": np.zeros((1, 4 + 3, 100))}, input_hw=("h", "w"))
    (tmp_path / "dyn.json").write_text(
        json.dumps(
            {
                "sha256": {"dyn.onnx": file_sha256(path)},
                "classes": ["car", "truck", "bus"],
                "layout": "yolov8",
                "input_size": {"width": 96, "height": 64},
                "normalization": "0-255",
            }
        )
    )
    described = detector_for(path).describe()
    assert described["input_size"] == [64, 96] and described["layout"] == "yolov8"
    assert described["std"] == pytest.approx([1 / 255] * 3)


# A sidecar JSON applies only to the model file it records (name + SHA-256 of the content).

MODELS = Path(__file__).resolve().parents[3] / "models"


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_bundled_card_records_both_bundled_models():
    card = json.loads((MODELS / "argos-traffic-v1.json").read_text())
    for name in (card["file"], card["int8_file"]):
        assert card["sha256"][name] == sha(MODELS / name)
        meta = read_metadata(MODELS / name, None, MODELS / "argos-traffic-v1.json")
        assert meta.classes and len(meta.classes) == 11 and meta.input_hw == (384, 640)


def test_a_recorded_sidecar_applies(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_text(json.dumps({"sha256": {"m.onnx": sha(path)}, "classes": ["bus", "car"]}))
    assert detector_for(path).describe()["class_map"] == ["bus", "car"]
    assert file_sha256(path) == sha(path)


def test_card_beside_a_model_is_its_own_sidecar_else_the_card_naming_it(tmp_path):
    int8 = tmp_path / "argos-traffic-v1-int8.onnx"
    shutil.copy(MODELS / int8.name, int8)
    assert card_beside(int8) is None
    (tmp_path / "other.json").write_text(json.dumps({"sha256": {"other.onnx": "0" * 64}}))
    (tmp_path / "broken.json").write_text("{")
    assert card_beside(int8) is None
    shutil.copy(MODELS / "argos-traffic-v1.json", tmp_path / "argos-traffic-v1.json")
    assert card_beside(int8) == tmp_path / "argos-traffic-v1.json"
    own = tmp_path / "argos-traffic-v1-int8.json"
    own.write_text(json.dumps({"sha256": {int8.name: sha(int8)}}))
    assert card_beside(int8) == own


def test_sidecar_of_another_model_names_both_files(tmp_path):
    path = constant_output_model(tmp_path / "mine.onnx", {"output0": np.zeros((1, 4 + 3, 100))})
    card = tmp_path / "theirs.json"
    card.write_text(json.dumps({"sha256": {"theirs.onnx": "0" * 64}, "classes": ["bus", "car", "truck"]}))
    with pytest.raises(ConfigError) as err:
        detector_for(path, **{"model.metadata": str(card)})
    assert err.value.key == "model.metadata"
    assert str(card) in err.value.problem and str(path) in err.value.problem and "theirs.onnx" in err.value.problem


def test_changed_model_content_is_refused(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 3, 100))})
    (tmp_path / "m.json").write_text(json.dumps({"sha256": {"m.onnx": sha(path)}, "classes": ["bus", "car", "truck"]}))
    detector_for(path)
    # re-exported under the same name with other weights: the card no longer describes it
    constant_output_model(tmp_path / "m.onnx", {"output0": np.ones((1, 4 + 3, 100))})
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.metadata" and "changed" in err.value.problem
    assert sha(path)[:12] in err.value.problem and str(tmp_path / "m.json") in err.value.problem


def test_sidecar_naming_no_model_says_what_to_add(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_text('{"classes": ["bus", "car"]}')
    with pytest.raises(ConfigError) as err:
        detector_for(path)
    assert err.value.key == "model.metadata" and f'"m.onnx": "{sha(path)}"' in err.value.problem


def test_copied_bundled_model_with_its_card_still_matches(tmp_path):
    """The record is by file name and content, not by folder: a copied model set keeps working."""
    for name in ("argos-traffic-v1.onnx", "argos-traffic-v1.json"):
        shutil.copy(MODELS / name, tmp_path / name)
    meta = read_metadata(tmp_path / "argos-traffic-v1.onnx")
    assert meta.classes and meta.source == [str(tmp_path / "argos-traffic-v1.json")]


@pytest.mark.parametrize(
    "text, what",
    [
        ("\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"classes": {"a": "car"}}', "classes must be"),
        ('{"input_size": "big"}', "input_size must be"),
        ('{"mean": "zero"}', "mean must be"),
        ('{"normalization": "0-2"}', "normalization must be"),
        ('{"sha256": {"m.onnx": "abc"}}', "64 hex digits"),
    ],
)
def test_malformed_sidecar_is_one_error_naming_the_file(tmp_path, text, what):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        read_metadata(path)
    assert err.value.key == "model.metadata" and what in err.value.problem and "m.json" in err.value.problem


def test_labels_file_names_the_classes_and_wins_over_the_sidecar(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 2, 100))})
    (tmp_path / "m.json").write_text(json.dumps({"sha256": {"m.onnx": sha(path)}, "classes": ["car", "bus"]}))
    (tmp_path / "labels.txt").write_text("bus\ncar\n\n")
    detector = detector_for(path, **{"model.labels": str(tmp_path / "labels.txt")})
    assert detector.describe()["class_map"] == ["bus", "car"]


COCO_MAP = Path(__file__).resolve().parents[3] / "config" / "class_maps" / "coco.yaml"
COCO_NAMES = [line.split(":")[0].strip('"') for line in COCO_MAP.read_text().splitlines() if not line.startswith("#")]


def with_props(path, props):
    model = onnx.load(str(path))
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def test_coco_preset_maps_an_ultralytics_model_by_name(tmp_path):
    """Ultralytics writes names as a Python dict literal in the ONNX metadata."""
    names = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(COCO_NAMES)) + "}"
    path = with_props(constant_output_model(tmp_path / "y.onnx", {"output0": np.zeros((1, 84, 100))}), {"names": names})
    classes = ["motorcycle", "car", "van", "truck", "bus", "bicycle", "e_scooter"]
    detector = detector_for(path, classes=classes, **{"model.class_map_file": str(COCO_MAP)})
    labels = detector.describe()["class_map"]
    assert len(COCO_NAMES) == 80 and len(labels) == 80
    assert {COCO_NAMES[i]: label for i, label in enumerate(labels) if label} == {
        "bicycle": "bicycle",
        "car": "car",
        "motorcycle": "motorcycle",
        "bus": "bus",
        "truck": "truck",
    }
    assert detector.class_map.unmapped(classes) == ["van", "e_scooter"]
    assert detector.describe()["class_map_from"] == f"model.class_map_file {COCO_MAP}"


def test_by_name_map_must_cover_the_model_and_name_known_labels(tmp_path):
    path = constant_output_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 4 + 3, 100))})
    (tmp_path / "labels.txt").write_text("person\ncar\nlorry\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text('person: ""\ncar: car\n')
    args = {"model.labels": str(tmp_path / "labels.txt"), "model.class_map_file": str(mapping)}
    with pytest.raises(ConfigError) as err:
        detector_for(path, **args)
    assert (
        err.value.key == "model.class_map_file" and "'lorry'" in err.value.problem and str(mapping) in err.value.problem
    )
    mapping.write_text("person:\ncar: car\nlorry: lorry\n")
    with pytest.raises(ConfigError) as err:
        detector_for(path, **args)
    assert "'lorry' not in classes" in err.value.problem
    mapping.write_text("person:\ncar: car\nlorry: truck\n")
    assert detector_for(path, **args).describe()["class_map"] == ["", "car", "truck"]
    with pytest.raises(ConfigError) as err:
        detector_for(path, **args, **{"model.class_map": ["", "car", "truck"]})
    assert "not both" in err.value.problem
    with pytest.raises(ConfigError) as err:  # no names to map by
        detector_for(path, **{"model.class_map_file": str(mapping)})
    assert "names none" in err.value.problem
    mapping.write_text("- car\n- truck\n")
    with pytest.raises(ConfigError, match="must map model class names"):
        detector_for(path, **args)


def test_ultralytics_end2end_rows_are_final_and_never_nmsd_again(tmp_path):
    """An end-to-end head (YOLOv10/YOLO26, `end2end: True`) outputs [1, 300, 6] final rows, padded
    with zero-score rows; overlapping boxes of one class are its decision. (A constant-output
    model carrying Ultralytics' metadata keys: the real exporter's fixture needs the GPU machine.)"""
    rng = np.random.default_rng(4)
    n = 300
    xywh = random_rows(rng, n)
    scores = np.where(np.arange(n) < 25, rng.uniform(0.35, 1, n), 0.0)  # 25 detections, then padding
    raw = np.concatenate(
        [xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2, scores[:, None], rng.integers(0, 3, (n, 1))],
        axis=1,
    )[None]
    path = constant_output_model(tmp_path / "yolo26n.onnx", {"output0": raw})
    plain = detector_for(path)  # without the exporter's word the rows are DeepStream-Yolo candidates
    assert plain.describe()["layout"] == "yolov4" and plain.describe()["nms"] is True
    with_props(path, {"end2end": "True", "names": "{0: 'car', 1: 'truck', 2: 'bus'}"})
    detector = detector_for(path)
    assert detector.describe()["layout"] == "end2end" and detector.describe()["nms"] is False
    cands = [(*row[:4], row[4], int(row[5])) for row in raw[0]]
    expected = ref_finish(cands, [0.3] * 3, nms=False)
    assert len(expected) == 25 > len(plain.detect([source_image()])[0])
    assert_matches(detector.detect([source_image()])[0], expected)
