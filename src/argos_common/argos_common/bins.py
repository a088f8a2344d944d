"""Interval bins of turning movements and line crossings, aligned to the wall clock (no ROS).

A bin is [k*I, (k+1)*I) of Unix time (I = 1, 5, 15 or 60 minutes), so 15-minute bins start at
:00, :15, :30 and :45 UTC whatever time the unit started. Each bin counts
    movements   (movement name, class) -> n      complete movements, placed by their entry
    incomplete  (reason, line, class) -> n       u_turn / vanished (by entry) / no_entry (by exit)
    lines       (line, lane, direction, class) -> n   crossings of every counting line
A bin is *due* once the clock passes its end by `close_delay_s` (so that vehicles that entered
just before the end have had time to leave); `due(now)` then returns it with revision 1. An
event for a bin already published (a vehicle that waited inside longer than the delay, an event
replayed after an outage) changes it: the next `due()` returns it again with the revision
incremented. Bins are kept `late_s` after they were due; an event older than that is refused
and counted (`too_late`). A quiet interval is published too, with empty tables.

Restart: `restore()` takes back the events and the published bins a previous run left in the
Redis stream (argos_bridge reads them), so the bin that was open goes on counting, and a bin
published before the restart is not published again unless it changed (then revision + 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .counts import CountRecord
from .movements import MovementRecord

BIN_MINUTES = (1, 5, 15, 60)

MovementKey = tuple[str, str]  # movement, class
IncompleteKey = tuple[str, str, str]  # reason, line (from_line, or to_line for no_entry), class
LineKey = tuple[str, str, str, str]  # line, lane, direction, class


def bin_start_ns(stamp_ns: int, interval_ns: int) -> int:
    return int(stamp_ns) - int(stamp_ns) % int(interval_ns)


@dataclass
class Bin:
    start_ns: int
    interval_ns: int
    movements: Counter = field(default_factory=Counter)
    incomplete: Counter = field(default_factory=Counter)
    lines: Counter = field(default_factory=Counter)
    revision: int = 0  # last published revision (0: never published)
    changed: bool = True  # differs from what was last published

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.interval_ns

    def content(self) -> tuple[dict, dict, dict]:
        return (
            {k: v for k, v in self.movements.items() if v},
            {k: v for k, v in self.incomplete.items() if v},
            {k: v for k, v in self.lines.items() if v},
        )


@dataclass(frozen=True)
class BinSnapshot:
    """One publication of a bin."""

    start_ns: int
    end_ns: int
    revision: int
    movements: dict[MovementKey, int]
    incomplete: dict[IncompleteKey, int]
    lines: dict[LineKey, int]

    @property
    def interval_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def movement_key(record: MovementRecord) -> MovementKey:
    return (record.movement, record.class_id)


def incomplete_key(record: MovementRecord) -> IncompleteKey:
    return (record.reason, record.from_line or record.to_line, record.class_id)


class IntervalBins:
    """Not locked: the owner uses it from one thread (the bridge's writer)."""

    def __init__(self, interval_min: int = 15, close_delay_s: float = 30.0, late_s: float = 900.0):
        if interval_min not in BIN_MINUTES:
            raise ValueError(f"bin interval must be one of {BIN_MINUTES} minutes, got {interval_min}")
        if close_delay_s < 0 or late_s < 0:
            raise ValueError("close_delay_s and late_s must be >= 0")
        self.interval_ns = int(interval_min) * 60 * 1_000_000_000
        self.close_delay_ns = int(round(close_delay_s * 1e9))
        self.late_ns = int(round(late_s * 1e9))
        self._bins: dict[int, Bin] = {}
        self._next_due: int | None = None  # start of the oldest bin not yet due
        self.too_late = 0
        self.revisions = 0  # publications of a bin after its first

    # -- events ------------------------------------------------------------------------------
    def add_movement(self, record: MovementRecord, now_ns: int | None = None) -> bool:
        b = self._bin_for(record.bin_stamp_ns, now_ns)
        if b is None:
            return False
        if record.complete:
            b.movements[movement_key(record)] += 1
        else:
            b.incomplete[incomplete_key(record)] += 1
        b.changed = True
        return True

    def add_count(self, record: CountRecord, now_ns: int | None = None) -> bool:
        b = self._bin_for(record.stamp_ns, now_ns)
        if b is None:
            return False
        b.lines[(record.line_id, record.lane, record.direction, record.class_id)] += 1
        b.changed = True
        return True

    def _bin_for(self, stamp_ns: int, now_ns: int | None) -> Bin | None:
        start = bin_start_ns(stamp_ns, self.interval_ns)
        if now_ns is not None and start + self.interval_ns + self.close_delay_ns + self.late_ns < now_ns:
            self.too_late += 1
            return None
        b = self._bins.get(start)
        if b is None:
            b = self._bins[start] = Bin(start, self.interval_ns)
        return b

    # -- publication -------------------------------------------------------------------------
    def start(self, now_ns: int) -> None:
        """Counting starts at `now_ns`: from the bin it falls in on, every interval is published,
        a quiet one too (before it, only bins that hold events: an interval while the unit was
        down is not a quiet one). Call it before `restore()`."""
        start = bin_start_ns(now_ns, self.interval_ns)
        if self._next_due is None or start < self._next_due:
            self._next_due = start

    def due(self, now_ns: int) -> list[BinSnapshot]:
        """Bins closed by `now_ns` and not yet published as they are now, oldest first; each
        returned one counts as published (its revision incremented). Bins kept past `late_s`
        are dropped."""
        if self._next_due is not None:
            # every interval since the start closes, a quiet one too
            while self._next_due + self.interval_ns + self.close_delay_ns <= now_ns:
                self._bins.setdefault(self._next_due, Bin(self._next_due, self.interval_ns))
                self._next_due += self.interval_ns
        out = []
        for start in sorted(self._bins):
            b = self._bins[start]
            closes = b.end_ns + self.close_delay_ns
            if closes > now_ns:
                break
            if b.changed:
                b.revision += 1
                if b.revision > 1:
                    self.revisions += 1
                b.changed = False
                out.append(self.snapshot(b))
        for start in [s for s, b in self._bins.items() if b.end_ns + self.close_delay_ns + self.late_ns < now_ns]:
            del self._bins[start]
        return out

    def open_bin(self, now_ns: int) -> BinSnapshot:
        """The bin `now_ns` falls in, as it stands (revision 0: not published): the running matrix."""
        start = bin_start_ns(now_ns, self.interval_ns)
        return self.snapshot(self._bins.get(start) or Bin(start, self.interval_ns))

    def flush(self) -> list[BinSnapshot]:
        """Every bin with unpublished changes, whether closed or not (end of a finite run)."""
        out = []
        for start in sorted(self._bins):
            b = self._bins[start]
            if b.changed:
                b.revision += 1
                b.changed = False
                out.append(self.snapshot(b))
        return out

    @staticmethod
    def snapshot(b: Bin) -> BinSnapshot:
        movements, incomplete, lines = b.content()
        return BinSnapshot(b.start_ns, b.end_ns, b.revision, movements, incomplete, lines)

    # -- restart -----------------------------------------------------------------------------
    def restore(
        self,
        movements: Iterable[MovementRecord],
        counts: Iterable[CountRecord],
        published: Iterable[BinSnapshot],
        now_ns: int,
    ) -> int:
        """Take back what a previous run left: its events and its published bins (the last
        revision of each counts). A published bin whose events give the same tables stays
        published; one that differs is due again with the next revision. Returns the events
        taken back."""
        n = 0
        for m in movements:
            n += self.add_movement(m, now_ns)
        for c in counts:
            n += self.add_count(c, now_ns)
        last: dict[int, BinSnapshot] = {}
        for snap in published:
            if snap.end_ns - snap.start_ns != self.interval_ns:
                continue  # another interval setting: not these bins
            if snap.start_ns not in last or snap.revision >= last[snap.start_ns].revision:
                last[snap.start_ns] = snap
        for start, snap in last.items():
            b = self._bins.get(start)
            if b is None:
                if start + self.interval_ns + self.close_delay_ns + self.late_ns < now_ns:
                    continue
                b = self._bins[start] = Bin(start, self.interval_ns)
            b.revision = snap.revision
            b.changed = b.content() != (snap.movements, snap.incomplete, snap.lines)
        if last and self._next_due is not None:
            # quiet bins the previous run published are not published again
            self._next_due = max(self._next_due, max(last) + self.interval_ns)
        return n


def snapshot_from_payload(payload: Mapping[str, Any]) -> BinSnapshot:
    """A bin payload (argos_bridge.schema.bin_payload) back into a BinSnapshot; KeyError/ValueError if malformed."""
    start = int(payload["bin_start_ns"])
    end = start + int(round(float(payload["interval_min"]) * 60e9))
    return BinSnapshot(
        start,
        end,
        int(payload["revision"]),
        {(str(r["movement"]), str(r["class_id"])): int(r["count"]) for r in payload.get("movements", [])},
        {
            (str(r["reason"]), str(r["line_id"]), str(r["class_id"])): int(r["count"])
            for r in payload.get("incomplete", [])
        },
        {
            (str(r["line_id"]), str(r["lane"]), str(r["direction"]), str(r["class_id"])): int(r["count"])
            for r in payload.get("lines", [])
        },
    )
