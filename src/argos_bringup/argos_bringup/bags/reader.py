"""Read a recording (one rosbag2 bag, or a directory of split parts) in time order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rosbags.rosbag2 import Reader


@dataclass(frozen=True)
class BagMessage:
    topic: str
    msgtype: str
    stamp_ns: int  # bag timestamp (receive time at recording)
    data: bytes


def bag_parts(path: str | Path) -> list[Path]:
    """The bag itself, or the numbered parts of a split recording, in order."""
    path = Path(path)
    if (path / "metadata.yaml").is_file():
        return [path]
    parts = sorted(p for p in path.iterdir() if (p / "metadata.yaml").is_file()) if path.is_dir() else []
    if not parts:
        raise FileNotFoundError(f"{path}: not a rosbag2 bag (no metadata.yaml) nor a directory of bags")
    return parts


def topics_of(path: str | Path) -> dict[str, str]:
    topics: dict[str, str] = {}
    for part in bag_parts(path):
        with Reader(part) as reader:
            topics.update({c.topic: c.msgtype for c in reader.connections})
    return topics


def read_messages(path: str | Path, topics: set[str] | None = None) -> Iterator[BagMessage]:
    for part in bag_parts(path):
        with Reader(part) as reader:
            conns = [c for c in reader.connections if topics is None or c.topic in topics]
            for conn, stamp, data in reader.messages(connections=conns):
                yield BagMessage(conn.topic, conn.msgtype, stamp, bytes(data))


def describe(path: str | Path) -> dict:
    parts = bag_parts(path)
    info = {"path": str(path), "parts": [], "topics": {}, "start_ns": None, "end_ns": None, "messages": 0}
    for part in parts:
        with Reader(part) as reader:
            files = [p.suffix for p in part.iterdir()]
            storage = "mcap" if ".mcap" in files else "sqlite3" if ".db3" in files else "unknown"
            info["parts"].append({"name": part.name, "storage": storage, "messages": reader.message_count})
            info["messages"] += reader.message_count
            if reader.message_count:
                info["start_ns"] = (
                    min(filter(None, [info["start_ns"], reader.start_time])) if info["start_ns"] else reader.start_time
                )
                info["end_ns"] = max(info["end_ns"] or 0, reader.end_time)
            for c in reader.connections:
                row = info["topics"].setdefault(c.topic, {"type": c.msgtype, "messages": 0})
                row["messages"] += c.msgcount
    return info
