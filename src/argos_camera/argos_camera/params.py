"""Parameters of the camera node (validated by argos_bringup.config against config/edge.yaml)."""

from collections.abc import Mapping
from typing import Any

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import GEOMETRY_PARAMS, LINES_GROUP
from argos_common.params import ConfigError, ParamSpec

from .privacy import MASKS_GROUP, parse_masks

IMAGE_PUBLISH_CHOICES = ("auto", "always", "never")
FILE_BACKEND_CHOICES = ("auto", "gstreamer", "opencv")
RTSP_TRANSPORT_CHOICES = ("tcp", "udp", "auto")

PARAMS = [
    ParamSpec(
        "source",
        "str",
        "synthetic://intersection",
        "synthetic://intersection[?seed=N&density=X&occluders=true|false&conditions=.."
        "&view=top|pole&height=M&tilt=DEG&fov=DEG&corner=sw|se|ne|nw&distance=M] | file:///abs/path | /abs/path | "
        "rtsp://host[:port]/path | v4l2:///dev/videoN[?width=&height=&fps=&format=] | "
        "argus://N[?sensor_mode=&width=&height=&fps=] | gst://<pipeline> | images:///abs/dir[?pattern=*.png]",
    ),
    ParamSpec("width", "int", 1280, "synthetic scene width in pixels (file sources keep their own size)", min=64),
    ParamSpec("height", "int", 720, "synthetic scene height in pixels (file sources keep their own size)", min=64),
    ParamSpec(
        "fps",
        "float",
        15.0,
        "frame rate of the synthetic scene and image folders; pacing rate when realtime "
        "(files pace at their own fps, cameras deliver at theirs)",
        min=1e-3,
        max=240.0,
    ),
    ParamSpec("seed", "int", 7, "random seed of the synthetic scene (same seed, same frames)"),
    ParamSpec(
        "realtime",
        "bool",
        True,
        "pace frames at the source fps; false: next frame as soon as downstream took the last one "
        "(offline files; live cameras always deliver at their own rate)",
    ),
    ParamSpec("loop", "bool", False, "restart a file source (or image folder) at end of file"),
    ParamSpec("frame_id", "str", "cam0_optical", "header.frame_id of published images and results"),
    ParamSpec(
        "image_publish",
        "str",
        "auto",
        "auto: publish camera/image_raw only while it has subscribers | always | never",
        choices=IMAGE_PUBLISH_CHOICES,
        read_only=False,
    ),
    ParamSpec(
        "image_debug_rate_hz",
        "float",
        0.0,
        "when > 0, camera/image_raw is published at most this often (a debug view that does not cost "
        "the composed pipeline a serialization per frame); 0: every frame. Separate processes need 0",
        min=0.0,
        max=240.0,
        read_only=False,
    ),
    ParamSpec(
        "calibration_file",
        "str",
        "",
        "camera calibration YAML (ROS camera_calibration format) for camera/camera_info; empty: size only",
    ),
    ParamSpec(
        "file_backend",
        "str",
        "auto",
        "video files: auto (GStreamer when PyGObject is installed, else OpenCV) | gstreamer | opencv",
        choices=FILE_BACKEND_CHOICES,
    ),
    ParamSpec(
        "hardware_decode", "bool", True, "let GStreamer use hardware decoders (nvv4l2decoder on Jetson) when present"
    ),
    ParamSpec(
        "rtsp_transport",
        "str",
        "tcp",
        "RTSP lower transport: tcp (interleaved; survives NAT and loss) | udp | auto",
        choices=RTSP_TRANSPORT_CHOICES,
    ),
    ParamSpec("rtsp_latency_ms", "int", 200, "RTSP jitter buffer; later packets are dropped", min=0, max=10000),
    ParamSpec(
        "connect_timeout_s",
        "float",
        10.0,
        "a source must deliver its first frame within this time (files: else an error; cameras: retry)",
        min=0.1,
        max=600.0,
    ),
    ParamSpec(
        "stall_timeout_s",
        "float",
        5.0,
        "a live source without a frame for this long is taken as lost and reconnected",
        min=0.1,
        max=600.0,
    ),
    ParamSpec(
        "reconnect_initial_s",
        "float",
        0.5,
        "first pause before reconnecting a lost live source (doubles per failed attempt)",
        min=0.01,
        max=600.0,
    ),
    ParamSpec("reconnect_max_s", "float", 10.0, "longest pause between reconnection attempts", min=0.01, max=3600.0),
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES), "vehicle classes the synthetic scene spawns"),
    ParamSpec(
        "density",
        "float",
        1.0,
        "synthetic traffic volume multiplier (the URI option density= overrides it)",
        min=0.0,
        max=10.0,
    ),
    ParamSpec(
        "occluders", "bool", True, "draw the synthetic scene's static occluder (the URI option occluders= overrides it)"
    ),
    LINES_GROUP,
    *GEOMETRY_PARAMS,
    MASKS_GROUP,
]


def validate(values: Mapping[str, Any]) -> None:
    """Rules across parameters; raises ConfigError naming the parameter to change."""
    parse_masks(values)
    if values["reconnect_initial_s"] > values["reconnect_max_s"]:
        raise ConfigError(
            "reconnect_initial_s",
            f"{values['reconnect_initial_s']} is above reconnect_max_s {values['reconnect_max_s']}",
        )
    if values["calibration_file"]:
        from .calibration import load_calibration

        load_calibration(values["calibration_file"])  # a broken file is named before anything starts
