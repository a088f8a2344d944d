"""Parameters of the bridge node (section `/**/bridge` of config/edge.yaml; `classes` is global).

The node declares these with descriptors and `argos_bringup.config` validates the YAML file
against the same list, so both sides agree on names, types, defaults and ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argos_common.classes import DEFAULT_CLASSES
from argos_common.endpoints import DEFAULT_MQTT_URL, DEFAULT_REDIS_URL
from argos_common.params import ConfigError, ParamSpec

PARAMS = [
    # identity: goes into every payload, the MQTT topics and the Redis stream key
    ParamSpec("site", "str", "demo-site", "site name (MQTT topic level, stream key part, payload field)"),
    ParamSpec("device", "str", "edge-01", "edge device name (MQTT topic level, stream key part, payload field)"),
    ParamSpec(
        "camera",
        "str",
        "cam0",
        "camera name (MQTT topic level, stream key part, payload field); empty: the node's namespace",
    ),
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES), "class labels; a label's index is its classID"),
    # Redis: the local buffer the collector reads
    ParamSpec("redis_url", "str", "", f"Redis server URL; empty: {DEFAULT_REDIS_URL}"),
    ParamSpec("stream_maxlen", "int", 100000, "approximate MAXLEN of the camera's Redis stream", min=100),
    ParamSpec(
        "redis_timeout_s",
        "float",
        1.0,
        "socket connect/read timeout of one Redis write (bounds how long a dead server stalls the worker)",
        min=0.05,
        max=30.0,
    ),
    ParamSpec(
        "redis_retry_max_s",
        "float",
        5.0,
        "longest pause between Redis reconnection attempts (backoff doubles from 0.25 s up to this)",
        min=0.25,
        max=300.0,
    ),
    ParamSpec("redis_username", "str", "", "Redis ACL user (empty: the default user)"),
    ParamSpec(
        "redis_password_file",
        "str",
        "",
        "file whose first line is the Redis password (requirepass or the ACL user's); empty: none",
    ),
    ParamSpec(
        "redis_buffer_size",
        "int",
        10000,
        "entries held in memory while Redis is unreachable, written in "
        "order when it is back; when full the oldest is dropped (counted in redis_dropped)",
        min=1,
    ),
    # MQTT
    ParamSpec(
        "mqtt_url", "str", "", f"MQTT broker, mqtt://host:port or mqtts://host:port (TLS); empty: {DEFAULT_MQTT_URL}"
    ),
    ParamSpec("mqtt_protocol", "str", "3.1.1", "MQTT protocol version", choices=("3.1.1", "5")),
    ParamSpec("mqtt_username", "str", "", "MQTT user name (empty: anonymous)"),
    ParamSpec(
        "mqtt_password_file",
        "str",
        "",
        "file whose first line is the MQTT password (never put it in "
        "this file: parameters can be read back over ROS); needs mqtt_username",
    ),
    ParamSpec(
        "mqtt_tls_ca_file",
        "str",
        "",
        "CA certificate(s) (PEM) that signed the broker's certificate; "
        "setting it turns TLS on (mqtts:// without it trusts the system CAs)",
    ),
    ParamSpec("mqtt_tls_cert_file", "str", "", "client certificate (PEM) for mutual TLS; with mqtt_tls_key_file"),
    ParamSpec("mqtt_tls_key_file", "str", "", "private key (PEM) of mqtt_tls_cert_file"),
    ParamSpec("mqtt_client_id", "str", "", "MQTT client id; empty: argos-<site>-<device>-<camera>"),
    ParamSpec("topic_prefix", "str", "argos", "first MQTT topic level: <prefix>/<site>/<device>/<camera>/<kind>"),
    ParamSpec("mqtt_qos_detections", "int", 0, "QoS of <...>/detections", min=0, max=2),
    ParamSpec("mqtt_qos_counts", "int", 1, "QoS of <...>/counts", min=0, max=2),
    ParamSpec("mqtt_qos_totals", "int", 1, "QoS of <...>/totals", min=0, max=2),
    ParamSpec("mqtt_qos_status", "int", 1, "QoS of the retained <...>/status and of the last will", min=0, max=2),
    ParamSpec(
        "mqtt_keepalive_s",
        "int",
        30,
        "MQTT keepalive; the broker sends the last will after 1.5x this "
        "without traffic (at once when the connection drops)",
        min=5,
        max=3600,
    ),
    ParamSpec(
        "mqtt_reconnect_max_s",
        "float",
        30.0,
        "longest pause between MQTT reconnection attempts (backoff doubles from 0.5 s up to this)",
        min=0.5,
        max=600.0,
    ),
    # store-and-forward while the broker is unreachable
    ParamSpec(
        "spool_dir",
        "str",
        "",
        "directory of the on-disk MQTT spool (<site>-<device>-<camera>.sqlite3, "
        "survives restarts); empty: the spool is kept in memory and lost on restart",
    ),
    ParamSpec(
        "spool_max_messages",
        "int",
        100000,
        "most messages in the spool; beyond it the oldest are dropped (counted in mqtt_spool_dropped)",
        min=10,
    ),
    ParamSpec(
        "spool_max_mb", "float", 64.0, "most payload megabytes in the spool; beyond it the oldest are dropped", min=0.1
    ),
    ParamSpec(
        "max_payload_bytes",
        "int",
        262144,
        "larger payloads are rejected (logged, counted in rejected) instead of being sent to Redis and MQTT",
        min=1024,
        max=268435455,
    ),
    # what to send and how often
    ParamSpec(
        "detections_every_n_frames",
        "int",
        1,
        "publish every Nth tracks message on MQTT <...>/detections (Redis gets every one)",
        min=1,
        read_only=False,
    ),
    ParamSpec(
        "totals_interval_s", "float", 10.0, "period of the totals payload (Redis and MQTT)", min=0.01, read_only=False
    ),
    ParamSpec("mqtt_qos_movements", "int", 1, "QoS of <...>/movements", min=0, max=2),
    ParamSpec("mqtt_qos_bins", "int", 1, "QoS of <...>/bins", min=0, max=2),
    ParamSpec(
        "bins.interval_min",
        "int",
        15,
        "length of the interval bins of movements and line counts, minutes, aligned to the clock "
        "(15: :00, :15, :30, :45 UTC); one of 1, 5, 15, 60",
        min=1,
        max=60,
    ),
    ParamSpec(
        "bins.close_delay_s",
        "float",
        30.0,
        "a bin is published this long after its end (vehicles that entered just before it have left by then)",
        min=0.0,
        max=3600.0,
    ),
    ParamSpec(
        "bins.late_s",
        "float",
        900.0,
        "after its first publication a bin is kept this long: a late event re-publishes it with the next "
        "revision; older events are refused (counted in bins_too_late). Also how far back a restart "
        "reads the Redis stream to resume",
        min=0.0,
        max=86400.0,
    ),
    # never block the ROS callbacks
    ParamSpec(
        "queue_size",
        "int",
        1000,
        "bounded hand-off queue between ROS callbacks and the writer thread; "
        "when full the oldest tracks message is dropped (count events are kept)",
        min=10,
    ),
]


def validate(values: Mapping[str, Any]) -> None:
    """Rules across parameters (file existence is checked when the bridge starts, on the unit)."""
    if bool(values["mqtt_tls_cert_file"]) != bool(values["mqtt_tls_key_file"]):
        key = "mqtt_tls_key_file" if values["mqtt_tls_cert_file"] else "mqtt_tls_cert_file"
        raise ConfigError(key, "a client certificate needs both mqtt_tls_cert_file and mqtt_tls_key_file")
    if values["mqtt_password_file"] and not values["mqtt_username"]:
        raise ConfigError("mqtt_username", "mqtt_password_file is set but mqtt_username is empty")
    from argos_common.bins import BIN_MINUTES

    if values["bins.interval_min"] not in BIN_MINUTES:
        raise ConfigError("bins.interval_min", f"must be one of {', '.join(map(str, BIN_MINUTES))} minutes")
    if values["spool_max_mb"] * 1024 * 1024 < values["max_payload_bytes"]:
        raise ConfigError("spool_max_mb", "must hold at least one message of max_payload_bytes")


__all__ = ["PARAMS", "DEFAULT_REDIS_URL", "DEFAULT_MQTT_URL", "validate"]
