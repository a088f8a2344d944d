"""Run statistics for `argos run`: what the graph counted vs the ground truth, frame rate.

Fed from the topics (counts, camera/ground_truth/counts, movements,
camera/ground_truth/movements, detections) by monitor_node, so the summary reports what the
graph actually published, not what a core believes it did.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from argos_common.counts import CountRecord, CountTotals
from argos_common.movements import MovementRecord, by_movement, movement_name
from argos_common.stats import SampleWindow

_RECENT_FRAMES = 1024  # arrival times kept: over a minute at 15 FPS, more than any rate window asks for


def count_errors(measured: CountTotals, truth: CountTotals) -> dict[str, object]:
    """Absolute per-cell error over (class, direction) and over (line, direction)."""

    def cells(table: dict[str, dict[str, int]]) -> Counter:
        return Counter({(k, d): n for k, row in table.items() for d, n in row.items()})

    per_class = cells(measured.by_class_direction())
    per_class_truth = cells(truth.by_class_direction())
    per_line = cells(measured.by_line_direction())
    per_line_truth = cells(truth.by_line_direction())
    class_err = sum(abs(per_class[k] - per_class_truth[k]) for k in set(per_class) | set(per_class_truth))
    line_err = sum(abs(per_line[k] - per_line_truth[k]) for k in set(per_line) | set(per_line_truth))
    truth_total = truth.total
    return {
        "total_measured": measured.total,
        "total_truth": truth_total,
        "abs_error_by_class_direction": class_err,
        "abs_error_by_line_direction": line_err,
        "relative_error_by_class_direction": round(class_err / truth_total, 4) if truth_total else None,
    }


class MovementTally:
    """Movement records reduced to what movement_comparison reads, and counted: a unit that runs
    for weeks keeps one entry per distinct (movement, class, lines, reason), not every record
    (the records themselves made `argos run --duration 0` grow ~1.5 MB an hour)."""

    def __init__(self, records: Iterable[MovementRecord] = ()):
        self.counts: Counter[tuple[bool, str, str, str, str, str]] = Counter()
        for record in records:
            self.add(record)

    def add(self, m: MovementRecord) -> None:
        self.counts[m.complete, m.movement, m.class_id, m.from_line, m.to_line, m.reason] += 1

    def copy(self) -> MovementTally:
        out = MovementTally()
        out.counts = Counter(self.counts)
        return out


def movement_comparison(
    ours: Iterable[MovementRecord] | MovementTally,
    truth: Iterable[MovementRecord] | MovementTally,
    table: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """The movement matrix of the graph next to the ground truth's: one row per movement with its
    approach lines, the counts per class on each side and whether every class cell matches.
    Only complete movements are compared: the truth knows no incomplete ones (a vehicle already
    inside at the first frame, or still inside at the end, is in neither matrix), ours are
    listed by reason. Truth movements are named with the tracker's `table`, as the tracker names
    its own."""
    ours = ours if isinstance(ours, MovementTally) else MovementTally(ours)
    truth = truth if isinstance(truth, MovementTally) else MovementTally(truth)
    ours_cells: Counter = Counter()
    truth_cells: Counter = Counter()
    lines: dict[str, tuple[str, str]] = {}
    incomplete: Counter = Counter()
    for (complete, movement, class_id, from_line, to_line, reason), n in ours.counts.items():
        if complete:
            ours_cells[movement, class_id] += n
            lines.setdefault(movement, (from_line, to_line))
        else:
            incomplete[reason] += n
    for (_, _, class_id, from_line, to_line, _), n in truth.counts.items():
        name = movement_name(from_line, to_line, table)
        truth_cells[name, class_id] += n
        lines.setdefault(name, (from_line, to_line))
    om, tm = by_movement(ours_cells), by_movement(truth_cells)
    rows = []
    for name in sorted(set(om) | set(tm)):
        o, t = om.get(name, {}), tm.get(name, {})
        rows.append(
            {
                "movement": name,
                "from_line": lines[name][0],
                "to_line": lines[name][1],
                "by_class": o,
                "truth_by_class": t,
                "total": sum(o.values()),
                "truth_total": sum(t.values()),
                "match": o == t,
            }
        )
    cells = set(ours_cells) | set(truth_cells)
    return {
        "matrix": rows,
        "total": sum(ours_cells.values()),
        "truth_total": sum(truth_cells.values()),
        "cells": len(cells),
        "cells_matching": sum(1 for k in cells if ours_cells[k] == truth_cells[k]),
        "abs_error_by_movement_class": sum(abs(ours_cells[k] - truth_cells[k]) for k in cells),
        "all_match": all(r["match"] for r in rows),
        "incomplete": dict(sorted(incomplete.items())),
        "compared": "complete movements; class cells (movement, class)",
    }


class RunMonitor:
    """Thread-safe accumulator; callbacks may arrive from several executor threads."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.started = clock()
        self.counts = CountTotals()
        self.truth = CountTotals()
        self.movements = MovementTally()
        self.truth_movements = MovementTally()
        self.detection_frames = 0
        self.track_frames = 0
        self._first_frame: float | None = None
        self._recent = SampleWindow(_RECENT_FRAMES)  # arrival times for the windowed rate

    def on_count(self, record: CountRecord) -> None:
        with self._lock:
            self.counts.add(record)

    def on_truth_count(self, record: CountRecord) -> None:
        with self._lock:
            self.truth.add(record)

    def on_movement(self, record: MovementRecord) -> None:
        with self._lock:
            self.movements.add(record)

    def on_truth_movement(self, record: MovementRecord) -> None:
        with self._lock:
            self.truth_movements.add(record)

    def movement_comparison(self, table: Mapping[tuple[str, str], str] | None = None) -> dict[str, Any]:
        with self._lock:
            ours, truth = self.movements.copy(), self.truth_movements.copy()
        return movement_comparison(ours, truth, table)

    def on_detections(self) -> None:
        with self._lock:
            now = self._clock()
            self.detection_frames += 1
            self._recent.append(now)
            if self._first_frame is None:
                self._first_frame = now

    def on_tracks(self) -> None:
        with self._lock:
            self.track_frames += 1

    def fps(self, window_s: float | None = None) -> float:
        """Processed frames per second, over the whole run or the last `window_s` seconds."""
        with self._lock:
            frames, first, times = self.detection_frames, self._first_frame, self._recent.values()
        if frames < 2 or first is None:
            return 0.0
        if window_s is None:
            return (frames - 1) / (times[-1] - first) if times[-1] > first else 0.0
        times = times[times >= times[-1] - window_s]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "counts": self.counts.by_class_direction(),
                "ground_truth": self.truth.by_class_direction(),
                "counted": self.counts.total,
                "truth": self.truth.total,
                "detection_frames": self.detection_frames,
                "track_frames": self.track_frames,
            }
