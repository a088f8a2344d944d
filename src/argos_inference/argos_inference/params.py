"""Parameters of the inference node (validated by argos_bringup.config against config/edge.yaml)."""
from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import ParamSpec

ENGINES = ("motion",)

# Foreground area upper bounds in source pixels, halfway between the footprints of the classes
# of the default synthetic intersection at ~9 px/m (81 px^2 per m^2): bicycle 1.8x0.6 m = 87,
# motorcycle 143, car 4.5x1.8 m = 656, van 891, car with trailer 1166, truck 1823, bus 12x2.5 m =
# 2430, truck with trailer / semi-trailer ~3300 (told apart by nothing but shape, so: semi_trailer).
# With the default min_area (120) bicycles and e-scooters are too small to be detected at all.
DEFAULT_CLASS_MAX_AREA = [115.0, 400.0, 770.0, 1030.0, 1500.0, 2120.0, 2830.0, 6000.0]
DEFAULT_CLASS_LABELS = ["bicycle", "motorcycle", "car", "van", "car_with_trailer", "truck", "bus", "semi_trailer"]

PARAMS = [
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES),
              "class list of the deployment; every label the detector emits is one of these"),
    ParamSpec("engine", "str", "motion", "detection engine", choices=ENGINES),
    ParamSpec("score_threshold", "float", 0.3, "detections scoring below this are dropped", min=0.0, max=1.0),
    ParamSpec("motion.history", "int", 300,
              "MOG2 background history in frames (a stopped vehicle fades after ~history/10 frames)", min=1),
    ParamSpec("motion.var_threshold", "float", 24.0,
              "MOG2 squared Mahalanobis distance above which a pixel is foreground", min=0.0),
    ParamSpec("motion.min_area", "int", 120, "smallest blob foreground area, in source pixels", min=1),
    ParamSpec("motion.scale", "float", 0.5, "process at this fraction of the source resolution", min=1e-3, max=1.0),
    ParamSpec("motion.warmup_frames", "int", 45,
              "frames used only to learn the background before the first detections "
              "(about motion.history / 10 or more: vehicles in the first frame fade that slowly)", min=0),
    ParamSpec("motion.close_kernel", "int", 3,
              "morphological closing kernel side in processing pixels (joins a vehicle's parts; <=1: off)",
              min=0, max=31),
    ParamSpec("motion.class_max_area", "float[]", DEFAULT_CLASS_MAX_AREA,
              "ascending upper bounds of blob foreground area (source pixels), one per class label; "
              "larger blobs are dropped", min=0.0),
    ParamSpec("motion.class_labels", "str[]", DEFAULT_CLASS_LABELS,
              "class label of each area band in motion.class_max_area (members of classes)"),
]


def validate(values) -> None:
    """Cross-parameter checks run by `argos check-config` / `argos run` before anything starts."""
    from .size_bands import SizeBands
    SizeBands.from_config(values["motion.class_max_area"], values["motion.class_labels"], values["classes"])
