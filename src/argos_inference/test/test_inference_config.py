"""Inference configuration: area bands, detector factory, and PARAMS against config/edge.yaml."""

from pathlib import Path

import pytest
import yaml

from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import ConfigError, flatten, resolve
from argos_inference.factory import available_engines, create_detector
from argos_inference.motion import MotionDetector
from argos_inference.params import PARAMS
from argos_inference.size_bands import SizeBands

EDGE_YAML = Path(__file__).resolve().parents[3] / "config" / "edge.yaml"


def params(**overrides):
    return resolve(PARAMS, {k.replace("__", "."): v for k, v in overrides.items()})


@pytest.mark.parametrize(
    "area, label",
    [
        (1.0, "bicycle"),
        (100.0, "bicycle"),
        (100.1, "car"),
        (640.0, "car"),
        (800.0, "car"),
        (800.5, "bus"),
        (3000.0, "bus"),
        (3000.1, None),
    ],
)
def test_area_bands_map_upper_bounds_to_labels(area, label):
    bands = SizeBands.from_config([100.0, 800.0, 3000.0], ["bicycle", "car", "bus"], DEFAULT_CLASSES)
    assert bands.label_for(area) == label


def test_default_bands_label_the_default_scene_sizes():
    detector = create_detector(params())
    # ~9 px/m: car 40x16, bus 108x22; a blob larger than every band is not one road user
    assert [detector.bands.label_for(a) for a in (40 * 16, 108 * 22, 50_000)] == ["car", "bus", None]
    assert set(detector.bands.labels) <= set(DEFAULT_CLASSES)


@pytest.mark.parametrize(
    "max_areas, labels, key, words",
    [
        ([100.0, 800.0], ["car", "airplane"], "motion.class_labels", "airplane"),
        ([100.0, 800.0], ["car"], "motion.class_labels", "pair up"),
        ([800.0, 100.0], ["car", "bus"], "motion.class_max_area", "ascending"),
        ([0.0, 100.0], ["car", "bus"], "motion.class_max_area", "positive"),
        ([], [], "motion.class_max_area", "at least one"),
    ],
)
def test_bad_area_bands_name_the_key(max_areas, labels, key, words):
    with pytest.raises(ConfigError) as err:
        SizeBands.from_config(max_areas, labels, DEFAULT_CLASSES)
    assert err.value.key == key and words in err.value.problem


def test_band_label_must_be_in_the_configured_classes():
    with pytest.raises(ConfigError) as err:
        create_detector(params(classes=["car", "truck"]))  # default bands also use bicycle, bus, ...
    assert err.value.key == "motion.class_labels"
    detector = create_detector(
        params(classes=["car", "truck"], motion__class_max_area=[900.0, 5000.0], motion__class_labels=["car", "truck"])
    )
    assert detector.bands.labels == ("car", "truck")


def test_factory_builds_the_motion_detector_from_params():
    detector = create_detector(params(score_threshold=0.4, motion__history=120, motion__scale=0.25))
    assert isinstance(detector, MotionDetector) and detector.name == "motion"
    description = detector.describe()
    assert description["engine"] == "motion"
    assert (description["score_threshold"], description["history"], description["scale"]) == (0.4, 120, 0.25)
    assert available_engines() == ("motion", "onnxruntime", "tensorrt")


def test_unknown_engine_is_a_config_error_naming_engine():
    values = dict(params(), engine="yolo")
    with pytest.raises(ConfigError) as err:
        create_detector(values)
    assert err.value.key == "engine" and "yolo" in err.value.problem
    with pytest.raises(ConfigError) as err:
        params(engine="yolo")  # the spec's choices reject it before the factory
    assert err.value.key == "engine"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"motion.scale": 0.0}, "motion.scale"),
        ({"motion.scale": 1.5}, "motion.scale"),
        ({"score_threshold": 1.2}, "score_threshold"),
        ({"motion.history": 2.5}, "motion.history"),
    ],
)
def test_out_of_range_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        resolve(PARAMS, overrides)
    assert err.value.key == key


def test_every_edge_yaml_key_of_the_inference_node_is_a_param_of_that_type():
    raw = yaml.safe_load(EDGE_YAML.read_text())
    section = flatten(raw["/**/inference"]["ros__parameters"])
    section["classes"] = raw["/**"]["ros__parameters"]["classes"]
    specs = {s.name: s for s in PARAMS}
    python_types = {"int": int, "float": float, "str": str, "str[]": list}
    for key, value in section.items():
        assert key in specs, f"{key} is in edge.yaml but not in PARAMS"
        assert type(value) is python_types[specs[key].type], key
    resolved = resolve(PARAMS, section)
    create_detector(resolved).close()


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"engine": "onnxruntime"}, "model.path"),
        ({"engine": "onnxruntime", "model.path": "/nonexistent/model.onnx"}, "model.path"),
        ({"model.class_thresholds.labels": ["car"]}, "model.class_thresholds.values"),
        ({"model.input_size": [640]}, "model.input_size"),
        ({"model.mean": [0.5, 0.5]}, "model.mean"),
        ({"model.std": [0.5, 0.0, 0.5]}, "model.std"),
    ],
)
def test_validate_names_the_model_key(overrides, key):
    from argos_inference.params import validate

    with pytest.raises(ConfigError) as err:
        validate(params(**{k.replace(".", "__"): v for k, v in overrides.items()}))
    assert err.value.key == key


def test_auto_layout_that_the_shapes_cannot_decide_asks_for_model_layout():
    # [1, 100, 6] with one class fits yolov4 (x1 y1 x2 y2 score class) and yolov5 (4 + obj + 1)
    from argos_inference.class_map import ClassMap
    from argos_inference.decoders import OutputInfo
    from argos_inference.dnn_builder import resolve_layout

    class_map = ClassMap.resolve(["car"], None, ["car"])
    with pytest.raises(ConfigError) as err:
        resolve_layout("auto", [OutputInfo("out", (1, 100, 6))], class_map)
    assert err.value.key == "model.layout" and "several layouts" in err.value.problem
    assert resolve_layout("yolov4", [OutputInfo("out", (1, 100, 6))], class_map) == "yolov4"


def test_calibration_batches_without_images_still_know_their_batch_size():
    from argos_inference.calibration import CalibrationBatches
    from argos_inference.preprocess import InputSpec, Preprocessor

    batches = CalibrationBatches([], Preprocessor(InputSpec(32, 32)), 4)
    assert len(batches) == 0 and list(batches) == [] and batches.batch_size == 4
