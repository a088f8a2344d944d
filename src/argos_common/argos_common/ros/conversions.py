"""numpy / ARGOS cores <-> ROS messages. Message types only; no rclpy node machinery.

cv_bridge is not installable from PyPI, so images are converted directly (bgr8/rgb8/mono8).
"""

from __future__ import annotations

import struct

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from argos_interfaces.msg import CountEvent, MovementEvent

from ..counts import CountRecord
from ..detections import Detections
from ..movements import MovementRecord

_CHANNELS = {"bgr8": 3, "rgb8": 3, "mono8": 1}


def stamp_from_ns(ns: int) -> Time:
    return Time(sec=int(ns // 1_000_000_000), nanosec=int(ns % 1_000_000_000))


def ns_from_stamp(stamp: Time) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def stamp_of_serialized(data: bytes) -> int:
    """header.stamp (ns) of a serialized (CDR) message whose first field is a std_msgs/Header, read
    without deserializing the rest: a raw subscription that needs only the stamp of most messages
    (to match them with frames) skips building their Python objects."""
    little = data[1] & 1  # encapsulation kind: CDR_LE / PL_CDR_LE have the low bit set
    sec, nanosec = struct.unpack_from("<iI" if little else ">iI", data, 4)
    return sec * 1_000_000_000 + nanosec


def make_header(stamp_ns: int, frame_id: str) -> Header:
    return Header(stamp=stamp_from_ns(stamp_ns), frame_id=frame_id)


def image_to_msg(image: np.ndarray, stamp_ns: int, frame_id: str, encoding: str = "bgr8") -> Image:
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    msg = Image(
        header=make_header(stamp_ns, frame_id),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=w * _CHANNELS[encoding],
    )
    msg.data = image.tobytes()  # assigning bytes is the fast path of the generated setter
    return msg


def msg_to_image(msg: Image) -> np.ndarray:
    """View of the message buffer as an H x W x C BGR array (rgb8 is converted, mono8 expanded)."""
    if msg.encoding not in _CHANNELS:
        raise ValueError(f"unsupported image encoding {msg.encoding!r} (supported: {', '.join(_CHANNELS)})")
    c = _CHANNELS[msg.encoding]
    flat = np.frombuffer(msg.data, dtype=np.uint8)
    rows = flat.reshape(msg.height, msg.step)[:, : msg.width * c]
    img = rows.reshape(msg.height, msg.width, c)
    if msg.encoding == "rgb8":
        return img[:, :, ::-1]
    if msg.encoding == "mono8":
        return np.repeat(img, 3, axis=2)
    return img


def detections_to_msg(dets: Detections, stamp_ns: int, frame_id: str) -> Detection2DArray:
    header = make_header(stamp_ns, frame_id)
    out = Detection2DArray(header=header)
    boxes = dets.boxes.astype(np.float64)
    for (x1, y1, x2, y2), score, label, oid in zip(boxes, dets.scores, dets.labels, dets.ids):
        d = Detection2D(header=header, id=oid)
        d.bbox.center.position.x = (x1 + x2) / 2.0
        d.bbox.center.position.y = (y1 + y2) / 2.0
        d.bbox.size_x = x2 - x1
        d.bbox.size_y = y2 - y1
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id = label
        hyp.hypothesis.score = float(score)
        d.results.append(hyp)
        out.detections.append(d)
    return out


def msg_to_detections(msg: Detection2DArray) -> Detections:
    n = len(msg.detections)
    boxes = np.zeros((n, 4), np.float32)
    scores = np.zeros(n, np.float32)
    labels, ids = [], []
    for i, d in enumerate(msg.detections):
        cx, cy = d.bbox.center.position.x, d.bbox.center.position.y
        boxes[i] = (cx - d.bbox.size_x / 2, cy - d.bbox.size_y / 2, cx + d.bbox.size_x / 2, cy + d.bbox.size_y / 2)
        if d.results:
            best = max(d.results, key=lambda r: r.hypothesis.score)
            labels.append(best.hypothesis.class_id)
            scores[i] = best.hypothesis.score
        else:
            labels.append("")
        ids.append(d.id)
    return Detections(boxes, scores, labels, ids)


def count_record_to_msg(record: CountRecord, frame_id: str) -> CountEvent:
    return CountEvent(
        header=make_header(record.stamp_ns, frame_id),
        tracker_frame=record.tracker_frame,
        line_id=record.line_id,
        lane=record.lane,
        class_id=record.class_id,
        direction=record.direction,
        track_id=record.track_id,
        speed_px_s=float(record.speed_px_s),
        speed_m_s=float(record.speed_m_s),
        epoch=int(record.epoch),
    )


def msg_to_count_record(msg: CountEvent) -> CountRecord:
    return CountRecord(
        line_id=msg.line_id,
        lane=msg.lane,
        class_id=msg.class_id,
        direction=msg.direction,
        track_id=msg.track_id,
        stamp_ns=ns_from_stamp(msg.header.stamp),
        tracker_frame=int(msg.tracker_frame),
        speed_px_s=float(msg.speed_px_s),
        speed_m_s=float(msg.speed_m_s),
        epoch=int(msg.epoch),
    )


def movement_record_to_msg(record: MovementRecord, frame_id: str) -> MovementEvent:
    return MovementEvent(
        header=make_header(record.left_ns or record.entered_ns, frame_id),
        movement=record.movement,
        status=record.status,
        reason=record.reason,
        from_line=record.from_line,
        from_lane=record.from_lane,
        to_line=record.to_line,
        to_lane=record.to_lane,
        class_id=record.class_id,
        entered_ns=int(record.entered_ns),
        left_ns=int(record.left_ns),
        track_id=record.track_id,
        linked_track_id=record.linked_track_id,
        speed_px_s=float(record.speed_px_s),
        speed_m_s=float(record.speed_m_s),
    )


def msg_to_movement_record(msg: MovementEvent) -> MovementRecord:
    return MovementRecord.from_event(msg)
