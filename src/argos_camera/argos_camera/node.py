"""CameraNode: drives a FrameSource, hands frames to inference (composed) and/or publishes them.

Sources that pace themselves (GStreamer: cameras, RTSP, files) are read by a capture thread that
blocks on the next frame; the synthetic scene and the OpenCV file reader are driven by a timer.
"""

from __future__ import annotations

import sys
import threading
import time

from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray

from argos_common.counts import CountRecord
from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.metrics import HistogramSample, LatencyHistogram, Sample, samples
from argos_common.movements import MovementRecord, movement_name
from argos_common.ros.conversions import (
    count_record_to_msg,
    detections_to_msg,
    image_to_msg,
    make_header,
    movement_record_to_msg,
)
from argos_common.ros.diagnostics import DiagnosticsReporter
from argos_common.ros.managed import ManagedNode
from argos_common.ros.node_main import run_node
from argos_common.ros.params import LiveParameters, configuring, declare_params
from argos_common.ros.qos import COUNTS, RESULTS, SENSOR
from argos_interfaces.msg import CountEvent, MovementEvent
from argos_sim import GroundTruth, GroundTruthCrossing, GroundTruthMovement

from .calibration import Calibration, load_calibration
from .capture import Capture
from .health import health
from .params import PARAMS, validate
from .privacy import MasksBySize
from .publish_policy import ImagePublishPolicy
from .source_types import SourceState
from .sources import open_source

HANDOFF_POLL_S = 0.002  # free-running mode: how often to look whether downstream took the frame
SOURCE_STATE_LOG_S = 0.5  # how often a self-paced source's state is checked for the log


