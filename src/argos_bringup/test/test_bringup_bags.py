"""Bag writing/reading/scheduling without ROS nodes (rosbags is the independent reader)."""

import pytest
from rosbags.rosbag2 import Reader

from argos_bringup.bags.player import parse_remaps, schedule
from argos_bringup.bags.reader import BagMessage, bag_parts, describe, read_messages
from argos_bringup.bags.recorder import BagRecorder
from argos_bringup.bags.typestore import typestore_for

TYPE = "argos_interfaces/msg/CountEvent"


def count_event(store, i):
    cls = store.types[TYPE]
    header = store.types["std_msgs/msg/Header"](
        stamp=store.types["builtin_interfaces/msg/Time"](sec=i, nanosec=0), frame_id="cam"
    )
    msg = cls(
        header=header,
        tracker_frame=i,
        line_id="west",
        lane="",
        class_id="car",
        direction="in",
        track_id=str(i),
        speed_px_s=1.0,
        speed_m_s=float("nan"),
        epoch=0,
    )
    return bytes(store.serialize_cdr(msg, TYPE))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_split_recording_reads_back_in_order_with_standard_reader(tmp_path, storage):
    store = typestore_for([TYPE])
    rec = BagRecorder(tmp_path / "rec", {"/cam0/counts": TYPE}, storage=storage, max_bytes=400)
    payloads = [count_event(store, i) for i in range(20)]
    for i, data in enumerate(payloads):
        rec.write("/cam0/counts", 1_000_000_000 * (i + 1), data)
    stats = rec.close()
    assert len(stats.parts) > 1 and stats.messages == {"/cam0/counts": 20}
    total = 0
    for part in bag_parts(tmp_path / "rec"):  # each part opens on its own
        with Reader(part) as reader:
            assert [c.msgtype for c in reader.connections] == [TYPE]
            total += reader.message_count
    assert total == 20
    back = list(read_messages(tmp_path / "rec"))
    assert [m.data for m in back] == payloads
    assert [store.deserialize_cdr(m.data, TYPE).tracker_frame for m in back] == list(range(20))
    assert describe(tmp_path / "rec")["topics"]["/cam0/counts"]["messages"] == 20


def test_recorder_refuses_existing_output_and_unknown_types(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(FileExistsError):
        BagRecorder(tmp_path / "x", {"/a": TYPE})
    with pytest.raises(LookupError, match="nosuch_msgs/msg/Thing"):
        BagRecorder(tmp_path / "y", {"/a": "nosuch_msgs/msg/Thing"})


def test_schedule_rate_offset_and_loop():
    msgs = [BagMessage("/t", TYPE, 10_000_000_000 + i * 500_000_000, b"") for i in range(5)]  # 0..2 s
    plan = list(schedule(msgs, rate=2.0))
    assert [round(p.at_s, 3) for p in plan] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [p.at_s for p in schedule(msgs, start_offset_s=1.0)] == [0.0, 0.5, 1.0]
    looped = list(schedule(msgs, loops=2))
    assert len(looped) == 10 and all(b.at_s > a.at_s for a, b in zip(looped, looped[1:]))
    with pytest.raises(ValueError, match="--rate"):
        list(schedule(msgs, rate=0))


def test_parse_remaps():
    assert parse_remaps(["/a:=/b"]) == {"/a": "/b"}
    with pytest.raises(ValueError, match="FROM:=TO"):
        parse_remaps(["/a=/b"])
