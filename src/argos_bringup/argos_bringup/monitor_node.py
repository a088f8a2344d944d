"""rclpy subscriber feeding RunMonitor from the graph's public topics."""

from __future__ import annotations

from rclpy.node import Node
from vision_msgs.msg import Detection2DArray

from argos_common.ros import qos
from argos_common.ros.conversions import msg_to_count_record, msg_to_movement_record
from argos_interfaces.msg import CountEvent, MovementEvent

from .monitor import RunMonitor


class MonitorNode(Node):
    def __init__(self, monitor: RunMonitor, *, node_name: str = "run_monitor", **kwargs):
        super().__init__(node_name, **kwargs)
        self.monitor = monitor
        self.create_subscription(CountEvent, "counts", self._on_count, qos.COUNTS)
        self.create_subscription(CountEvent, "camera/ground_truth/counts", self._on_truth, qos.COUNTS)
        self.create_subscription(
            MovementEvent, "movements", lambda m: monitor.on_movement(msg_to_movement_record(m)), qos.COUNTS
        )
        self.create_subscription(
            MovementEvent,
            "camera/ground_truth/movements",
            lambda m: monitor.on_truth_movement(msg_to_movement_record(m)),
            qos.COUNTS,
        )
        # raw: only counted, so never turned into Python objects
        self.create_subscription(
            Detection2DArray, "detections", lambda _m: monitor.on_detections(), qos.RESULTS, raw=True
        )
        self.create_subscription(Detection2DArray, "tracks", lambda _m: monitor.on_tracks(), qos.RESULTS, raw=True)

    def _on_count(self, msg: CountEvent) -> None:
        self.monitor.on_count(msg_to_count_record(msg))

    def _on_truth(self, msg: CountEvent) -> None:
        self.monitor.on_truth_count(msg_to_count_record(msg))
