"""rclpy wiring of the tracker: detections in; tracks and count events out (argos_tracker.pipeline
does the work)."""

from __future__ import annotations

import sys
import threading
import time

from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from vision_msgs.msg import Detection2DArray

from argos_common.counts import TotalsKey
from argos_common.metrics import HistogramSample, LatencyHistogram, Sample
from argos_common.params import ConfigError
from argos_common.ros.conversions import (
    count_record_to_msg,
    detections_to_msg,
    movement_record_to_msg,
    msg_to_detections,
    ns_from_stamp,
)
from argos_common.ros.diagnostics import DiagnosticsReporter
from argos_common.ros.node_main import run_node
from argos_common.ros.params import configuring, declare_params
from argos_common.ros.qos import COUNTS, RESULTS, SENSOR
from argos_interfaces.msg import CountEvent, MovementEvent

from .health import health
from .params import PARAMS
from .pipeline import TrackingPipeline


class TrackerNode(Node):
    def __init__(self, *, node_name: str = "tracker", **kwargs):
        super().__init__(node_name, **kwargs)
        with configuring(self):
            self._pipeline = TrackingPipeline(declare_params(self, PARAMS))
        values = self._pipeline.params
        self._lock = threading.Lock()
        self._update_s_total = 0.0
        self._latency = LatencyHistogram()

        self._tracks_pub = self.create_publisher(Detection2DArray, "tracks", RESULTS)
        self._counts_pub = self.create_publisher(CountEvent, "counts", COUNTS)
        self._movements_pub = self.create_publisher(MovementEvent, "movements", COUNTS)
        self._sub = self.create_subscription(Detection2DArray, "detections", self._on_detections, RESULTS)
        # the frame size places lines and zones drawn for another size (geometry.image_size)
        self._info_sub = self.create_subscription(CameraInfo, "camera/camera_info", self._on_camera_info, SENSOR)
        if values["totals_interval_s"] > 0:
            self._totals_timer = self.create_timer(values["totals_interval_s"], self._log_totals)
        lines, zones = self._pipeline.lines, self._pipeline.zones
        self.get_logger().info(
            f"tracking {len(values['classes'])} classes, counting on {len(lines)} line(s) "
            f"({', '.join(line.id for line in lines) or 'none'}) and {len(zones)} zone(s) "
            f"({', '.join(zone.id for zone in zones) or 'none'}), filter {values['filter']}, "
            f"{values['motion_model']}"
        )
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        size = (int(msg.width), int(msg.height))
        if size == self._pipeline.source_size or 0 in size:
            return
        try:
            with self._lock:
                changed = self._pipeline.set_source_size(size)
        except ConfigError as exc:
            error = exc.under(self.get_fully_qualified_name())
            self.get_logger().error(str(error))
            raise error from None
        if changed:
            self.get_logger().info(
                f"source is {size[0]}x{size[1]}: lines and zones placed in its pixels "
                f"({'; '.join(f'{line.id} {line.points.round(1).tolist()}' for line in self._pipeline.lines)})"
            )

    def _on_detections(self, msg: Detection2DArray) -> None:
        started = time.perf_counter()
        dets = msg_to_detections(msg)
        with self._lock:
            result = self._pipeline.update(dets, ns_from_stamp(msg.header.stamp))
        out = detections_to_msg(result.confirmed, 0, msg.header.frame_id)
        out.header = msg.header
        self._tracks_pub.publish(out)
        for record in result.counts:
            self._counts_pub.publish(count_record_to_msg(record, msg.header.frame_id))
        for movement in result.movements:
            self._movements_pub.publish(movement_record_to_msg(movement, msg.header.frame_id))
        elapsed = time.perf_counter() - started
        with self._lock:
            self._update_s_total += elapsed
        self._latency.observe(elapsed)

    def totals(self) -> dict[TotalsKey, int]:
        """{(line or zone id, lane, class, direction): count} since the node started."""
        with self._lock:
            return self._pipeline.totals.as_dict()

    def _log_totals(self) -> None:
        with self._lock:
            text = self._pipeline.totals.text(self._pipeline.occupancy())
        self.get_logger().info(text)

    def stats(self) -> dict:
        with self._lock:
            pipeline, tracker = self._pipeline, self._pipeline.tracker
            frames = pipeline.frames
            return {
                "frames": frames,
                "active_tracks": pipeline.live_tracks,
                "confirmed_tracks": pipeline.confirmed_tracks,
                "counts_total": pipeline.totals.total,
                "tracks_born": getattr(tracker, "births", 0),
                "births_refused": getattr(tracker, "births_refused", 0),
                "zone_occupancy": pipeline.occupancy(),
                "update_ms_mean": round(1000.0 * self._update_s_total / frames, 3) if frames else 0.0,
                **pipeline.movements.stats(),
            }

    def metrics(self) -> list:
        """Prometheus samples (argos_common.metrics): tracks, counts per line, lane, class and direction."""
        stats = self.stats()
        out = [
            Sample("argos_frames", stats["frames"], {"stage": "tracked"}),
            Sample("argos_tracks", stats["active_tracks"], {"state": "active"}),
            Sample("argos_tracks", stats["confirmed_tracks"], {"state": "confirmed"}),
            Sample("argos_tracks_born", stats["tracks_born"]),
            HistogramSample("argos_stage_latency_seconds", self._latency, {"stage": "tracking"}),
        ]
        for (line, lane, label, direction), n in sorted(self.totals().items()):
            labels = {"line": line, "lane": str(lane), "class": label, "direction": direction}
            out.append(Sample("argos_counts", n, labels))
        return out


def main(args=None) -> None:
    sys.exit(run_node(TrackerNode, args))


if __name__ == "__main__":
    main()
