"""Deterministic replay for debugging: re-run tracking and counting (with changed parameters) on
a recording's detections, or the whole chain on its images, outside ROS timing.

The same bag and parameters give the same counts on every run: messages are processed one by
one in recorded order with their recorded capture stamps; nothing depends on wall time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from argos_common.conversions import msg_to_detections, msg_to_image, ns_from_stamp
from argos_common.lines import parse_lines

from ..monitor import CountTable
from .reader import read_messages, topics_of
from .typestore import typestore_for


@dataclass
class ReplayResult:
    source_topic: str
    frames: int = 0
    replayed: CountTable = field(default_factory=CountTable)
    recorded: CountTable = field(default_factory=CountTable)
    ground_truth: CountTable = field(default_factory=CountTable)
    events: list = field(default_factory=list)   # (frame, line, lane, label, direction, track id)


def _pick(topics: dict[str, str], suffix: str, namespace: str | None) -> str | None:
    matches = sorted(t for t in topics if t.endswith(suffix) and (namespace is None or t.startswith(namespace.rstrip("/") + "/")))
    if len(matches) > 1:
        raise ValueError(f"several {suffix} topics in the bag ({', '.join(matches)}): choose one with --namespace")
    return matches[0] if matches else None


def replay(bag: str | Path, tracker_params: dict, inference_params: dict | None = None, *,
           source: str = "detections", namespace: str | None = None) -> ReplayResult:
    from argos_tracker.counting import LineCounter
    from argos_tracker.tracker import Tracker

    topics = topics_of(bag)
    suffix = {"detections": "/detections", "images": "/camera/image_raw"}[source]
    topic = _pick(topics, suffix, namespace)
    if topic is None:
        raise ValueError(f"the bag has no {suffix} topic to replay from (topics: {', '.join(sorted(topics)) or 'none'})")
    ns = topic[: -len(suffix)]
    counts_topic, truth_topic = f"{ns}/counts", f"{ns}/camera/ground_truth/counts"
    store = typestore_for(topics.values())

    detector = None
    if source == "images":
        from argos_inference.factory import create_detector
        detector = create_detector(inference_params)
    tracker = Tracker(tracker_params)
    counter = LineCounter(parse_lines(tracker_params), tracker_params["anchor"], tracker_params["count_hysteresis_px"])
    result = ReplayResult(source_topic=topic)
    try:
        for m in read_messages(bag, {topic, counts_topic, truth_topic}):
            msg = store.deserialize_cdr(m.data, m.msgtype)
            if m.topic == counts_topic:
                result.recorded.add(msg.line_id, msg.class_id, msg.direction)
                continue
            if m.topic == truth_topic:
                result.ground_truth.add(msg.line_id, msg.class_id, msg.direction)
                continue
            stamp_ns = ns_from_stamp(msg.header.stamp)
            dets = msg_to_detections(msg) if detector is None else detector.detect([msg_to_image(msg)])[0]
            result.frames += 1
            for rec in counter.update(tracker.update(dets, stamp_ns), stamp_ns, result.frames):
                result.replayed.add(rec.line_id, rec.label, rec.direction)
                result.events.append((rec.frame_number, rec.line_id, rec.lane, rec.label, rec.direction, rec.track_id))
    finally:
        if detector is not None:
            detector.close()
    return result
