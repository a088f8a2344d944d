"""Write serialized messages into rosbag2 bags (MCAP storage by default), split by size/duration.

rosbags writes one storage file per bag, so a split recording is a directory of complete,
numbered bags (`<out>/<out-name>_000`, `_001`, ...), each of which any rosbag2 reader opens on its
own; `argos bag play/info` treat the directory as one recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer

from .typestore import typestore_for

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


@dataclass
class RecordingStats:
    messages: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    parts: list[str] = field(default_factory=list)


class BagRecorder:
    def __init__(
        self,
        out_dir: str | Path,
        topics: dict[str, str],
        *,
        storage: str = "mcap",
        max_bytes: int = 0,
        max_duration_s: float = 0.0,
    ):
        """topics: name -> message type ("sensor_msgs/msg/Image"). 0 limits mean no splitting."""
        if storage not in STORAGES:
            raise ValueError(f"storage: {storage!r} is not one of {', '.join(STORAGES)}")
        self.out_dir = Path(out_dir)
        if self.out_dir.exists():
            raise FileExistsError(f"output {self.out_dir} exists; choose a new directory")
        self.out_dir.mkdir(parents=True)
        self.topics = dict(topics)
        self.storage = storage
        self.max_bytes = max_bytes
        self.max_duration_ns = int(max_duration_s * 1e9)
        self.typestore = typestore_for(self.topics.values())
        self.stats = RecordingStats(messages={t: 0 for t in self.topics})
        self._writer: Writer | None = None
        self._connections = {}
        self._part_bytes = 0
        self._part_start_ns: int | None = None

    def _open_part(self) -> None:
        path = self.out_dir / f"{self.out_dir.name}_{len(self.stats.parts):03d}"
        self._writer = Writer(path, version=9, storage_plugin=STORAGES[self.storage])
        self._writer.open()
        self._connections = {
            topic: self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            for topic, msgtype in self.topics.items()
        }
        self.stats.parts.append(path.name)
        self._part_bytes = 0
        self._part_start_ns = None

    def _should_split(self, stamp_ns: int) -> bool:
        if self._writer is None:
            return True
        if self.max_bytes and self._part_bytes >= self.max_bytes:
            return True
        return bool(
            self.max_duration_ns
            and self._part_start_ns is not None
            and stamp_ns - self._part_start_ns >= self.max_duration_ns
        )

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        if self._should_split(stamp_ns):
            self._close_part()
            self._open_part()
        if self._part_start_ns is None:
            self._part_start_ns = stamp_ns
        self._writer.write(self._connections[topic], stamp_ns, data)
        self._part_bytes += len(data)
        self.stats.bytes_written += len(data)
        self.stats.messages[topic] += 1

    def _close_part(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> RecordingStats:
        if self._writer is None and not self.stats.parts:
            self._open_part()  # an empty recording is still a valid (empty) bag
        self._close_part()
        return self.stats
