"""Count events and their running totals, as every part of ARGOS sees them (no ROS types).

The tracker makes a CountRecord for each crossing (and zone entry/exit), the node publishes it
as `argos_interfaces/CountEvent`, and the bridge, the run monitor, the annotator and replay turn
what they receive back into CountRecords (`CountRecord.from_event` takes a mapping or any object
with the same attribute names, so this module never imports ROS). CountTotals is the one
running table of counts they all keep.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DIRECTIONS = ("in", "out")

# (line_id, lane, class_id, direction): the granularity of every totals table
TotalsKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CountRecord:
    line_id: str  # counting line or zone name
    lane: str  # lane label of the crossed segment ("" when none)
    class_id: str  # class label decided for the object
    direction: str  # "in" | "out"
    track_id: str  # track id (tracker) or object id (ground truth)
    stamp_ns: int  # capture time of the frame in which the crossing was observed
    tracker_frame: int = 0  # 1-based number of that frame among the tracker's input (0: not from a tracker)
    speed_px_s: float = math.nan
    speed_m_s: float = math.nan
    epoch: int = 0  # the tracker's counting epoch (0: its starting geometry; +1 per live change)

    @classmethod
    def from_event(cls, event: Any) -> CountRecord:
        """From a mapping or an attribute object (e.g. a CountEvent); `stamp_ns` may be given as
        `stamp_ns` or `stamp` (int ns). Missing optional fields take their defaults; a missing
        required one raises KeyError naming it."""
        if isinstance(event, CountRecord):
            return event
        get = event.get if isinstance(event, Mapping) else (lambda k, d=None: getattr(event, k, d))
        missing = object()

        def required(name: str, *aliases: str) -> Any:
            for key in (name, *aliases):
                value = get(key, missing)
                if value is not missing:
                    return value
            raise KeyError(f"count event lacks {name!r}")

        return cls(
            line_id=str(required("line_id")),
            lane=str(get("lane", "") or ""),
            class_id=str(required("class_id")),
            direction=str(required("direction")),
            track_id=str(get("track_id", "") or ""),
            stamp_ns=int(required("stamp_ns", "stamp")),
            tracker_frame=int(get("tracker_frame", 0) or 0),
            speed_px_s=_float_or_nan(get("speed_px_s", None)),
            speed_m_s=_float_or_nan(get("speed_m_s", None)),
            epoch=int(get("epoch", 0) or 0),
        )

    @property
    def totals_key(self) -> TotalsKey:
        return (self.line_id, self.lane, self.class_id, self.direction)


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


class CountTotals:
    """Counts per (line, lane, class, direction) since start, and since the last `roll()`.
    Not locked: each owner uses it from one thread or under its own lock."""

    def __init__(self, records: Iterable[CountRecord] = ()):
        self._total: Counter[TotalsKey] = Counter()
        self._interval: Counter[TotalsKey] = Counter()
        for record in records:
            self.add(record)

    def add(self, record: CountRecord) -> None:
        key = record.totals_key
        self._total[key] += 1
        self._interval[key] += 1

    @property
    def total(self) -> int:
        return sum(self._total.values())

    def as_dict(self) -> dict[TotalsKey, int]:
        return dict(self._total)

    def roll(self) -> list[tuple[TotalsKey, int, int]]:
        """Rows (key, total since start, count in the interval just ended), sorted by key, and
        start a new interval. Every key seen since start is listed, with 0 for a quiet interval."""
        rows = [(key, self._total[key], self._interval[key]) for key in sorted(self._total)]
        self._interval = Counter()
        return rows

    def by_class_direction(self) -> dict[str, dict[str, int]]:
        """{class: {"in": n, "out": n}} over every line and lane."""
        return self._pivot(lambda key: key[2])

    def by_line_direction(self) -> dict[str, dict[str, int]]:
        """{line: {"in": n, "out": n}} over every lane and class."""
        return self._pivot(lambda key: key[0])

    def by_class(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (_, _, class_id, _), n in self._total.items():
            out[class_id] += n
        return dict(out)

    def _pivot(self, row_of) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, n in sorted(self._total.items()):
            row = out.setdefault(row_of(key), dict.fromkeys(DIRECTIONS, 0))
            row[key[3]] = row.get(key[3], 0) + n
        return out

    def text(self, occupancy: Mapping[str, int] | None = None) -> str:
        """'totals 12: west/eastbound car in=4, ...; occupancy box=3', keys in a stable order."""
        parts = []
        for (line_id, lane, label, direction), count in sorted(self._total.items()):
            where = f"{line_id}/{lane}" if lane else line_id
            parts.append(f"{where} {label} {direction}={count}")
        text = f"totals {self.total}: " + (", ".join(parts) if parts else "none")
        if occupancy:
            text += "; occupancy " + ", ".join(f"{zone}={n}" for zone, n in sorted(occupancy.items()))
        return text
