"""Publishes a recording's serialized messages at their recorded pace, plus /clock."""

from __future__ import annotations

import threading
import time

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from argos_common.ros.conversions import stamp_from_ns

from .player import Scheduled
from .recorder_node import message_class

_BEST_EFFORT_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo")


class PlayerNode(Node):
    def __init__(
        self,
        topics: dict[str, str],
        remaps: dict[str, str],
        *,
        clock_hz: float = 0.0,
        node_name: str = "argos_bag_player",
        **kwargs,
    ):
        super().__init__(node_name, **kwargs)
        self._bag_publishers = {}
        for topic, msgtype in topics.items():
            reliability = ReliabilityPolicy.BEST_EFFORT if msgtype in _BEST_EFFORT_TYPES else ReliabilityPolicy.RELIABLE
            qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000, reliability=reliability)
            self._bag_publishers[topic] = self.create_publisher(message_class(msgtype), remaps.get(topic, topic), qos)
        self._clock_pub = None
        if clock_hz > 0:
            self._clock_pub = self.create_publisher(
                Clock, "/clock", QoSProfile(depth=1, durability=DurabilityPolicy.VOLATILE)
            )
            self._clock_period = 1.0 / clock_hz
        self.published = {t: 0 for t in topics}
        self._bag_time_ns = 0
        self._stop = threading.Event()

    def play(self, scheduled, wait_for_subscribers_s: float = 0.0) -> dict[str, int]:
        """Blocking playback on the calling thread; `stop()` ends it early."""
        deadline = time.monotonic() + wait_for_subscribers_s
        while time.monotonic() < deadline and not any(
            p.get_subscription_count() for p in self._bag_publishers.values()
        ):
            time.sleep(0.05)
        start = time.monotonic()
        next_clock = start
        for item in scheduled:
            while True:
                now = time.monotonic()
                if self._stop.is_set():
                    return self.published
                if self._clock_pub is not None and now >= next_clock and self._bag_time_ns:
                    self._clock_pub.publish(Clock(clock=stamp_from_ns(self._bag_time_ns)))
                    next_clock += self._clock_period
                wait = start + item.at_s - now
                if wait <= 0:
                    break
                time.sleep(min(wait, self._clock_period if self._clock_pub else wait, 0.05))
            self._emit(item)
        self._wait_for_delivery()
        return self.published

    def _wait_for_delivery(self, timeout_s: float = 2.0) -> None:
        """Let reliable subscribers acknowledge the last messages: a player that exits right after
        its last publish would take the ones still in flight with it."""
        for topic, publisher in self._bag_publishers.items():
            if self.published[topic] and publisher.qos_profile.reliability == ReliabilityPolicy.RELIABLE:
                publisher.wait_for_all_acked(Duration(seconds=timeout_s))

    def _emit(self, item: Scheduled) -> None:
        self._bag_time_ns = item.bag_time_ns
        if self._clock_pub is not None:
            self._clock_pub.publish(Clock(clock=stamp_from_ns(item.bag_time_ns)))
        self._bag_publishers[item.message.topic].publish(item.message.data)
        self.published[item.message.topic] += 1

    def stop(self) -> None:
        self._stop.set()