class CameraNode(ManagedNode):
    """Lifecycle: configure opens the source; activate starts frames; deactivate stops them (the
    source stays open); cleanup closes the source."""

    def __init__(
        self, *, node_name: str = "camera", autostart: bool = True, frame_slot: LatestSlot | None = None, **kwargs
    ):
        super().__init__(node_name, **kwargs)
        self.source = None
        self._source_open = False
        self.capture: Capture | None = None
        self.frame_slot = frame_slot
        self.finished = threading.Event()
        self.finished_future = Future()  # the same moment as `finished`, for spin_until_future_complete
        self._timer = None
        self._capture_thread: threading.Thread | None = None
        self._stop_capture = threading.Event()
        with configuring(self):
            self.params = declare_params(self, PARAMS)
            validate(self.params)
            self.masks = MasksBySize(self.params)
            self.calibration: Calibration | None = (
                load_calibration(self.params["calibration_file"]) if self.params["calibration_file"] else None
            )
        self._lock = threading.Lock()
        self._state = "unconfigured"
        self._images_published = 0
        self._calibration_mismatch_logged = False
        self._capture_latency = LatencyHistogram()
        self._publish_policy = ImagePublishPolicy(self.params["image_publish"], self.params["image_debug_rate_hz"])
        # `ros2 param set`: image_publish, image_debug_rate_hz (the publish rate of camera/image_raw)
        self._live = LiveParameters(self, PARAMS, self.params, self._retune)
        self._image_pub = self.create_publisher(Image, "camera/image_raw", SENSOR)
        self._info_pub = self.create_publisher(CameraInfo, "camera/camera_info", SENSOR)
        self._truth_pub = self._truth_counts_pub = self._truth_movements_pub = None
        # the capture thread cannot complete the future itself: it hands the end to the executor
        self._end_guard = self.create_guard_condition(self._finish)
        self._reported_state = ""
        self._state_timer = None
        self.pixels_per_meter = float("nan")
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)
        self.autostart(autostart)

    # -- lifecycle ------------------------------------------------------------------------
    def _configure(self) -> None:
        self.source = open_source(self.params["source"], self.params)
        self._source_open = True
        self.capture = Capture(self.source, lambda: self.get_clock().now().nanoseconds, self.params["frame_id"])
        if hasattr(self.source, "scene") and self._truth_pub is None:
            self._truth_pub = self.create_publisher(Detection2DArray, "camera/ground_truth", RESULTS)
            self._truth_counts_pub = self.create_publisher(CountEvent, "camera/ground_truth/counts", COUNTS)
            self._truth_movements_pub = self.create_publisher(MovementEvent, "camera/ground_truth/movements", COUNTS)
        self.pixels_per_meter = getattr(getattr(self.source, "scene", None), "pixels_per_meter", float("nan"))
        if self.source.paces_itself:
            self._state_timer = self.create_timer(SOURCE_STATE_LOG_S, self._log_source_state)
        w, h = self.source.size
        pacing = (
            "at the source's own rate"
            if self.source.paces_itself and self.params["realtime"]
            else "realtime"
            if self.params["realtime"]
            else "as fast as downstream takes frames"
        )
        self.get_logger().info(f"source {self.source.uri} {w}x{h} @ {self.source.fps:g} fps, {pacing}")
        with self._lock:
            self._state = "configured"

    def _activate(self) -> None:
        if self.finished.is_set():
            return
        if self.source.paces_itself:
            self._stop_capture.clear()
            self._capture_thread = threading.Thread(target=self._capture_loop, name="argos-camera-capture", daemon=True)
            self._capture_thread.start()
        elif self.params["realtime"]:
            self._timer = self.create_timer(1.0 / self.source.fps, self._on_tick)
        else:
            self._timer = self.create_timer(HANDOFF_POLL_S, self._on_free_running_tick)
        with self._lock:
            self._state = "running"

    def _deactivate(self) -> None:
        """No new frames; the source stays open (a live camera keeps streaming into its latest-frame buffer)."""
        self._stop_frames()
        with self._lock:
            if self._state == "running":
                self._state = "paused"

    def _cleanup(self) -> None:
        self._stop_frames()
        if self._state_timer is not None:
            self.destroy_timer(self._state_timer)
            self._state_timer = None
        if self.source is not None and self._source_open:
            self.source.close()
            self._source_open = False
        with self._lock:
            if self._state != "finished":
                self._state = "unconfigured"

    def _stop_frames(self) -> None:
        self._stop_capture.set()
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        thread, self._capture_thread = self._capture_thread, None
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def _retune(self, values: dict, changed: set[str]) -> None:
        if not changed:
            return
        validate(values)
        self._publish_policy = ImagePublishPolicy(values["image_publish"], values["image_debug_rate_hz"])
        self.params = values
        self.get_logger().info("publishing changed: " + ", ".join(f"{k}={values[k]}" for k in sorted(changed)))

    # -- frame production -----------------------------------------------------------------
    def _on_free_running_tick(self) -> None:
        if self.frame_slot is not None and not self.frame_slot.empty():
            return
        self._on_tick()

    def _on_tick(self) -> None:
        # read on request (rendering, decoding a file, loading an image): the read is capture time
        started = time.perf_counter()
        frame = self.capture.grab()
        if frame is None:
            if self.capture.finished:
                self._finish()
            return
        self._deliver(frame)
        self._capture_latency.observe(time.perf_counter() - started)

    def _capture_loop(self) -> None:
        free_running = not self.params["realtime"]
        while not self._stop_capture.is_set():
            if free_running and self.frame_slot is not None and not self.frame_slot.empty():
                self._stop_capture.wait(HANDOFF_POLL_S)
                continue
            frame = self.capture.grab()
            if frame is None:
                if self.capture.finished:
                    self._end_guard.trigger()
                    return
                continue
            # a self-paced source blocks until its next frame: that wait is the frame interval,
            # not latency, so only the hand-off is timed
            started = time.perf_counter()
            self._deliver(frame)
            self._capture_latency.observe(time.perf_counter() - started)

    def _log_source_state(self) -> None:
        status = self.source.status()
        state = status.get("state", "")
        if state == self._reported_state:
            return
        self._reported_state = state
        if state == SourceState.RECONNECTING:
            self.get_logger().warning(
                f"source {self.source.uri} lost ({status.get('last_error')}); "
                f"reconnecting (attempts so far: {status.get('reconnects')})"
            )
        elif state == SourceState.STREAMING:
            self.get_logger().info(
                f"source {self.source.uri} streaming "
                f"{self.source.size[0]}x{self.source.size[1]} @ {self.source.fps:g} fps"
            )

    def _deliver(self, frame: Frame) -> None:
        if self.frame_slot is not None:
            self.frame_slot.put(frame)  # by reference: inference gets this very object
        self._publish(frame)

    def _publish(self, frame: Frame) -> None:
        masks = self.masks.for_image(frame.image, self.get_logger())
        if masks is not None and self._publish_policy.should_publish(
            frame.stamp_ns, self._image_pub.get_subscription_count()
        ):
            # masked on a copy: inference (same process) keeps the whole frame
            self._image_pub.publish(image_to_msg(masks.apply(frame.image), frame.stamp_ns, frame.frame_id))
            with self._lock:
                self._images_published += 1
        self._info_pub.publish(self._camera_info(frame))
        truth: GroundTruth | None = frame.extras.get("ground_truth")
        if truth is not None and self._truth_pub is not None:
            self._truth_pub.publish(detections_to_msg(truth.objects, frame.stamp_ns, frame.frame_id))
            for record in truth.crossings:
                self._truth_counts_pub.publish(self._count_event(frame, record))
            for movement in truth.movements:
                self._truth_movements_pub.publish(self._movement_event(frame, truth, movement))

    def _camera_info(self, frame: Frame) -> CameraInfo:
        h, w = frame.image.shape[:2]
        info = CameraInfo(header=make_header(frame.stamp_ns, frame.frame_id), height=h, width=w)
        cal = self.calibration
        if cal is None:
            return info
        if (cal.width, cal.height) != (w, h):
            # a calibration for another resolution is wrong for every pixel: leave it out, say so once
            if not self._calibration_mismatch_logged:
                self._calibration_mismatch_logged = True
                self.get_logger().error(
                    f"calibration_file is for {cal.width}x{cal.height}, frames are {w}x{h}: "
                    "camera_info carries the size only"
                )
            return info
        info.distortion_model = cal.distortion_model
        info.d, info.k, info.r, info.p = list(cal.d), list(cal.k), list(cal.r), list(cal.p)
        return info

    def _count_event(self, frame: Frame, crossing: GroundTruthCrossing) -> CountEvent:
        c = crossing.crossing
        record = CountRecord(
            c.line_id,
            c.lane,
            crossing.label,
            c.direction,
            crossing.object_id,
            frame.stamp_ns,
            speed_px_s=float(crossing.speed_px_s),
            speed_m_s=float(crossing.speed_px_s) / self.pixels_per_meter,
        )
        return count_record_to_msg(record, frame.frame_id)

    def _movement_event(self, frame: Frame, truth: GroundTruth, m: GroundTruthMovement) -> MovementEvent:
        """A vehicle's true movement, stamped on the capture clock like the tracker's: the scene
        times of its entry and exit placed relative to this frame's stamp. Named `<from>-><to>`:
        the movement table is the tracker's, and readers name it with that (argos run's summary)."""

        def stamp(scene_s: float) -> int:
            return frame.stamp_ns - int(round((truth.time_s - scene_s) * 1e9))

        record = MovementRecord(
            movement=movement_name(m.from_line, m.to_line),
            from_line=m.from_line,
            from_lane=m.from_lane,
            to_line=m.to_line,
            to_lane=m.to_lane,
            class_id=m.label,
            entered_ns=stamp(m.entered_s),
            left_ns=stamp(m.left_s),
            track_id=m.object_id,
        )
        return movement_record_to_msg(record, frame.frame_id)

    def _finish(self) -> None:
        if self.finished.is_set():
            return
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._state = "finished"
        self.get_logger().info(
            f"source {self.source.uri} finished ({self.capture.end_reason}) after {self.capture.frames} frames"
        )
        self.finished.set()
        self.finished_future.set_result(True)

    # -- for the runner -------------------------------------------------------------------
    def stats(self) -> dict:
        if self.capture is None or self.source is None:  # not configured yet
            snap = {"frames": 0, "failures": 0, "finished": False, "end_reason": ""}
            source: dict = {"state": "unconfigured"}
        else:
            snap = self.capture.snapshot()
            source = self.source.status()
        with self._lock:
            state, images = self._state, self._images_published
        if "state" in source:
            source_state = source["state"]
        else:
            source_state = SourceState.ENDED if snap["finished"] else SourceState.STREAMING
        return {
            "frames": snap["frames"],
            "failures": snap["failures"],
            "dropped_in_handoff": self.frame_slot.dropped if self.frame_slot is not None else 0,
            "dropped_in_source": source.get("dropped", 0),
            "corrupt": source.get("corrupt", 0),
            "reconnects": source.get("reconnects", 0),
            "source_state": source_state,
            "last_error": source.get("last_error", "") or snap["end_reason"],
            "fps": round(self.capture.measured_fps(), 2) if self.capture is not None else 0.0,
            "images_published": images,
            "source": self.source.uri if self.source is not None else self.params["source"],
            "state": state,
        }

    def metrics(self) -> list:
        """Prometheus samples (argos_common.metrics), from stats()."""
        stats = self.stats()
        dropped = {
            "handoff": stats["dropped_in_handoff"],
            "source": stats["dropped_in_source"],
            "corrupt": stats["corrupt"],
            "read_failure": stats["failures"],
        }
        return [
            Sample("argos_frames", stats["frames"], {"stage": "captured"}),
            Sample("argos_fps", stats["fps"], {"stage": "capture"}),
            *samples("argos_dropped", dropped, "reason"),
            Sample("argos_reconnects", stats["reconnects"], {"link": "source"}),
            Sample("argos_connected", int(stats["source_state"] == SourceState.STREAMING), {"link": "source"}),
            Sample("argos_published", stats["images_published"], {"sink": "camera/image_raw"}),
            HistogramSample("argos_stage_latency_seconds", self._capture_latency, {"stage": "capture"}),
        ]

    def ground_truth_totals(self) -> dict[tuple[str, str, str], int]:
        """Ground-truth crossings so far per (line id, label, direction); {} for non-synthetic sources."""
        return self.source.ground_truth_totals() if self.source is not None else {}

    def destroy_node(self):
        self._stop_capture.set()
        if self.source is not None and self._source_open:
            self._source_open = False
            self.source.close()  # wakes a capture thread blocked in read()
        if self._capture_thread is not None and self._capture_thread.is_alive():
            self._capture_thread.join(timeout=5.0)
        return super().destroy_node()


def main(args=None) -> None:
    sys.exit(run_node(CameraNode, args, until=lambda node: node.finished_future))


if __name__ == "__main__":
    main()
