"""rclpy wiring of the inference node: frames in (in-process slot or camera/image_raw),
Detection2DArray out on `detections`, stamped with each frame's capture time."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping

import numpy as np
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.metrics import HistogramSample, LatencyHistogram, Sample
from argos_common.params import ConfigError
from argos_common.ros.conversions import detections_to_msg, msg_to_image, ns_from_stamp
from argos_common.ros.diagnostics import DiagnosticsReporter
from argos_common.ros.managed import ManagedNode
from argos_common.ros.node_main import run_node
from argos_common.ros.params import LiveParameters, configuring, declare_params
from argos_common.ros.qos import RESULTS, SENSOR
from argos_common.stats import SampleWindow, percentiles

from .engine import Detector
from .factory import create_detector
from .health import health
from .params import PARAMS, validate

_TIMING_WINDOW = 300  # frames kept for the infer_ms statistics (~20 s at 15 fps)


class InferenceNode(ManagedNode):
    """Lifecycle: configure loads the model (the detector); activate starts taking frames;
    deactivate stops (frames wait in the keep-latest slot, or are not taken from the topic);
    cleanup releases the detector."""

    def __init__(
        self,
        *,
        node_name: str = "inference",
        autostart: bool = True,
        frame_slot: LatestSlot[Frame] | None = None,
        frame_slots: Mapping[str, LatestSlot[Frame]] | None = None,
        **kwargs,
    ):
        """frame_slot: this camera's frames by reference (composed). frame_slots: camera namespace ->
        slot, for one detector shared by several cameras: the frames waiting in all slots go through
        the engine as one batch and each result goes to `<namespace>/detections`."""
        super().__init__(node_name, **kwargs)
        self.detector: Detector | None = None
        self._active = False
        with configuring(self):
            self.params = declare_params(self, PARAMS)
        # `ros2 param set`: score_threshold, model.class_thresholds.* (on this node's executor
        # thread, between frames)
        self._live = LiveParameters(self, PARAMS, self.params, self._retune)
        self._lock = threading.Lock()
        self._infer_ms = SampleWindow(_TIMING_WINDOW)
        self._latency = LatencyHistogram()
        self._frames_received = 0
        self._frames_processed = 0
        self._detections_total = 0
        self._errors = 0  # frames lost to a failed detection or an unreadable image
        self._failed_by_camera: dict[str, int] = {}  # shared detector: frames lost per camera
        self._frame_slot = frame_slot
        self._shared_slots = dict(frame_slots or {})
        self._publisher = self.create_publisher(Detection2DArray, "detections", RESULTS)
        self._shared_publishers: dict = {}
        self._guard = None
        if self._shared_slots:
            self._guard = self.create_guard_condition(self._on_shared_frames_ready)
            for slot in self._shared_slots.values():
                slot.on_put(self._guard.trigger)
        elif frame_slot is not None:
            self._guard = self.create_guard_condition(self._on_frame_ready)
            frame_slot.on_put(self._guard.trigger)
        else:
            self._subscription = self.create_subscription(Image, "camera/image_raw", self._on_image, SENSOR)
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)
        self.autostart(autostart)

    # -- lifecycle ------------------------------------------------------------------------
    def _configure(self) -> None:
        self.detector = create_detector(self.params)
        if self._shared_slots:
            self._share_between_cameras()
        source = (
            f"shared by {', '.join(self._shared_slots)}"
            if self._shared_slots
            else "in-process slot"
            if self._frame_slot is not None
            else "camera/image_raw"
        )
        self.get_logger().info(f"detector: {self.detector.describe()}; input: {source}")

    def _activate(self) -> None:
        self._active = True
        if self._guard is not None:
            self._guard.trigger()  # a frame that waited in the slot while inactive

    def _deactivate(self) -> None:
        self._active = False

    def _cleanup(self) -> None:
        self._active = False
        if self.detector is not None:
            self.detector.close()
            self.detector = None

    def _retune(self, values: dict, changed: set[str]) -> None:
        if not changed:
            return
        validate(values)
        if self.detector is None:  # not configured: the detector is built with the new values
            self.params = values
            return
        try:
            self.detector.set_score_thresholds(values)
        except NotImplementedError as exc:
            raise ConfigError(sorted(changed)[0], str(exc)) from None
        self.params = values
        self.get_logger().info("thresholds changed: " + ", ".join(f"{k}={values[k]}" for k in sorted(changed)))

    def _on_frame_ready(self) -> None:
        if not self._active:
            return  # the frame stays in the slot (keep-latest) until activation
        frame = self._frame_slot.take()
        if frame is not None:
            self._process(frame.image, frame.stamp_ns, frame.frame_id)

    def _share_between_cameras(self) -> None:
        if self.detector.name == "motion":
            raise ConfigError(
                f"{self.get_fully_qualified_name()}.engine",
                "a detector shared by several "
                "cameras needs a DNN engine (motion keeps one background model per camera)",
            )
        if not self._shared_publishers:
            self._shared_publishers = {
                ns: self.create_publisher(Detection2DArray, f"{ns.rstrip('/')}/detections", RESULTS)
                for ns in self._shared_slots
            }
        # one engine call for the frames of every camera, when the model's batch is dynamic
        batch = self.detector.fit_batch(len(self._shared_slots)) if hasattr(self.detector, "fit_batch") else 1
        self.get_logger().info(f"shared by {len(self._shared_slots)} cameras: up to {batch} frames per engine call")

    def _on_shared_frames_ready(self) -> None:
        if not self._active:
            return
        waiting = [(ns, frame) for ns, slot in self._shared_slots.items() if (frame := slot.take()) is not None]
        if not waiting:
            return
        with self._lock:
            self._frames_received += len(waiting)
        started = time.perf_counter()
        try:
            results = self.detector.detect([frame.image for _, frame in waiting])
        except Exception as exc:  # a bad batch must not stop the stream; each camera's lost frame is counted
            with self._lock:
                for ns, _ in waiting:
                    self._failed_by_camera[ns] = self._failed_by_camera.get(ns, 0) + 1
            self._count_error(f"detection failed for {', '.join(ns for ns, _ in waiting)}: {exc!r}", len(waiting))
            return
        elapsed_ms = (time.perf_counter() - started) * 1e3
        for (ns, frame), detections in zip(waiting, results):
            self._shared_publishers[ns].publish(detections_to_msg(detections, frame.stamp_ns, frame.frame_id))
        with self._lock:
            self._frames_processed += len(waiting)
            self._detections_total += sum(len(d) for d in results)
            self._infer_ms.append(elapsed_ms / len(waiting))
        for _ in waiting:  # one observation per frame, as for a detector of its own
            self._latency.observe(elapsed_ms / len(waiting) / 1e3)

    def _on_image(self, msg: Image) -> None:
        if not self._active:
            return
        with self._lock:
            self._frames_received += 1
        try:
            image = msg_to_image(msg)
        except ValueError as exc:
            self._count_error(f"dropping image: {exc}")
            return
        self._process(image, ns_from_stamp(msg.header.stamp), msg.header.frame_id)

    def _process(self, image: np.ndarray, stamp_ns: int, frame_id: str) -> None:
        started = time.perf_counter()
        try:
            detections = self.detector.detect([image])[0]
        except Exception as exc:  # a bad frame must not stop the stream; it is counted and logged
            self._count_error(f"detection failed: {exc!r}")
            return
        elapsed_ms = (time.perf_counter() - started) * 1e3
        self._publisher.publish(detections_to_msg(detections, stamp_ns, frame_id))
        with self._lock:
            self._frames_processed += 1
            self._detections_total += len(detections)
            self._infer_ms.append(elapsed_ms)
        self._latency.observe(elapsed_ms / 1e3)

    def _count_error(self, message: str, frames: int = 1) -> None:
        """`frames`: how many frames the failure cost (a failed shared batch: one per camera)."""
        with self._lock:
            self._errors += frames
        self.get_logger().error(message, throttle_duration_sec=5.0)

    def stats(self) -> dict:
        with self._lock:
            timings = self._infer_ms.values()
            received = self._frames_received
            snapshot = {
                "frames_processed": self._frames_processed,
                "detections_total": self._detections_total,
                "errors": self._errors,
            }
        if self._frame_slot is not None:
            received = self._frame_slot.put_count
            snapshot["frames_dropped"] = self._frame_slot.dropped
        snapshot["frames_received"] = received
        snapshot["infer_ms_mean"] = float(timings.mean()) if len(timings) else 0.0
        snapshot["infer_ms_p95"] = percentiles(timings, (95,))["p95"] or 0.0
        snapshot["engine"] = self.detector.name if self.detector is not None else self.params["engine"]
        if self._shared_slots:
            with self._lock:
                snapshot["errors_by_camera"] = dict(self._failed_by_camera)
        calls = getattr(self.detector, "engine_calls", 0)
        snapshot["engine_calls"] = calls
        snapshot["batch_mean"] = round(getattr(self.detector, "images", 0) / calls, 3) if calls else 0.0
        return snapshot

    def metrics(self) -> list:
        """Prometheus samples (argos_common.metrics). A shared detector reports under its own node."""
        stats = self.stats()
        return [
            Sample("argos_frames", stats["frames_processed"], {"stage": "processed"}),
            Sample("argos_dropped", stats["errors"], {"reason": "inference_error"}),
            HistogramSample("argos_stage_latency_seconds", self._latency, {"stage": "inference"}),
        ]

    def destroy_node(self):
        if getattr(self, "detector", None) is not None:
            self.detector.close()
            self.detector = None
        return super().destroy_node()


def main(args=None) -> None:
    sys.exit(run_node(InferenceNode, args))


if __name__ == "__main__":
    main()
