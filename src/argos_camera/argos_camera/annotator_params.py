"""Parameters of the annotator node (annotated/image_raw and the RTSP stream); ROS-free so that
`argos check-config` validates the `annotator` section without starting anything."""

import ipaddress
from collections.abc import Mapping
from typing import Any

from argos_common.classes import DEFAULT_CLASSES
from argos_common.lines import GEOMETRY_PARAMS, LINES_GROUP
from argos_common.params import ConfigError, ParamSpec

from .privacy import MASKS_GROUP, parse_masks

PARAMS = [
    ParamSpec(
        "image_rate_hz",
        "float",
        0.0,
        "cap on each image topic of the annotator (annotated/image_raw and the JPEG topics "
        "annotated/image_raw/compressed, camera/image_raw/compressed; each only while subscribed); "
        "0: every tracked frame",
        min=0.0,
        max=240.0,
    ),
    ParamSpec("jpeg_quality", "int", 80, "JPEG quality of the compressed topics and of Foxglove", min=1, max=100),
    ParamSpec(
        "foxglove_rate_hz",
        "float",
        10.0,
        "cap on the images sent to Foxglove, per channel and only while a client subscribes (argos run --foxglove)",
        min=0.1,
        max=60.0,
    ),
    ParamSpec("rtsp_port", "int", 0, "serve the annotated stream over RTSP on this TCP port; 0: off", min=0, max=65535),
    ParamSpec("rtsp_path", "str", "/annotated", "RTSP mount point: rtsp://<host>:<rtsp_port><rtsp_path>"),
    ParamSpec(
        "rtsp_address",
        "str",
        "127.0.0.1",
        "address the RTSP server listens on; any but loopback needs rtsp_user and rtsp_password_file",
    ),
    ParamSpec("rtsp_user", "str", "", "RTSP authentication: the viewer's user name (empty: no authentication)"),
    ParamSpec(
        "rtsp_password_file",
        "str",
        "",
        "file whose first line is the RTSP viewer's password (read once, never logged)",
    ),
    ParamSpec(
        "rtsp_auth",
        "str",
        "digest",
        "RTSP authentication scheme: digest (the password never crosses the wire) or basic "
        "(base64, readable on the wire unless rtsp_tls_* is set; for clients without digest)",
        choices=("digest", "basic"),
    ),
    ParamSpec(
        "rtsp_tls_cert_file",
        "str",
        "",
        "PEM certificate (chain) of the RTSP server: with rtsp_tls_key_file, the stream is rtsps:// (TLS) only",
    ),
    ParamSpec("rtsp_tls_key_file", "str", "", "PEM private key of rtsp_tls_cert_file (read once, never logged)"),
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
    MASKS_GROUP,
]


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def validate(values: Mapping[str, Any]) -> None:
    """Who may watch: a stream bound beyond loopback needs credentials; masks must be polygons."""
    parse_masks(values)
    if bool(values["rtsp_user"]) != bool(values["rtsp_password_file"]):
        missing = "rtsp_password_file" if values["rtsp_user"] else "rtsp_user"
        raise ConfigError(missing, "RTSP authentication needs both rtsp_user and rtsp_password_file")
    if bool(values["rtsp_tls_cert_file"]) != bool(values["rtsp_tls_key_file"]):
        missing = "rtsp_tls_key_file" if values["rtsp_tls_cert_file"] else "rtsp_tls_cert_file"
        raise ConfigError(missing, "RTSPS needs both rtsp_tls_cert_file and rtsp_tls_key_file")
    if values["rtsp_port"] > 0 and not is_loopback(values["rtsp_address"]) and not values["rtsp_user"]:
        raise ConfigError(
            "rtsp_address",
            f"{values['rtsp_address']} is not loopback: set rtsp_user and rtsp_password_file "
            "so that only viewers with the password get the stream",
        )


def exposure_warnings(values: Mapping[str, Any]) -> list[str]:
    """Settings that are allowed but expose something: for the node's log."""
    found = []
    if (
        values["rtsp_port"] > 0
        and values["rtsp_user"]
        and values["rtsp_auth"] == "basic"
        and not values["rtsp_tls_cert_file"]
        and not is_loopback(values["rtsp_address"])
    ):
        found.append(
            f"rtsp_auth: basic without TLS on {values['rtsp_address']}: the RTSP password is readable on "
            "the wire (base64); use rtsp_auth: digest or set rtsp_tls_cert_file and rtsp_tls_key_file"
        )
    return found
