"""Publish a node's stats() and health on /diagnostics (diagnostic_msgs/DiagnosticArray)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

HealthRule = Callable[[dict], tuple[int, str]]


def value_text(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


class DiagnosticsReporter:
    """One DiagnosticStatus per period: name = the node's fully qualified name, level and message
    from the package's health rule, values = every stats() entry (as strings, per the message; a
    dict or list as JSON, so that a reader such as `argos status` can take it apart)."""

    def __init__(
        self, node: Node, stats: Callable[[], dict], health: HealthRule, *, period_s: float = 1.0, hardware_id: str = ""
    ):
        self._node = node
        self._stats = stats
        self._health = health
        self._hardware_id = hardware_id
        self._publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._timer = node.create_timer(period_s, self.publish)

    def status(self) -> DiagnosticStatus:
        lifecycle = getattr(self._node, "state", None)  # managed nodes (argos_common.ros.managed)
        if lifecycle in ("unconfigured", "finalized"):
            # nothing opened yet (or any more): no stats to judge; a manager has to configure it
            return DiagnosticStatus(
                level=bytes([1]),
                name=self._node.get_fully_qualified_name(),
                message=f"lifecycle state {lifecycle}",
                hardware_id=self._hardware_id,
                values=[KeyValue(key="lifecycle_state", value=lifecycle)],
            )
        stats = self._stats()
        level, message = self._health(stats)
        return DiagnosticStatus(
            level=bytes([level]),
            name=self._node.get_fully_qualified_name(),
            message=message,
            hardware_id=self._hardware_id,
            values=[KeyValue(key=str(k), value=value_text(v)) for k, v in sorted(stats.items())],
        )

    def publish(self) -> None:
        msg = DiagnosticArray(status=[self.status()])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._publisher.publish(msg)
