"""Our bags read by a second, independent reader: the `mcap` package with `mcap-ros2-support`
decodes every message from the schemas embedded in the file (no rosbags, no typestore of ours)
and must agree, message by message and field by field, with what rosbags reads. Two recordings:
`argos run --record --record-images` (in-process recorder, images included) and `argos bag
record --all` beside a running graph (the DDS subscriber, split into parts)."""

import dataclasses
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.rosbag2 import Reader

from argos_bringup.bags.typestore import typestore_for

pytestmark = pytest.mark.integration

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # ROS 2 field names; constants are upper case
REPO = Path(__file__).resolve().parents[2]
LINE_IDS = yaml.safe_load((REPO / "config/edge.yaml").read_text())["/**"]["ros__parameters"]["lines"]["names"]
SMALL_FRAMES = ["--param", "camera.width=640", "--param", "camera.height=360"]


def argos(*args, timeout=120):
    return subprocess.run([shutil.which("argos"), *args], capture_output=True, text=True, timeout=timeout)


def plain(value):
    """A decoded message as nested Python values, whichever library made it."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, np.generic):
        return plain(value.item())
    if dataclasses.is_dataclass(value):  # rosbags: its dataclasses also carry the type and the constants
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if FIELD_NAME.match(f.name)}
    slots = getattr(type(value), "__slots__", None)
    if slots:  # mcap_ros2
        return {name: plain(getattr(value, name)) for name in slots}
    return value


def mcap_messages(path: Path) -> list[tuple[str, str, int, dict]]:
    """(topic, schema name, log time, decoded message) of every message, in file order."""
    out = []
    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages(log_time_order=False):
            assert channel.message_encoding == "cdr" and schema.encoding == "ros2msg", channel.topic
            out.append((channel.topic, schema.name, message.log_time, plain(decoded)))
    return out


def rosbags_messages(part: Path) -> list[tuple[str, str, int, dict]]:
    with Reader(part) as reader:
        typestore = typestore_for(c.msgtype for c in reader.connections)
        return [
            (c.topic, c.msgtype, stamp, plain(typestore.deserialize_cdr(data, c.msgtype)))
            for c, stamp, data in reader.messages()
        ]


def compare_parts(recording: Path) -> dict[str, int]:
    """Every part read by both readers; returns messages per topic."""
    per_topic: dict[str, int] = {}
    parts = sorted(p for p in recording.iterdir() if p.is_dir())
    assert parts, f"no bag in {recording}"
    for part in parts:
        (mcap_file,) = part.glob("*.mcap")
        independent = mcap_messages(mcap_file)
        reference = rosbags_messages(part)
        assert len(independent) == len(reference), part
        # message by message, as multisets: messages of one topic received in the same
        # nanosecond may come in either order from the two readers
        ours = Counter((t, s, time, json.dumps(m, sort_keys=True)) for t, s, time, m in independent)
        theirs = Counter((t, s, time, json.dumps(m, sort_keys=True)) for t, s, time, m in reference)
        assert ours == theirs, part
        for topic, _schema, _time, _message in independent:
            per_topic[topic] = per_topic.get(topic, 0) + 1
        with open(mcap_file, "rb") as stream:  # the file's own index agrees with what was read
            summary = make_reader(stream).get_summary()
        assert summary is not None and summary.statistics.message_count == len(independent)
    return per_topic


def test_argos_run_recording_with_images_reads_back_message_by_message(tmp_path):
    out = tmp_path / "run"
    summary_file = tmp_path / "summary.json"
    proc = argos(
        "run", "--duration", "6", "--quiet", "--record", str(out), "--record-images",
        "--summary", str(summary_file), *SMALL_FRAMES,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    per_topic = compare_parts(out)
    assert per_topic["/cam0/detections"] == summary["frames"]["processed"]
    assert per_topic["/cam0/camera/image_raw"] > 0 and per_topic["/cam0/camera/camera_info"] > 0
    assert per_topic.get("/cam0/counts", 0) == summary["count_error"]["total_measured"]
    # an image decoded by mcap_ros2 is the frame itself: size, encoding and every byte
    (part,) = sorted(p for p in out.iterdir() if p.is_dir())
    (mcap_file,) = part.glob("*.mcap")
    image = next(m for t, _s, _time, m in mcap_messages(mcap_file) if t == "/cam0/camera/image_raw")
    assert (image["width"], image["height"], image["encoding"]) == (640, 360, "bgr8")
    assert len(image["data"]) == image["step"] * image["height"] == 640 * 3 * 360
    # the image panels of the shipped Foxglove layout find their topics in the bag, as JPEG
    layout = json.loads((Path(__file__).resolve().parents[2] / "config/foxglove/argos-edge.json").read_text())
    image_topics = {p["imageMode"]["imageTopic"] for p in layout["configById"].values() if "imageMode" in p}
    recorded = {t: (s, m) for t, s, _time, m in mcap_messages(mcap_file) if t in image_topics}
    assert recorded.keys() == image_topics
    for schema, message in recorded.values():
        assert schema == "sensor_msgs/msg/CompressedImage" and message["format"] == "jpeg"
        jpeg = cv2.imdecode(np.frombuffer(bytes(message["data"]), np.uint8), cv2.IMREAD_COLOR)
        assert jpeg.shape == (360, 640, 3)
    check_overlay_and_totals(mcap_messages(mcap_file), layout, per_topic["/cam0/counts"])


def check_overlay_and_totals(messages, layout, counts: int) -> None:
    """The layout's overlay and totals panels have their topics in the bag too: every track of a
    recorded tracks message is a box with its "class #id" label in the annotations of its frame,
    the counting lines are drawn, and the totals add up to the counts recorded."""
    overlays = {a for p in layout["configById"].values() for a in p.get("imageMode", {}).get("annotations", {})}
    panels = {p["topicPath"] for p in layout["configById"].values() if "topicPath" in p}
    assert overlays == {"/cam0/annotations"} and "/cam0/totals" in panels
    schemas = {t: s for t, s, _time, _m in messages}
    images = {p["imageMode"]["imageTopic"] for p in layout["configById"].values() if "imageMode" in p}
    assert images | overlays | panels <= schemas.keys(), "every panel of the layout has its topic in the bag"
    assert schemas["/cam0/annotations"] == "foxglove_msgs/msg/ImageAnnotations"
    assert schemas["/cam0/totals"] == "argos_interfaces/msg/CountTotals"
    stamp = lambda t: t["sec"] * 1_000_000_000 + t["nanosec"]  # noqa: E731
    tracks = {stamp(m["header"]["stamp"]): m for t, _s, _time, m in messages if t == "/cam0/tracks"}
    annotations = [m for t, _s, _time, m in messages if t == "/cam0/annotations"]
    line_strip, line_loop = 3, 2  # foxglove_msgs/PointsAnnotation LINE_STRIP, LINE_LOOP
    with_boxes = 0
    for message in annotations:
        lines = [p for p in message["points"] if p["type"] == line_strip]
        assert len(lines) == len(LINE_IDS), "every counting line of config/edge.yaml is drawn"
        boxes = [p for p in message["points"] if p["type"] == line_loop]
        frame_tracks = tracks.get(stamp(message["timestamp"]))
        if frame_tracks is None or not boxes:
            continue  # drawn before its frame's tracks arrived (the annotator never waits): lines only
        assert len(boxes) == len(frame_tracks["detections"])
        labels = {t["text"] for t in message["texts"]}
        for detection, box in zip(frame_tracks["detections"], boxes):
            label = detection["results"][0]["hypothesis"]["class_id"]
            assert f"{label} #{detection['id']}" in labels
            cx, cy = detection["bbox"]["center"]["position"]["x"], detection["bbox"]["center"]["position"]["y"]
            xs, ys = [p["x"] for p in box["points"]], [p["y"] for p in box["points"]]
            assert min(xs) <= cx <= max(xs) and min(ys) <= cy <= max(ys)
        with_boxes += bool(boxes)
    assert with_boxes > 0, "no annotations with track boxes recorded"
    totals = [m for t, _s, _time, m in messages if t == "/cam0/totals"]
    assert totals and max(m["total"] for m in totals) == counts
    last = max(totals, key=lambda m: m["total"])
    assert sum(last["line_in"]) + sum(last["line_out"]) == sum(last["class_counts"]) == last["total"]
    assert last["line_ids"] == LINE_IDS and len(last["line_in"]) == len(last["line_out"]) == len(LINE_IDS)


def test_bag_record_beside_a_graph_split_into_parts_reads_back(tmp_path):
    out = tmp_path / "external"
    graph = subprocess.Popen(
        [shutil.which("argos"), "run", "--duration", "20", "--quiet", *SMALL_FRAMES],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        record = ["-o", str(out), "--all", "--duration", "7", "--max-bag-duration", "3", "--discovery-wait", "6"]
        proc = argos("bag", "record", *record)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        graph.terminate()
        graph.communicate(timeout=60)
    per_topic = compare_parts(out)
    assert len([p for p in out.iterdir() if p.is_dir()]) >= 2, "split by duration into several bags"
    assert per_topic.get("/cam0/detections", 0) > 0 and per_topic.get("/diagnostics", 0) > 0
