"""Parameters of the bridge node (section `/**/bridge` of config/edge.yaml; `classes` is global).

The node declares these with descriptors and `argos_bringup.config` validates the YAML file
against the same list, so both sides agree on names, types, defaults and ranges.
"""
from __future__ import annotations

from argos_common.classes import DEFAULT_CLASSES
from argos_common.params import ParamSpec

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"

PARAMS = [
    # identity: goes into every payload, the MQTT topics and the Redis stream key
    ParamSpec("site", "str", "demo-site", "site name (MQTT topic level, stream key part, payload field)"),
    ParamSpec("device", "str", "edge-01", "edge device name (MQTT topic level, stream key part, payload field)"),
    ParamSpec("camera", "str", "cam0", "camera name (MQTT topic level, stream key part, payload field)"),
    ParamSpec("classes", "str[]", list(DEFAULT_CLASSES), "class labels; a label's index is its classID"),
    # Redis: the local buffer the collector reads
    ParamSpec("redis_url", "str", "", f"Redis server URL; empty: {DEFAULT_REDIS_URL}"),
    ParamSpec("stream_maxlen", "int", 100000, "approximate MAXLEN of the camera's Redis stream", min=100),
    ParamSpec("redis_timeout_s", "float", 1.0,
              "socket connect/read timeout of one Redis write (bounds how long a dead server stalls the worker)",
              min=0.05, max=30.0),
    ParamSpec("redis_retry_max_s", "float", 5.0,
              "longest pause between Redis reconnection attempts (backoff doubles from 0.25 s up to this)",
              min=0.25, max=300.0),
    # MQTT
    ParamSpec("mqtt_url", "str", "", f"MQTT broker, mqtt://host:port; empty: {DEFAULT_MQTT_URL}"),
    ParamSpec("mqtt_client_id", "str", "", "MQTT client id; empty: argos-<site>-<device>-<camera>"),
    ParamSpec("topic_prefix", "str", "argos", "first MQTT topic level: <prefix>/<site>/<device>/<camera>/<kind>"),
    ParamSpec("mqtt_qos_detections", "int", 0, "QoS of <...>/detections", min=0, max=2),
    ParamSpec("mqtt_qos_counts", "int", 1, "QoS of <...>/counts", min=0, max=2),
    ParamSpec("mqtt_qos_totals", "int", 1, "QoS of <...>/totals", min=0, max=2),
    ParamSpec("mqtt_qos_status", "int", 1, "QoS of the retained <...>/status and of the last will", min=0, max=2),
    ParamSpec("mqtt_keepalive_s", "int", 30, "MQTT keepalive; the broker sends the last will after 1.5x this "
              "without traffic (at once when the connection drops)", min=5, max=3600),
    ParamSpec("mqtt_reconnect_max_s", "float", 30.0,
              "longest pause between MQTT reconnection attempts (backoff doubles from 0.5 s up to this)",
              min=0.5, max=600.0),
    # what to send and how often
    ParamSpec("detections_every_n_frames", "int", 1, "publish every Nth tracks message on MQTT <...>/detections "
              "(Redis gets every one)", min=1),
    ParamSpec("totals_interval_s", "float", 10.0, "period of the totals payload (Redis and MQTT)", min=0.01),
    # never block the ROS callbacks
    ParamSpec("queue_size", "int", 1000, "bounded hand-off queue between ROS callbacks and the writer thread; "
              "when full the oldest tracks message is dropped (count events are kept)", min=10),
]

__all__ = ["PARAMS", "DEFAULT_REDIS_URL", "DEFAULT_MQTT_URL"]
