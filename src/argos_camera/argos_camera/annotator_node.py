"""AnnotatorNode: the annotated view of a camera — track boxes with class and track id, counting
lines, live totals and the movement matrix since start drawn on the frames — on `annotated/image_raw` and, as JPEG,
`annotated/image_raw/compressed` (each only while subscribed); the plain camera view as JPEG on
`camera/image_raw/compressed` (while subscribed); when `rtsp_port` > 0, as an H.264 RTSP stream
(see rtsp_out.py); and, with a Foxglove server attached (`argos run --foxglove`), to Foxglove
(see foxglove_out.py). For recordings, the same overlay and totals Foxglove shows live, as ROS
topics while subscribed: `annotations` (foxglove_msgs/ImageAnnotations) and `totals`
(argos_interfaces/CountTotals). Privacy masks are applied to every image that leaves.

Frames come from an in-process LatestSlot (composed graph: by reference, the annotator's own slot)
or from `camera/image_raw`. Drawing happens only when someone looks (a topic subscriber, or an RTSP
client and the RTSP rate is due) and always on a copy: the frame inference holds is never changed.
Boxes are drawn on the frame they were detected in: the last few frames are kept by reference and
a `tracks` message is matched to its frame by capture stamp (header.stamp all along the chain);
without a tracker (no tracks for TRACKS_STALE_S) frames are drawn as they arrive, with lines and totals.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter, deque

from builtin_interfaces.msg import Time
from foxglove_msgs.msg import Color, ImageAnnotations, Point2, PointsAnnotation, TextAnnotation
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray

from argos_common.counts import CountTotals
from argos_common.endpoints import read_secret_file
from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.health import OK, WARN, worst
from argos_common.lines import parse_lines
from argos_common.movements import by_movement
from argos_common.params import ConfigError
from argos_common.ros.conversions import (
    image_to_msg,
    make_header,
    msg_to_count_record,
    msg_to_detections,
    msg_to_image,
    msg_to_movement_record,
    ns_from_stamp,
    stamp_from_ns,
    stamp_of_serialized,
)
from argos_common.ros.diagnostics import DiagnosticsReporter
from argos_common.ros.node_main import run_node
from argos_common.ros.params import configuring, declare_params
from argos_common.ros.qos import COUNTS, RESULTS, SENSOR
from argos_interfaces.msg import CountEvent, MovementEvent
from argos_interfaces.msg import CountTotals as CountTotalsMsg

from .annotate import MovementOverlay, annotate
from .annotator_params import PARAMS as ANNOTATOR_PARAMS
from .annotator_params import exposure_warnings, validate
from .foxglove_out import (
    IMAGE_KINDS,
    FoxgloveCamera,
    annotations_message,
    encode_jpeg,
    server_from_environment,
    totals_message,
)
from .overlay import AnnotationTypes, build_annotations
from .privacy import MasksBySize
from .publish_policy import ImagePublishPolicy

FRAME_HISTORY = 8  # frames kept by reference to match late-arriving tracks by stamp
TRACKS_STALE_S = 1.0  # no tracks for this long: draw frames as they come (no tracker running)
TOTALS_PERIOD_S = 1.0  # totals also on a clock, so a client that joins sees them at once


_ROS_ANNOTATIONS = AnnotationTypes(
    ImageAnnotations,
    PointsAnnotation,
    TextAnnotation,
    Point2,
    Color,
    PointsAnnotation.LINE_LOOP,
    PointsAnnotation.LINE_STRIP,
)


def annotations_to_msg(stamp_ns: int, tracks, lines, classes) -> ImageAnnotations:
    """The overlay (overlay.py) as foxglove_msgs/ImageAnnotations, what Foxglove draws from a bag."""
    stamp: Time = stamp_from_ns(stamp_ns)
    return build_annotations(_ROS_ANNOTATIONS, stamp, tracks, lines, classes)


def totals_to_msg(totals: dict, stamp_ns: int, frame_id: str) -> CountTotalsMsg:
    """The live `totals` JSON (foxglove_out.totals_message) as a ROS message."""
    by_line, by_class = totals["by_line"], totals["by_class"]
    return CountTotalsMsg(
        header=make_header(stamp_ns, frame_id),
        total=totals["total"],
        line_ids=list(by_line),
        line_in=[v["in"] for v in by_line.values()],
        line_out=[v["out"] for v in by_line.values()],
        class_ids=list(by_class),
        class_counts=list(by_class.values()),
    )


def health(stats: dict) -> tuple[int, str]:
    checks = [(OK, f"{stats.get('frames_annotated', 0)} annotated, {stats.get('rtsp_clients', 0)} rtsp clients")]
    if stats.get("rtsp_error"):
        checks.append((WARN, f"rtsp: {stats['rtsp_error']}"))
    return worst(*checks)


class AnnotatorNode(Node):
    def __init__(self, *, node_name: str = "annotator", frame_slot: LatestSlot[Frame] | None = None, **kwargs):
        super().__init__(node_name, **kwargs)
        with configuring(self):
            self.params = declare_params(self, ANNOTATOR_PARAMS)
            validate(self.params)
            parse_lines(self.params)  # the points are checked now, scaled for the size of the first frame
            self.masks = MasksBySize(self.params)
            password = read_secret_file(self.params["rtsp_password_file"], "rtsp_password_file")
            tls = self._rtsp_tls_files()
        for warning in exposure_warnings(self.params):
            self.get_logger().warning(warning)
        credentials = (self.params["rtsp_user"], password) if password is not None else None
        self._lines_for: dict[tuple[int, int], list] = {}
        self.classes = list(self.params["classes"])
        self._lock = threading.Lock()
        self._frames: deque[Frame] = deque(maxlen=FRAME_HISTORY)
        self._totals = CountTotals()
        self._movements: Counter = Counter()  # (movement, class) -> complete movements since start
        self._incomplete = 0
        self._movement_overlay = MovementOverlay()
        self._last_tracks_mono = float("-inf")
        self._last_drawn_stamp = -1
        self._frames_received = self._frames_annotated = self._images_published = 0
        self._tracks_received = self._tracks_unmatched = self._counts_received = self._movements_received = 0
        self._rtsp_error = ""
        self._pub_policy = ImagePublishPolicy("auto", self.params["image_rate_hz"])
        self._rtsp_policy = ImagePublishPolicy("auto", self.params["rtsp_rate_hz"])
        self._publisher = self.create_publisher(Image, "annotated/image_raw", SENSOR)
        self._jpeg_publishers = {
            "annotated": self.create_publisher(CompressedImage, "annotated/image_raw/compressed", SENSOR),
            "camera": self.create_publisher(CompressedImage, "camera/image_raw/compressed", SENSOR),
        }
        self._jpeg_policies = {k: ImagePublishPolicy("auto", self.params["image_rate_hz"]) for k in IMAGE_KINDS}
        self._jpegs_published = dict.fromkeys(IMAGE_KINDS, 0)
        self.live: FoxgloveCamera | None = None
        self._live_policies = {k: ImagePublishPolicy("auto", self.params["foxglove_rate_hz"]) for k in IMAGE_KINDS}
        self._frame_slot = frame_slot
        if frame_slot is not None:
            self._guard = self.create_guard_condition(self._on_frame_ready)
            frame_slot.on_put(self._guard.trigger)
        else:
            self._image_sub = self.create_subscription(Image, "camera/image_raw", self._on_image, SENSOR)
        # raw: only the stamp of every tracks message is needed to find its frame; the message is
        # deserialized only when someone watches and the frame is drawn
        self._tracks_sub = self.create_subscription(Detection2DArray, "tracks", self._on_tracks, RESULTS, raw=True)
        self._counts_sub = self.create_subscription(CountEvent, "counts", self._on_count, COUNTS)
        self._annotations_pub = self.create_publisher(ImageAnnotations, "annotations", RESULTS)
        self._totals_pub = self.create_publisher(CountTotalsMsg, "totals", RESULTS)
        self._totals_timer = self.create_timer(TOTALS_PERIOD_S, self._send_totals)
        self._frame_id = ""
        self._movements_sub = self.create_subscription(MovementEvent, "movements", self._on_movement, COUNTS)
        self.rtsp = None
        if self.params["rtsp_port"] > 0:
            from .rtsp_out import AnnotatedRtspOutput

            try:
                self.rtsp = AnnotatedRtspOutput(
                    self.params["rtsp_port"],
                    self.params["rtsp_path"],
                    self.params["rtsp_rate_hz"],
                    self.params["rtsp_bitrate_kbps"],
                    address=self.params["rtsp_address"],
                    credentials=credentials,
                    auth=self.params["rtsp_auth"],
                    tls=tls,
                ).start()
                self.get_logger().info(f"annotated RTSP stream: {self.rtsp.url} at {self.params['rtsp_rate_hz']} Hz")
            except Exception as exc:  # a taken port must not stop counting: report it, go on
                self.rtsp = None
                self._rtsp_error = str(exc)
                self.get_logger().error(f"annotated RTSP output not started: {exc}")
        self._diagnostics = DiagnosticsReporter(self, self.stats, health)

    def _rtsp_tls_files(self) -> tuple[str, str] | None:
        """(cert, key) for rtsps://, checked now so that a bad file is a configuration error
        naming its key rather than a stream that silently never starts."""
        cert, key = self.params["rtsp_tls_cert_file"], self.params["rtsp_tls_key_file"]
        if self.params["rtsp_port"] <= 0 or not cert:
            return None
        from .gst_runtime import gstreamer_available
        from .rtsp_out import load_tls_certificate

        if gstreamer_available():  # without it the stream cannot start at all, reported below
            try:
                load_tls_certificate(cert, key)
            except OSError as exc:
                raise ConfigError("rtsp_tls_cert_file", str(exc)) from None
        return cert, key

    def attach_foxglove(self, live: FoxgloveCamera) -> None:
        """Feed this camera's Foxglove channels (before the node spins)."""
        self.live = live

    # -- inputs -------------------------------------------------------------------------------
    def _on_frame_ready(self) -> None:
        frame = self._frame_slot.take()
        if frame is not None:
            self._on_frame(frame)

    def _on_image(self, msg: Image) -> None:
        try:
            image = msg_to_image(msg)
        except ValueError as exc:
            self.get_logger().warning(f"camera/image_raw: {exc}", throttle_duration_sec=5.0)
            return
        self._on_frame(Frame(image, ns_from_stamp(msg.header.stamp), 0, msg.header.frame_id))

    def _on_frame(self, frame: Frame) -> None:
        with self._lock:
            self._frames_received += 1
            self._frames.append(frame)  # by reference; annotate() draws on a copy
            self._frame_id = frame.frame_id
        if self.rtsp is not None:
            self.rtsp.set_size(frame.image.shape[1], frame.image.shape[0])
        self._send_camera_view(frame)
        if time.monotonic() - self._last_tracks_mono > TRACKS_STALE_S:
            self._render(frame, None)

    def _on_tracks(self, msg: bytes) -> None:
        self._last_tracks_mono = time.monotonic()
        stamp = stamp_of_serialized(msg)
        with self._lock:
            self._tracks_received += 1
            frame = next((f for f in reversed(self._frames) if f.stamp_ns == stamp), None)
            if frame is None:
                self._tracks_unmatched += 1
        if frame is not None:
            self._render(frame, msg)

    def _on_count(self, msg: CountEvent) -> None:
        record = msg_to_count_record(msg)
        with self._lock:
            self._counts_received += 1
            self._totals.add(record)
        if self.live is not None and self.live.wants("counts"):
            self.live.send_count(record)
        self._send_totals(record.stamp_ns)

    def _send_totals(self, stamp_ns: int | None = None) -> None:
        to_live = self.live is not None and self.live.wants("totals")
        to_topic = self._totals_pub.get_subscription_count() > 0
        if not (to_live or to_topic):
            return
        stamp_ns = stamp_ns or self.get_clock().now().nanoseconds
        with self._lock:
            line_ids = list(dict.fromkeys(line.id for lines in self._lines_for.values() for line in lines))
            if to_live:
                self.live.send_totals(self._totals, line_ids, stamp_ns)
            if to_topic:
                msg = totals_to_msg(totals_message(self._totals, line_ids), stamp_ns, self._frame_id)
        if to_topic:
            self._totals_pub.publish(msg)

    def _on_movement(self, msg: MovementEvent) -> None:
        record = msg_to_movement_record(msg)
        with self._lock:
            self._movements_received += 1
            if record.complete:
                self._movements[record.movement, record.class_id] += 1
            else:
                self._incomplete += 1
            self._movement_overlay.update(by_movement(self._movements), self._incomplete)

    def _lines(self, shape) -> list:
        size = (int(shape[1]), int(shape[0]))
        if size not in self._lines_for:
            try:
                self._lines_for[size] = parse_lines(self.params, size)
            except ConfigError as exc:  # the tracker refuses the same geometry and stops the graph
                self.get_logger().error(f"lines not drawn: {exc}")
                self._lines_for[size] = []
        return self._lines_for[size]

    # -- output -------------------------------------------------------------------------------
    def _jpeg_wanted(self, kind: str, now: int) -> tuple[bool, bool]:
        """(to the ROS topic, to Foxglove) for one image of `kind`: each only while someone
        subscribes, each at its own rate."""
        to_topic = self._jpeg_policies[kind].should_publish(now, self._jpeg_publishers[kind].get_subscription_count())
        to_live = self.live is not None and self._live_policies[kind].should_publish(now, int(self.live.wants(kind)))
        return to_topic, to_live

    def _send_jpeg(self, kind: str, image, frame: Frame, to_topic: bool, to_live: bool) -> None:
        """One encoding for both destinations; `image` is already masked."""
        jpeg = encode_jpeg(image, self.params["jpeg_quality"])
        if to_topic:
            msg = CompressedImage(header=make_header(frame.stamp_ns, frame.frame_id), format="jpeg", data=jpeg)
            self._jpeg_publishers[kind].publish(msg)
            with self._lock:
                self._jpegs_published[kind] += 1
        if to_live:
            self.live.send_image(kind, jpeg, frame.stamp_ns, frame.frame_id)

    def _send_camera_view(self, frame: Frame) -> None:
        to_topic, to_live = self._jpeg_wanted("camera", self.get_clock().now().nanoseconds)
        if not (to_topic or to_live):
            return
        masks = self.masks.for_image(frame.image, self.get_logger())
        if masks is None:
            return  # fail closed: no image leaves unmasked
        image = frame.image[..., :3] if frame.image.ndim == 3 else frame.image
        self._send_jpeg("camera", masks.apply(image), frame, to_topic, to_live)

    def _render(self, frame: Frame, tracks_msg: bytes | None) -> None:
        if frame.stamp_ns < self._last_drawn_stamp:
            return  # never step back in time
        now = self.get_clock().now().nanoseconds
        to_rtsp = self.rtsp is not None and self._rtsp_policy.should_publish(now, self.rtsp.clients)
        to_topic = self._pub_policy.should_publish(now, self._publisher.get_subscription_count())
        jpeg_to_topic, jpeg_to_live = self._jpeg_wanted("annotated", now)
        to_annotations = self.live is not None and self.live.wants("annotations")
        annotations_to_topic = self._annotations_pub.get_subscription_count() > 0
        if not (to_rtsp or to_topic or jpeg_to_topic or jpeg_to_live or to_annotations or annotations_to_topic):
            return
        tracks = (
            msg_to_detections(deserialize_message(tracks_msg, Detection2DArray)) if tracks_msg is not None else None
        )
        if to_annotations or annotations_to_topic:
            lines = self._lines(frame.image.shape)
            if to_annotations:
                message = annotations_message(frame.stamp_ns, tracks, lines, self.classes)
                self.live.send_annotations(message, frame.stamp_ns)
            if annotations_to_topic:
                self._annotations_pub.publish(annotations_to_msg(frame.stamp_ns, tracks, lines, self.classes))
            self._last_drawn_stamp = frame.stamp_ns
        if not (to_rtsp or to_topic or jpeg_to_topic or jpeg_to_live):
            return
        with self._lock:
            totals = self._totals
            image = annotate(
                frame.image, tracks, self._lines(frame.image.shape), totals, self.classes, "", self._movement_overlay
            )
            masks = self.masks.for_image(image, self.get_logger())
            if masks is None:
                return  # fail closed: no image leaves unmasked
            masks.apply_in_place(image)
            self._frames_annotated += 1
        self._last_drawn_stamp = frame.stamp_ns
        if to_rtsp:
            self.rtsp.push(image)  # keep-latest slot: never blocks
        if to_topic:
            self._publisher.publish(image_to_msg(image, frame.stamp_ns, frame.frame_id))
            with self._lock:
                self._images_published += 1
        if jpeg_to_topic or jpeg_to_live:
            self._send_jpeg("annotated", image, frame, jpeg_to_topic, jpeg_to_live)

    def stats(self) -> dict:
        with self._lock:
            out = {
                "frames_received": self._frames_received,
                "frames_annotated": self._frames_annotated,
                "images_published": self._images_published,
                "tracks_received": self._tracks_received,
                "tracks_unmatched": self._tracks_unmatched,
                "counts_received": self._counts_received,
                "counted_total": self._totals.total,
                "jpeg_annotated_published": self._jpegs_published["annotated"],
                "jpeg_camera_published": self._jpegs_published["camera"],
                "movements_received": self._movements_received,
                "movement_overlay_renders": self._movement_overlay.renders,
            }
        if self.live is not None:
            out.update(self.live.stats())
        rtsp = self.rtsp.stats() if self.rtsp is not None else {}
        out.update(
            rtsp_url=self.rtsp.url if self.rtsp is not None else "",
            rtsp_error=self._rtsp_error,
            rtsp_clients=rtsp.get("rtsp_clients", 0),
            rtsp_frames_served=rtsp.get("rtsp_frames_served", 0),
        )
        return out

    def destroy_node(self):
        rtsp, self.rtsp = getattr(self, "rtsp", None), None
        if rtsp is not None:
            rtsp.stop()
        server, self._own_foxglove = getattr(self, "_own_foxglove", None), None
        if server is not None:
            server.close()
        return super().destroy_node()


def standalone_annotator() -> AnnotatorNode:
    """The annotator of a separate-process graph; it hosts the Foxglove server when launch asks
    for one (ARGOS_FOXGLOVE_PORT: the annotator holds every stream Foxglove shows)."""
    node = AnnotatorNode()
    try:
        server = server_from_environment()
    except (ValueError, OSError, RuntimeError) as exc:
        node.destroy_node()
        key, _, problem = str(exc).partition(": ")
        raise ConfigError(key, problem or key) from None
    if server is not None:
        node._own_foxglove = server
        node.attach_foxglove(server.camera(node.get_namespace()))
        node.get_logger().info(f"foxglove: {server.url}")
    return node


def main(args=None) -> None:
    sys.exit(run_node(standalone_annotator, args))


if __name__ == "__main__":
    main()
