"""Parameters of the inference node (validated by argos_bringup.config against config/edge.yaml)."""

from pathlib import Path

from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import ConfigError, ParamSpec

from .decoders import LAYOUTS

ENGINES = ("motion", "onnxruntime", "tensorrt")
MODEL_ENGINES = ("onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")

# Foreground area upper bounds in source pixels, halfway between the footprints of the classes
# of the default synthetic intersection at ~9 px/m (81 px^2 per m^2): bicycle 1.8x0.6 m = 87,
# motorcycle 143, car 4.5x1.8 m = 656, van 891, car with trailer 1166, truck 1823, bus 12x2.5 m =
# 2430, truck with trailer / semi-trailer ~3300 (told apart by nothing but shape, so: semi_trailer).
# With the default min_area (120) bicycles and e-scooters are too small to be detected at all.
DEFAULT_CLASS_MAX_AREA = [115.0, 400.0, 770.0, 1030.0, 1500.0, 2120.0, 2830.0, 6000.0]
DEFAULT_CLASS_LABELS = ["bicycle", "motorcycle", "car", "van", "car_with_trailer", "truck", "bus", "semi_trailer"]

PARAMS = [
    ParamSpec(
        "classes",
        "str[]",
        list(DEFAULT_CLASSES),
        "class list of the deployment; every label the detector emits is one of these",
    ),
    ParamSpec("engine", "str", "motion", "detection engine", choices=ENGINES),
    ParamSpec(
        "score_threshold", "float", 0.3, "detections scoring below this are dropped", min=0.0, max=1.0, read_only=False
    ),
    ParamSpec(
        "motion.history",
        "int",
        300,
        "MOG2 background history in frames (a stopped vehicle fades after ~history/10 frames)",
        min=1,
    ),
    ParamSpec(
        "motion.var_threshold",
        "float",
        24.0,
        "MOG2 squared Mahalanobis distance above which a pixel is foreground",
        min=0.0,
    ),
    ParamSpec("motion.min_area", "int", 120, "smallest blob foreground area, in source pixels", min=1),
    ParamSpec("motion.scale", "float", 0.5, "process at this fraction of the source resolution", min=1e-3, max=1.0),
    ParamSpec(
        "motion.warmup_frames",
        "int",
        45,
        "frames used only to learn the background before the first detections "
        "(about motion.history / 10 or more: vehicles in the first frame fade that slowly)",
        min=0,
    ),
    ParamSpec(
        "motion.close_kernel",
        "int",
        3,
        "morphological closing kernel side in processing pixels (joins a vehicle's parts; <=1: off)",
        min=0,
        max=31,
    ),
    ParamSpec(
        "motion.class_max_area",
        "float[]",
        DEFAULT_CLASS_MAX_AREA,
        "ascending upper bounds of blob foreground area (source pixels), one per class label; larger blobs are dropped",
        min=0.0,
    ),
    ParamSpec(
        "motion.class_labels",
        "str[]",
        DEFAULT_CLASS_LABELS,
        "class label of each area band in motion.class_max_area (members of classes)",
    ),
    # DNN engines (onnxruntime, tensorrt)
    ParamSpec("model.path", "str", "", "ONNX model file (onnxruntime, tensorrt)"),
    ParamSpec(
        "model.metadata",
        "str",
        "",
        "model metadata json (classes, input_size, layout, color, mean, std; its sha256 record must name "
        "model.path); empty: <model>.json if present",
    ),
    ParamSpec(
        "model.labels",
        "str",
        "",
        "labels file of the model's class names, one per line (line i = class i; e.g. DeepStream-Yolo "
        "labels.txt); wins over the metadata's names; empty: none",
    ),
    ParamSpec(
        "model.layout", "str", "auto", "output layout; auto: from the model's outputs", choices=("auto",) + LAYOUTS
    ),
    ParamSpec(
        "model.input_size",
        "int[]",
        [],
        "[height, width] of the model input; empty: the model's fixed size, else its metadata",
        min=1,
    ),
    ParamSpec(
        "model.resize",
        "str",
        "auto",
        "how a frame is fitted to the model input: letterbox (aspect kept, padded) or stretch; auto: "
        "stretch for the DETR layouts (as their exporters' preprocessing does), letterbox otherwise",
        choices=("auto", "letterbox", "stretch"),
    ),
    ParamSpec(
        "model.color",
        "str",
        "auto",
        "channel order the model expects; auto: metadata, else rgb",
        choices=("auto", "rgb", "bgr"),
    ),
    ParamSpec(
        "model.mean",
        "float[]",
        [],
        "per-channel mean subtracted from pixel/255 (model channel order); empty: metadata, else 0",
    ),
    ParamSpec(
        "model.std",
        "float[]",
        [],
        "per-channel divisor after the mean (1/255 for raw 0..255 input); empty: metadata, else 1",
    ),
    ParamSpec(
        "model.class_map",
        "str[]",
        [],
        "label (member of classes, or \"\" to ignore) per model class index; "
        "empty: the model's class names, else classes",
    ),
    ParamSpec(
        "model.class_map_file",
        "str",
        "",
        "YAML mapping from the model's class names to labels (name: label, \"\" ignores a class), instead of "
        "model.class_map; COCO models: package://argos_bringup/config/class_maps/coco.yaml",
    ),
    ParamSpec("model.class_thresholds.labels", "str[]", [], "labels with their own score threshold", read_only=False),
    ParamSpec(
        "model.class_thresholds.values",
        "float[]",
        [],
        "score threshold per label in model.class_thresholds.labels (others: score_threshold)",
        min=0.0,
        max=1.0,
        read_only=False,
    ),
    ParamSpec(
        "model.nms_iou",
        "float",
        0.45,
        "IoU above which a lower-scoring box of the same class is suppressed",
        min=0.0,
        max=1.0,
    ),
    ParamSpec("model.max_detections", "int", 300, "most detections kept per image", min=1),
    ParamSpec(
        "model.batch", "int", 0, "images per inference (several cameras); 0: the model's fixed batch, else 1", min=0
    ),
    ParamSpec(
        "model.providers",
        "str[]",
        [],
        "onnxruntime execution providers in order; empty: TensorRT, CUDA, CPU as available",
    ),
    ParamSpec("model.threads", "int", 0, "onnxruntime intra-op threads; 0: onnxruntime's default", min=0),
    ParamSpec(
        "model.spin_wait",
        "bool",
        False,
        "onnxruntime threads busy-wait between calls (lower latency on idle many-core hosts; on small "
        "CPUs they take the cores the rest of the graph needs)",
    ),
    ParamSpec(
        "model.precision",
        "str",
        "fp16",
        "tensorrt engine precision (int8: QDQ model or calibration)",
        choices=PRECISIONS,
    ),
    ParamSpec("model.engine_cache_dir", "str", "", "tensorrt: folder of built engines; empty: ~/.cache/argos/engines"),
    ParamSpec(
        "model.calibration_dir",
        "str",
        "",
        "tensorrt int8 without QDQ: folder of calibration images (builds the calibration cache)",
    ),
    ParamSpec(
        "model.calibration_cache",
        "str",
        "",
        "tensorrt int8 without QDQ: calibration cache file (read if present, else written)",
    ),
]


