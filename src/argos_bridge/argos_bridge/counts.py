"""Count events as the bridge sees them, and the running totals built from them.

A count event reaches the core either as a ROS `argos_interfaces/CountEvent` converted by the
node, as a mapping, or as any object with the same attribute names (e.g. a tracker dataclass);
`CountRecord.from_event` accepts all three so the core never imports ROS types.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

# (line_id, lane, class_id, direction): the granularity of the totals payload
TotalsKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class CountRecord:
    stamp_ns: int              # capture time of the frame in which the crossing was observed
    line_id: str
    lane: str
    class_id: str              # class label
    direction: str             # "in" | "out"
    track_id: str
    frame_number: int = 0      # frame number reported by the counter (CountEvent.frame_number)
    speed_px_s: float = math.nan
    speed_m_s: float = math.nan

    @classmethod
    def from_event(cls, event: Any) -> "CountRecord":
        """From a mapping or an attribute object; `stamp_ns` may be given as `stamp_ns` or `stamp`
        (int nanoseconds). Missing optional fields take their defaults; missing required ones raise
        KeyError naming the field."""
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
            stamp_ns=int(required("stamp_ns", "stamp")),
            line_id=str(required("line_id")),
            lane=str(get("lane", "") or ""),
            class_id=str(required("class_id")),
            direction=str(required("direction")),
            track_id=str(get("track_id", "") or ""),
            frame_number=int(get("frame_number", 0) or 0),
            speed_px_s=_float_or_nan(get("speed_px_s", None)),
            speed_m_s=_float_or_nan(get("speed_m_s", None)),
        )

    @property
    def totals_key(self) -> TotalsKey:
        return (self.line_id, self.lane, self.class_id, self.direction)


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


class CountTotals:
    """Counts per (line, lane, class, direction) since start and since the last `roll()`.
    Used from one thread (the bridge worker); not locked."""

    def __init__(self):
        self._total: dict[TotalsKey, int] = {}
        self._interval: dict[TotalsKey, int] = {}

    def add(self, record: CountRecord) -> None:
        key = record.totals_key
        self._total[key] = self._total.get(key, 0) + 1
        self._interval[key] = self._interval.get(key, 0) + 1

    def roll(self) -> list[tuple[TotalsKey, int, int]]:
        """Rows (key, total since start, count in the interval just ended), sorted by key, and
        start a new interval. Every key seen since start is listed, with 0 for a quiet interval."""
        rows = [(key, self._total[key], self._interval.get(key, 0)) for key in sorted(self._total)]
        self._interval = {}
        return rows
