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
from argos_common.ros.params import LiveParameters, configuring, declare_params
from argos_common.ros.qos import COUNTS, LATCHED, RESULTS, SENSOR
from argos_interfaces.msg import CountEvent, CountingEpoch, MovementEvent

from .health import health
from .params import PARAMS
from .pipeline import TrackingPipeline


class TrackerNode(Node):
    def __init__(self, *, node_name: str = "tracker", **kwargs):
        super().__init__(node_name, **kwargs)
        with configuring(self):
            declared = declare_params(self, PARAMS)
            self._pipeline = TrackingPipeline(declared)
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
        self._epoch_pub = self.create_publisher(CountingEpoch, "counts/epoch", LATCHED)
        self._totals_timer = None
        self._set_totals_timer(values["totals_interval_s"])
        lines, zones = self._pipeline.lines, self._pipeline.zones
        self.get_logger().info(
            f"tracking {len(values['classes'])} classes, counting on {len(lines)} line(s) "
            f"({', '.join(line.id for line in lines) or 'none'}) and {len(zones)} zone(s) "
            f"({', '.join(zone.id for zone in zones) or 'none'}), filter {values['filter']}, "
            f"{values['motion_model']}"
        )
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)
        self._announce_epoch()
        # `ros2 param set`: thresholds, gates, coasting, lines, zones, geometry.*, totals_interval_s
        self._live = LiveParameters(self, PARAMS, declared, self._retune)

    def _set_totals_timer(self, period_s: float) -> None:
        if self._totals_timer is not None:
            self.destroy_timer(self._totals_timer)
            self._totals_timer = None
        if period_s > 0:
            self._totals_timer = self.create_timer(period_s, self._log_totals)

    def _retune(self, values: dict, changed: set[str]) -> None:
        """Live parameters (LiveParameters): checked and built by the pipeline, which refuses a bad
        value with ConfigError before anything changes."""
        if not changed:
            return
        with self._lock:
            new_epoch = self._pipeline.retune(values)
            frames = self._pipeline.frames
        if "totals_interval_s" in changed:
            self._set_totals_timer(values["totals_interval_s"])
        self.get_logger().info(f"parameters changed: {', '.join(sorted(changed))}")
        if new_epoch:
            self.get_logger().info(
                f"counting epoch {self._pipeline.epoch} from frame {frames + 1}: {self._geometry_text()}"
            )
            self._announce_epoch()

    def _geometry_text(self) -> str:
        lines, zones = self._pipeline.lines, self._pipeline.zones
        return (
            f"lines {', '.join(f'{line.id} {line.points.round(1).tolist()}' for line in lines) or 'none'}; "
            f"zones {', '.join(zone.id for zone in zones) or 'none'}"
        )

    def _announce_epoch(self) -> None:
        msg = CountingEpoch(epoch=self._pipeline.epoch)
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.line_ids = [line.id for line in self._pipeline.lines]
        msg.zone_ids = [zone.id for zone in self._pipeline.zones]
        self._epoch_pub.publish(msg)

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
                "counting_epoch": pipeline.epoch,
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
