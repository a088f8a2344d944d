"""CameraNode: drives a FrameSource, hands frames to inference (composed) and/or publishes them."""
from __future__ import annotations

import sys
import threading

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image
from vision_msgs.msg import Detection2DArray

from argos_common.conversions import detections_to_msg, image_to_msg, make_header
from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.params import ConfigError
from argos_common.qos import COUNTS, RESULTS, SENSOR
from argos_common.ros_params import declare_params
from argos_interfaces.msg import CountEvent

from .capture import Capture
from .params import PARAMS
from .sources import open_source
from .synthetic import GroundTruth

HANDOFF_POLL_S = 0.002    # free-running mode: how often to look whether downstream took the frame


class CameraNode(Node):
    def __init__(self, *, node_name: str = "camera", frame_slot: LatestSlot | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        self.source = None
        self.frame_slot = frame_slot
        self.finished = threading.Event()
        self.finished_future = Future()   # the same moment as `finished`, for spin_until_future_complete
        self.params = declare_params(self, PARAMS)
        self._lock = threading.Lock()
        self._state = "starting"
        self._images_published = 0
        self.source = open_source(self.params["source"], self.params)
        self.capture = Capture(self.source, lambda: self.get_clock().now().nanoseconds, self.params["frame_id"])
        self._image_pub = self.create_publisher(Image, "camera/image_raw", SENSOR)
        self._info_pub = self.create_publisher(CameraInfo, "camera/camera_info", SENSOR)
        self._truth_pub = self._truth_counts_pub = None
        if hasattr(self.source, "scene"):
            self._truth_pub = self.create_publisher(Detection2DArray, "camera/ground_truth", RESULTS)
            self._truth_counts_pub = self.create_publisher(CountEvent, "camera/ground_truth/counts", COUNTS)
        self.pixels_per_meter = getattr(getattr(self.source, "scene", None), "pixels_per_meter", float("nan"))
        if self.params["realtime"]:
            self._timer = self.create_timer(1.0 / self.source.fps, self._on_tick)
        else:
            self._timer = self.create_timer(HANDOFF_POLL_S, self._on_free_running_tick)
        self._state = "running"
        w, h = self.source.size
        self.get_logger().info(f"source {self.source.uri} {w}x{h} @ {self.source.fps:g} fps, "
                               f"{'realtime' if self.params['realtime'] else 'as fast as downstream takes frames'}")

    # -- frame production -----------------------------------------------------------------
    def _on_free_running_tick(self) -> None:
        if self.frame_slot is not None and not self.frame_slot.empty():
            return
        self._on_tick()

    def _on_tick(self) -> None:
        frame = self.capture.grab()
        if frame is None:
            if self.capture.finished:
                self._finish()
            return
        if self.frame_slot is not None:
            self.frame_slot.put(frame)
        self._publish(frame)

    def _publish(self, frame: Frame) -> None:
        mode = self.params["image_publish"]
        if mode == "always" or (mode == "auto" and self._image_pub.get_subscription_count() > 0):
            self._image_pub.publish(image_to_msg(frame.image, frame.stamp_ns, frame.frame_id))
            with self._lock:
                self._images_published += 1
        h, w = frame.image.shape[:2]
        self._info_pub.publish(CameraInfo(header=make_header(frame.stamp_ns, frame.frame_id), height=h, width=w))
        truth: GroundTruth | None = frame.extras.get("ground_truth")
        if truth is not None and self._truth_pub is not None:
            self._truth_pub.publish(detections_to_msg(truth.objects, frame.stamp_ns, frame.frame_id))
            for record in truth.crossings:
                self._truth_counts_pub.publish(self._count_event(frame, record))

    def _count_event(self, frame: Frame, record) -> CountEvent:
        c = record.crossing
        return CountEvent(header=make_header(frame.stamp_ns, frame.frame_id), frame_number=frame.frame_number,
                          line_id=c.line_id, lane=c.lane, class_id=record.label, direction=c.direction,
                          track_id=record.object_id, speed_px_s=float(record.speed_px_s),
                          speed_m_s=float(record.speed_px_s) / self.pixels_per_meter)

    def _finish(self) -> None:
        if self.finished.is_set():
            return
        self._timer.cancel()
        with self._lock:
            self._state = "finished"
        self.get_logger().info(f"source {self.source.uri} finished ({self.capture.end_reason}) "
                               f"after {self.capture.frames} frames")
        self.finished.set()
        self.finished_future.set_result(True)

    # -- for the runner -------------------------------------------------------------------
    def stats(self) -> dict:
        snap = self.capture.snapshot()
        with self._lock:
            state, images = self._state, self._images_published
        return {"frames": snap["frames"], "failures": snap["failures"],
                "dropped_in_handoff": self.frame_slot.dropped if self.frame_slot is not None else 0,
                "fps": round(self.capture.measured_fps(), 2), "images_published": images,
                "source": self.source.uri, "state": state}

    def ground_truth_totals(self) -> dict[tuple[str, str, str], int]:
        """Ground-truth crossings so far per (line id, label, direction); {} for non-synthetic sources."""
        return self.source.ground_truth_totals()

    def destroy_node(self):
        if self.source is not None:
            self.source.close()
        return super().destroy_node()


def main(args=None) -> None:
    rclpy.init(args=args)
    node = None
    try:
        node = CameraNode()
        rclpy.spin_until_future_complete(node, node.finished_future)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    main()