PATH_PARAMS = (
    "model.path",
    "model.metadata",
    "model.labels",
    "model.class_map_file",
    "model.engine_cache_dir",
    "model.calibration_dir",
    "model.calibration_cache",
)


def with_resolved_paths(values):
    """A copy of `values` with `package://` and `~` file parameters resolved to real paths."""
    from argos_common.paths import resolve_path

    return {**values, **{k: resolve_path(values[k], k) for k in PATH_PARAMS if k in values}}


def validate(values) -> None:
    """Cross-parameter checks run by `argos check-config` / `argos run` before anything starts."""
    values = with_resolved_paths(values)
    from .size_bands import SizeBands

    SizeBands.from_config(values["motion.class_max_area"], values["motion.class_labels"], values["classes"])
    labels, thresholds = values["model.class_thresholds.labels"], values["model.class_thresholds.values"]
    if len(labels) != len(thresholds):
        raise ConfigError(
            "model.class_thresholds.values",
            f"has {len(thresholds)} values for {len(labels)} labels "
            "in model.class_thresholds.labels; they must pair up",
        )
    if values["model.input_size"] and len(values["model.input_size"]) != 2:
        raise ConfigError("model.input_size", f"expected [height, width], got {values['model.input_size']}")
    for key in ("model.mean", "model.std"):
        if values[key] and len(values[key]) != 3:
            raise ConfigError(key, f"expected 3 values (one per channel), got {values[key]}")
    if any(v == 0 for v in values["model.std"]):
        raise ConfigError("model.std", "values must be non-zero")
    if values["engine"] in MODEL_ENGINES:
        if not values["model.path"]:
            raise ConfigError("model.path", f"engine {values['engine']} needs a model file")
        if not Path(values["model.path"]).is_file():
            raise ConfigError("model.path", f"model file not found: {values['model.path']}")
        from .model_metadata import read_metadata

        # a sidecar of another model (or a broken one) is named before anything starts
        read_metadata(values["model.path"], None, values["model.metadata"] or None, values["model.labels"] or None)
    if values["model.class_map_file"]:
        from .class_map import load_class_map_file

        load_class_map_file(values["model.class_map_file"])
