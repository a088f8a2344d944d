"""rclpy wiring of the tracker: detections in; tracks and count events out."""
from __future__ import annotations

import math
import sys
import threading
import time

from rclpy.node import Node
from vision_msgs.msg import Detection2DArray

from argos_common.conversions import detections_to_msg, make_header, msg_to_detections, ns_from_stamp
from argos_common.lines import parse_lines
from argos_common.params import ConfigError
from argos_common.diagnostics import DiagnosticsReporter
from argos_common.node_main import run_node
from argos_common.qos import COUNTS, RESULTS
from argos_common.ros_params import declare_params
from argos_interfaces.msg import CountEvent

from .health import health
from .counting import CountRecord, LineCounter
from .ground_plane import GroundPlane
from .params import PARAMS, validate
from .totals import format_totals
from .tracker import CONFIRMED, Track, Tracker
from .zones import ZoneCounter, parse_zones


class TrackerNode(Node):
    def __init__(self, *, node_name: str = "tracker", **kwargs):
        super().__init__(node_name, **kwargs)
        try:
            values = declare_params(self, PARAMS)
            prefix = f"{self.get_fully_qualified_name()}."
            try:
                validate(values)
            except ConfigError as exc:
                raise ConfigError(prefix + exc.key, exc.problem) from None
            lines = parse_lines(values, key_prefix=prefix)
            zones = parse_zones(values, key_prefix=prefix)
        except ConfigError:
            self.destroy_node()
            raise
        self._tracker = Tracker(values)
        self._counter = LineCounter(lines, values["anchor"], values["count_hysteresis_px"])
        self._zones = ZoneCounter(zones, values["anchor"], values["count_hysteresis_px"])
        self._meters_per_pixel = values["meters_per_pixel"]
        homography = values["ground_homography"]
        self._ground = GroundPlane(homography) if homography else None
        self._anchor = values["anchor"]
        self._lock = threading.Lock()
        self._frames = 0
        self._update_s_total = 0.0
        self._live_tracks = 0
        self._confirmed_tracks = 0
        self._counts_total = 0

        self._tracks_pub = self.create_publisher(Detection2DArray, "tracks", RESULTS)
        self._counts_pub = self.create_publisher(CountEvent, "counts", COUNTS)
        self._sub = self.create_subscription(Detection2DArray, "detections", self._on_detections, RESULTS)
        if values["totals_interval_s"] > 0:
            self._totals_timer = self.create_timer(values["totals_interval_s"], self._log_totals)
        self.get_logger().info(
            f"tracking {len(values['classes'])} classes, counting on {len(lines)} line(s) "
            f"({', '.join(line.id for line in lines) or 'none'}) and {len(zones)} zone(s) "
            f"({', '.join(zone.id for zone in zones) or 'none'}), filter {values['filter']}, "
            f"{values['motion_model']}")
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)

    def _on_detections(self, msg: Detection2DArray) -> None:
        started = time.perf_counter()
        stamp_ns = ns_from_stamp(msg.header.stamp)
        dets = msg_to_detections(msg)
        with self._lock:
            self._frames += 1
            frame_number = self._frames
            tracks = self._tracker.update(dets, stamp_ns)
            records = self._counter.update(tracks, stamp_ns, frame_number)
            records += self._zones.update(tracks, stamp_ns, frame_number)
            speeds = {t.id: self._ground_speed(t) for t in tracks} if records else {}
            shown = self._tracker.confirmed_detections()
        out = detections_to_msg(shown, stamp_ns, msg.header.frame_id)
        out.header = msg.header
        self._tracks_pub.publish(out)
        for record in records:
            self._counts_pub.publish(self._count_msg(record, msg.header.frame_id, speeds.get(record.track_id)))
        elapsed = time.perf_counter() - started
        with self._lock:
            self._update_s_total += elapsed
            self._live_tracks = len(tracks)
            self._confirmed_tracks = sum(1 for t in tracks if t.state == CONFIRMED)
            self._counts_total += len(records)

    def _ground_speed(self, track: Track) -> float:
        if self._ground is not None:
            return self._ground.speed_m_s(track.anchor(self._anchor), track.velocity)
        if self._meters_per_pixel > 0:
            return track.speed_px_s * self._meters_per_pixel
        return math.nan

    def _count_msg(self, record: CountRecord, frame_id: str, speed_m_s: float | None = None) -> CountEvent:
        if speed_m_s is None:   # track gone (counted at removal): only its last pixel speed is left
            speed_m_s = record.speed_px_s * self._meters_per_pixel if self._meters_per_pixel > 0 else math.nan
        return CountEvent(header=make_header(record.stamp_ns, frame_id), frame_number=record.frame_number,
                          line_id=record.line_id, lane=record.lane, class_id=record.label,
                          direction=record.direction, track_id=str(record.track_id),
                          speed_px_s=float(record.speed_px_s), speed_m_s=float(speed_m_s))

    def totals(self) -> dict[tuple[str, str, str, str], int]:
        """{(line_id or zone id, lane, label, direction): count} since the node started."""
        with self._lock:
            return {**self._counter.totals(), **self._zones.totals()}

    def zone_occupancy(self) -> dict[str, int]:
        with self._lock:
            return self._zones.occupancy()

    def _log_totals(self) -> None:
        self.get_logger().info(format_totals(self.totals(), self.zone_occupancy()))

    def stats(self) -> dict:
        with self._lock:
            return {
                "frames": self._frames,
                "active_tracks": self._live_tracks,
                "confirmed_tracks": self._confirmed_tracks,
                "counts_total": self._counts_total,
                "tracks_born": self._tracker.births,
                "births_refused": self._tracker.births_refused,
                "zone_occupancy": self._zones.occupancy(),
                "update_ms_mean": round(1000.0 * self._update_s_total / self._frames, 3) if self._frames else 0.0,
            }


def main(args=None) -> None:
    sys.exit(run_node(TrackerNode, args))


if __name__ == "__main__":
    main()
