"""Per-interval aggregates of a camera's stream entries, decided by the stream alone (no clock).

Entries are bucketed by their capture stamp into intervals [k*I, (k+1)*I). The watermark W is the
largest stamp seen so far; an interval is closed once W passes its end by the grace period G
(I + G after its start), and only then becomes points. An entry whose own interval is already
closed ("late", e.g. a count confirmed long after its frame, or entries written after a Redis
outage) is counted in the earliest interval still open, and counted in `late`.

Because W, the bucket of every entry and the content of every closed interval depend only on
the entries in stream order (and W as it was when the previous interval closed, which the
collector stores with its acknowledgements), replaying any suffix of the stream after a crash
produces byte-identical points: InfluxDB overwrites them instead of adding duplicates.

Points (timestamp = interval start, ns; tags site, device, camera and):
    argos_counts     line, lane (omitted when empty), class, direction
                     count (int), speed_px_s_mean, speed_m_s_mean (float, absent when unknown)
    argos_occupancy  class: objects_mean (float, tracked objects of the class per frame),
                     objects_max (int), frames (int, frames in the interval)
    argos_interval   frames (int), counts (int), late (int): one per interval, also a quiet one

From the bridge's bin entries (schema_version 2), with the bin's own start as timestamp, so a
later revision of a bin overwrites the points of the earlier one:
    argos_movement_bins  movement, class, interval_min: count (int), revision (int)
    argos_incomplete_bins reason, line, class, interval_min: count (int), revision (int)
    argos_line_bins      line, lane, direction, class, interval_min: count (int), revision (int)
    (a bin row that a revision no longer has keeps its old point: revisions only add events)
Movement entries are accepted and not aggregated here (the bins carry their counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .line_protocol import Point

COUNTS = "argos_counts"
OCCUPANCY = "argos_occupancy"
INTERVAL = "argos_interval"
MOVEMENT_BINS = "argos_movement_bins"
INCOMPLETE_BINS = "argos_incomplete_bins"
LINE_BINS = "argos_line_bins"


class MalformedEntry(ValueError):
    pass


@dataclass
class _CountCell:
    count: int = 0
    px_sum: float = 0.0
    px_n: int = 0
    m_sum: float = 0.0
    m_n: int = 0

    def add(self, speed_px_s, speed_m_s) -> None:
        self.count += 1
        if isinstance(speed_px_s, (int, float)):
            self.px_sum += float(speed_px_s)
            self.px_n += 1
        if isinstance(speed_m_s, (int, float)):
            self.m_sum += float(speed_m_s)
            self.m_n += 1


@dataclass
class Bucket:
    start_ns: int
    identity: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)  # (line, lane, class, direction) -> _CountCell
    objects: dict = field(default_factory=dict)  # class -> [sum over frames, max in a frame]
    frames: int = 0
    late: int = 0
    entry_ids: list = field(default_factory=list)  # stream ids to acknowledge once written
    bins: list = field(default_factory=list)  # bin payloads that arrived in this interval

    def points(self) -> list[Point]:
        base = dict(self.identity)
        out = []
        for (line, lane, cls, direction), cell in sorted(self.counts.items()):
            out.append(
                Point(
                    COUNTS,
                    {**base, "line": line, "lane": lane, "class": cls, "direction": direction},
                    {
                        "count": cell.count,
                        "speed_px_s_mean": cell.px_sum / cell.px_n if cell.px_n else None,
                        "speed_m_s_mean": cell.m_sum / cell.m_n if cell.m_n else None,
                    },
                    self.start_ns,
                )
            )
        if self.frames:
            for cls, (total, peak) in sorted(self.objects.items()):
                out.append(
                    Point(
                        OCCUPANCY,
                        {**base, "class": cls},
                        {"objects_mean": total / self.frames, "objects_max": peak, "frames": self.frames},
                        self.start_ns,
                    )
                )
        for b in self.bins:
            out += _bin_points(base, b)
        out.append(
            Point(
                INTERVAL,
                base,
                {"frames": self.frames, "counts": sum(c.count for c in self.counts.values()), "late": self.late},
                self.start_ns,
            )
        )
        return out


def _bin_points(base: dict, payload: dict) -> list[Point]:
    at = int(payload["bin_start_ns"])
    common = {**base, "interval_min": str(payload["interval_min"])}
    fields = lambda row: {"count": int(row["count"]), "revision": int(payload["revision"])}  # noqa: E731
    out = [
        Point(MOVEMENT_BINS, {**common, "movement": r["movement"], "class": r["class_id"]}, fields(r), at)
        for r in payload.get("movements", [])
    ]
    out += [
        Point(
            INCOMPLETE_BINS,
            {**common, "reason": r["reason"], "line": r["line_id"], "class": r["class_id"]},
            fields(r),
            at,
        )
        for r in payload.get("incomplete", [])
    ]
    out += [
        Point(
            LINE_BINS,
            {**common, "line": r["line_id"], "lane": r["lane"], "direction": r["direction"], "class": r["class_id"]},
            fields(r),
            at,
        )
        for r in payload.get("lines", [])
    ]
    return out


def parse_entry(fields: dict) -> tuple[str, int, dict]:
    """(type, stamp_ns, payload) of a stream entry; MalformedEntry with the reason otherwise."""

    def text(key):
        value = fields.get(key, fields.get(key.encode()))
        return value.decode() if isinstance(value, bytes) else value

    kind, raw, stamp = text("type"), text("payload"), text("stamp_ns")
    if kind not in ("tracks", "count", "totals", "movement", "bin"):
        raise MalformedEntry(f"unknown entry type {kind!r}")
    try:
        payload = json.loads(raw)
        stamp_ns = int(stamp)
    except (TypeError, ValueError) as exc:
        raise MalformedEntry(f"unreadable {kind} entry: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedEntry(f"{kind} payload is not a JSON object")
    if kind == "count":
        missing = [k for k in ("line_id", "class_id", "direction") if not isinstance(payload.get(k), str)]
        if missing:
            raise MalformedEntry(f"count payload lacks {', '.join(missing)}")
    if kind == "bin":
        try:
            int(payload["bin_start_ns"]), int(payload["revision"]), int(payload["interval_min"])
            for r in payload.get("movements", []) + payload.get("incomplete", []) + payload.get("lines", []):
                int(r["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedEntry(f"bin payload lacks or mangles {exc}") from None
    if kind == "tracks" and not isinstance(payload.get("inference_results"), list):
        raise MalformedEntry("tracks payload lacks the inference_results list")
    return kind, stamp_ns, payload


class IntervalAggregator:
    def __init__(self, interval_s: float, grace_s: float, watermark_ns: int = 0):
        if interval_s <= 0 or grace_s < 0:
            raise ValueError("interval must be > 0 and grace >= 0")
        self.interval_ns = int(round(interval_s * 1e9))
        self.grace_ns = int(round(grace_s * 1e9))
        self.watermark_ns = int(watermark_ns)
        self.open: dict[int, Bucket] = {}
        self.late = 0

    def _start_of(self, stamp_ns: int) -> int:
        return stamp_ns - stamp_ns % self.interval_ns

    def _first_open_start(self) -> int:
        return self._start_of(max(0, self.watermark_ns - self.grace_ns))

    def _closed(self, start_ns: int) -> bool:
        return start_ns + self.interval_ns <= self.watermark_ns - self.grace_ns

    def add(self, entry_id: str, kind: str, stamp_ns: int, payload: dict) -> list[Bucket]:
        """Account one parsed entry; returns the intervals this closed, oldest first."""
        start = self._start_of(stamp_ns)
        late = self.watermark_ns > 0 and self._closed(start)
        if late:
            start = self._first_open_start()
        bucket = self.open.get(start)
        if bucket is None:
            bucket = self.open[start] = Bucket(
                start,
                {
                    "site": str(payload.get("site", "")),
                    "device": str(payload.get("device", "")),
                    "camera": str(payload.get("camera", "")),
                },
            )
        bucket.entry_ids.append(entry_id)
        if kind == "count":
            key = (
                str(payload.get("line_id", "")),
                str(payload.get("lane", "") or ""),
                str(payload.get("class_id", "")),
                str(payload.get("direction", "")),
            )
            bucket.counts.setdefault(key, _CountCell()).add(payload.get("speed_px_s"), payload.get("speed_m_s"))
        elif kind == "tracks":
            bucket.frames += 1
            per_class: dict[str, int] = {}
            for obj in payload.get("inference_results", []) or []:
                label = str(obj.get("label", "")) if isinstance(obj, dict) else ""
                per_class[label] = per_class.get(label, 0) + 1
            for cls, n in per_class.items():
                cell = bucket.objects.setdefault(cls, [0, 0])
                cell[0] += n
                cell[1] = max(cell[1], n)
        elif kind == "bin":
            bucket.bins.append(payload)
        if late:
            bucket.late += 1
            self.late += 1
        self.watermark_ns = max(self.watermark_ns, stamp_ns)
        return self._pop_closed()

    def _pop_closed(self) -> list[Bucket]:
        done = [self.open.pop(start) for start in sorted(self.open) if self._closed(start)]
        return done

    def pending_ids(self) -> list[str]:
        return [i for b in self.open.values() for i in b.entry_ids]

    def flush_all(self) -> list[Bucket]:
        """Every open interval, incomplete ones included (for a final run over a finished stream)."""
        done = [self.open.pop(start) for start in sorted(self.open)]
        return done
