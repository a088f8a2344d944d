"""rclpy node that records chosen topics through raw (serialized) subscriptions."""

from __future__ import annotations

import fnmatch
import importlib
import threading

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from .recorder import BagRecorder

ARGOS_TOPIC_PATTERNS = (
    "*/camera/image_raw",
    "*/camera/camera_info",
    "*/camera/ground_truth",
    "*/camera/ground_truth/counts",
    "*/detections",
    "*/tracks",
    "*/counts",
    "*/totals",
    "*/annotations",
    "*/annotated/image_raw",
    "*/camera/image_raw/compressed",
    "*/annotated/image_raw/compressed",
    "/diagnostics",
)


def message_class(msgtype: str):
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def select_topics(available: list[tuple[str, list[str]]], patterns) -> dict[str, str]:
    """topic -> type for the topics whose name matches a pattern (fnmatch; exact names work)."""
    chosen = {}
    for name, types in available:
        if types and any(fnmatch.fnmatchcase(name, p) for p in patterns):
            chosen[name] = types[0]
    return chosen


class RecorderNode(Node):
    """Subscribes once the topics are known (call `start(topics)`), writes every message with
    its receive time (the bag timestamp, as rosbag2 does)."""

    def __init__(self, *, node_name: str = "argos_bag_recorder", **kwargs):
        super().__init__(node_name, **kwargs)
        self._lock = threading.Lock()
        self.recorder: BagRecorder | None = None

    def discover(self, patterns) -> dict[str, str]:
        return select_topics(self.get_topic_names_and_types(), patterns)

    def start(self, recorder: BagRecorder) -> None:
        self.recorder = recorder
        for topic, msgtype in recorder.topics.items():
            self.create_subscription(
                message_class(msgtype), topic, self._writer_for(topic), self._qos_matching_publishers(topic), raw=True
            )

    def _qos_matching_publishers(self, topic: str) -> QoSProfile:
        # A reliable reader does not match a best-effort writer, so mirror the publishers:
        # reliable only when every publisher offers it (what rosbag2 does too).
        offered = [info.qos_profile.reliability for info in self.get_publishers_info_by_topic(topic)]
        reliable = bool(offered) and all(r == ReliabilityPolicy.RELIABLE for r in offered)
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=1000,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        )

    def _writer_for(self, topic: str):
        def write(data: bytes) -> None:
            stamp = self.get_clock().now().nanoseconds
            with self._lock:
                if self.recorder is not None:
                    self.recorder.write(topic, stamp, data)

        return write

    def close(self):
        with self._lock:
            recorder, self.recorder = self.recorder, None
        return recorder.close() if recorder else None
