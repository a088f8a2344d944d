"""Deterministic replay for debugging: re-run tracking and counting (with changed parameters) on
a recording's detections, or the whole chain on its images, outside ROS timing.

The same bag and parameters give the same counts on every run: messages are processed one by
one in recorded order with their recorded capture stamps; nothing depends on wall time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from argos_common.counts import CountTotals
from argos_common.ros.conversions import msg_to_count_record, msg_to_detections, msg_to_image, ns_from_stamp

from .reader import read_messages, topics_of
from .typestore import typestore_for


@dataclass
class ReplayResult:
    source_topic: str
    frames: int = 0
    replayed: CountTotals = field(default_factory=CountTotals)
    recorded: CountTotals = field(default_factory=CountTotals)
    ground_truth: CountTotals = field(default_factory=CountTotals)
    events: list = field(default_factory=list)  # (tracker frame, line, lane, class, direction, track id)


def _pick(topics: dict[str, str], suffix: str, namespace: str | None) -> str | None:
    matches = sorted(
        t for t in topics if t.endswith(suffix) and (namespace is None or t.startswith(namespace.rstrip("/") + "/"))
    )
    if len(matches) > 1:
        raise ValueError(f"several {suffix} topics in the bag ({', '.join(matches)}): choose one with --namespace")
    return matches[0] if matches else None


def replay(
    bag: str | Path,
    tracker_params: dict,
    inference_params: dict | None = None,
    *,
    source: str = "detections",
    namespace: str | None = None,
) -> ReplayResult:
    from argos_common.lines import needs_source_size
    from argos_tracker.pipeline import TrackingPipeline

    topics = topics_of(bag)
    suffix = {"detections": "/detections", "images": "/camera/image_raw"}[source]
    topic = _pick(topics, suffix, namespace)
    if topic is None:
        raise ValueError(
            f"the bag has no {suffix} topic to replay from (topics: {', '.join(sorted(topics)) or 'none'})"
        )
    ns = topic[: -len(suffix)]
    counts_topic, truth_topic = f"{ns}/counts", f"{ns}/camera/ground_truth/counts"
    # the frames' size places lines drawn for geometry.image_size, as camera_info does live
    info_topic = f"{ns}/camera/camera_info"
    store = typestore_for(topics.values())

    detector = None
    if source == "images":
        from argos_inference.factory import create_detector

        detector = create_detector(inference_params)
    pipeline = TrackingPipeline(tracker_params)
    result = ReplayResult(source_topic=topic)
    try:
        for m in read_messages(bag, {topic, counts_topic, truth_topic, info_topic}):
            msg = store.deserialize_cdr(m.data, m.msgtype)
            if m.topic == info_topic:
                if msg.width and msg.height:
                    pipeline.set_source_size((int(msg.width), int(msg.height)))
                continue
            if m.topic == counts_topic:
                result.recorded.add(msg_to_count_record(msg))
                continue
            if m.topic == truth_topic:
                result.ground_truth.add(msg_to_count_record(msg))
                continue
            stamp_ns = ns_from_stamp(msg.header.stamp)
            if detector is None:
                dets = msg_to_detections(msg)
            else:
                image = msg_to_image(msg)
                pipeline.set_source_size((image.shape[1], image.shape[0]))
                dets = detector.detect([image])[0]
            if pipeline.source_size is None and needs_source_size(pipeline.params):
                raise ValueError(
                    f"the bag has no {info_topic} before {topic}: the lines and zones (geometry.image_size "
                    "or geometry.normalized) need the frames' size; record camera_info too"
                )
            result.frames += 1
            for rec in pipeline.update(dets, stamp_ns).counts:
                result.replayed.add(rec)
                result.events.append(
                    (rec.tracker_frame, rec.line_id, rec.lane, rec.class_id, rec.direction, rec.track_id)
                )
    finally:
        if detector is not None:
            detector.close()
    return result
