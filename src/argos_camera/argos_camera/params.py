"""Parameters of the camera node (validated by argos_bringup.config against config/edge.yaml)."""
from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import LINES_GROUP
from argos_common.params import ParamSpec

IMAGE_PUBLISH_CHOICES = ("auto", "always", "never")

PARAMS = [
    ParamSpec("source", "str", "synthetic://intersection",
              "synthetic://intersection[?seed=N&density=X&occluders=true|false] | file:///abs/path | /abs/path"),
    ParamSpec("width", "int", 1280, "synthetic scene width in pixels (file sources keep their own size)", min=64),
    ParamSpec("height", "int", 720, "synthetic scene height in pixels (file sources keep their own size)", min=64),
    ParamSpec("fps", "float", 15.0,
              "frame rate of the synthetic scene; pacing rate when realtime (files pace at their own fps)",
              min=1e-3, max=240.0),
    ParamSpec("seed", "int", 7, "random seed of the synthetic scene (same seed, same frames)"),
    ParamSpec("realtime", "bool", True,
              "pace frames at the source fps; false: next frame as soon as downstream took the last one"),
    ParamSpec("loop", "bool", False, "restart a file source at end of file"),
    ParamSpec("frame_id", "str", "cam0_optical", "header.frame_id of published images and results"),
    ParamSpec("image_publish", "str", "auto",
              "auto: publish camera/image_raw only while it has subscribers | always | never",
              choices=IMAGE_PUBLISH_CHOICES),
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES), "vehicle classes the synthetic scene spawns"),
    ParamSpec("density", "float", 1.0,
              "synthetic traffic volume multiplier (the URI option density= overrides it)", min=0.0, max=10.0),
    ParamSpec("occluders", "bool", True,
              "draw the synthetic scene's static occluder (the URI option occluders= overrides it)"),
    LINES_GROUP,
]
