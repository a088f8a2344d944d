"""Parameters of the annotator node (annotated/image_raw and the RTSP stream); ROS-free so that
`argos check-config` validates the `annotator` section without starting anything."""

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import GEOMETRY_PARAMS, LINES_GROUP
from argos_common.params import ParamSpec

PARAMS = [
    ParamSpec(
        "image_rate_hz",
        "float",
        0.0,
        "cap on annotated/image_raw publishing (only while subscribed); 0: every tracked frame",
        min=0.0,
        max=240.0,
    ),
    ParamSpec("rtsp_port", "int", 0, "serve the annotated stream over RTSP on this TCP port; 0: off", min=0, max=65535),
    ParamSpec("rtsp_path", "str", "/annotated", "RTSP mount point: rtsp://<host>:<rtsp_port><rtsp_path>"),
    ParamSpec("rtsp_address", "str", "0.0.0.0", "address the RTSP server listens on"),
    ParamSpec(
        "rtsp_rate_hz",
        "float",
        5.0,
        "frame rate of the RTSP stream (latest annotated frame, repeated when none is newer)",
        min=0.1,
        max=60.0,
    ),
    ParamSpec("rtsp_bitrate_kbps", "int", 2000, "x264 target bitrate of the RTSP stream", min=50, max=100000),
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES), "class labels (list order fixes each class's colour)"),
    LINES_GROUP,
    *GEOMETRY_PARAMS,
]
