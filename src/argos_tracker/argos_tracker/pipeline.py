"""The tracking pipeline of one camera, ROS-free: tracker, line counting, zone counting, ground
speed and running totals, wired once.

The tracker node, `argos replay` and `argos eval` all run this class with the tracker's
parameters (defaults from `params.PARAMS`, the same rules as config/edge.yaml), so a count
reproduced offline is the count the node made. Feed one frame of detections per `update()` in
capture order; `finish()` settles what live tracks still hold at the end of a stream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from argos_common.counts import CountRecord, CountTotals
from argos_common.detections import Detections
from argos_common.lines import needs_source_size, parse_lines
from argos_common.movements import MovementRecord
from argos_common.params import ConfigError, expand_specs, resolve

from .counting import LineCounter
from .ground_plane import GroundPlane
from .movements import MovementCounter, approach_lines, movement_table
from .params import PARAMS, validate
from .tracker import CONFIRMED, Track, Tracker
from .zones import ZoneCounter, parse_zones


class TrackerLike(Protocol):
    """What the pipeline needs of a tracker (ours, or a peer under evaluation)."""

    def update(self, dets: Detections, stamp_ns: int) -> list[Track]: ...

    def confirmed_detections(self) -> Detections: ...


@dataclass(frozen=True)
class FrameResult:
    tracks: list[Track]  # every live track (tentative, confirmed, lost)
    confirmed: Detections  # confirmed tracks measured in this frame, ids = track ids: the `tracks` topic
    counts: list[CountRecord]  # crossings and zone events counted in this frame
    movements: list[MovementRecord] = field(default_factory=list)  # movements (and incomplete ones) ended now


def resolve_tracker_params(overrides: Mapping[str, object] | None = None) -> dict:
    """The tracker's parameters: defaults overlaid with `overrides`, every value and every rule
    across values checked (ConfigError naming the key)."""
    values = resolve(PARAMS, dict(overrides or {}))
    validate(values)
    return values


def _is_counting_key(name: str) -> bool:
    return name.startswith(("lines.", "zones.", "geometry.")) or name == "count_hysteresis_px"


class TrackingPipeline:
    def __init__(
        self,
        params: Mapping[str, object] | None = None,
        *,
        tracker: TrackerLike | None = None,
        source_size: tuple[int, int] | None = None,
    ):
        """`params`: tracker parameters (missing ones take their defaults; ConfigError names a bad key).
        `tracker`: another tracker to run in our place (evaluation peers); default ours.
        `source_size`: (width, height) of the frames, when known; lines and zones drawn for a given
        image size (geometry.image_size) or normalized count only once it is (`set_source_size`)."""
        p = resolve_tracker_params(params)
        self.params = p
        self.lines = parse_lines(p)  # checked now; scaled to the source when its size is known
        self.zones = parse_zones(p)
        self.tracker: TrackerLike = tracker if tracker is not None else Tracker(p)
        self.source_size: tuple[int, int] | None = None
        self.frames_without_geometry = 0  # frames tracked before the source size placed the lines
        self._lines = LineCounter([], p["anchor"], p["count_hysteresis_px"])
        self._zones = ZoneCounter([], p["anchor"], p["count_hysteresis_px"])
        self._geometry_ready = False
        if source_size is not None:
            self.set_source_size(source_size)
        elif not needs_source_size(p):
            self._place_geometry(None)
        self._anchor = p["anchor"]
        self._meters_per_pixel = p["meters_per_pixel"]
        self._ground = GroundPlane(p["ground_homography"]) if p["ground_homography"] else None
        self.totals = CountTotals()
        self.epoch = 0  # +1 per change of the counting geometry while running (retune)
        self._last_tracks: list[Track] = []
        self._last_stamp_ns = 0
        self.movements = MovementCounter(
            approach_lines(p),
            movement_table(p),
            anchor=p["anchor"],
            link_s=p["movements.link_s"],
            link_max_px=p["movements.link_max_px"],
        )
        self.frames = 0
        self.live_tracks = 0
        self.confirmed_tracks = 0

    def set_source_size(self, size: tuple[int, int]) -> bool:
        """The frames are `size` (width, height): place lines and zones in its pixels. True when
        this changed them (a first size, or a resolution change: counters restart). Raises
        ConfigError naming the parameter when the geometry does not fit the source."""
        size = (int(size[0]), int(size[1]))
        if size == self.source_size:
            return False
        self.source_size = size
        if not needs_source_size(self.params) and self._geometry_ready:
            # source pixels as configured: only checked against the frame
            parse_lines(self.params, size)
            parse_zones(self.params, size)
            return False
        self._place_geometry(size)
        return True

    def _place_geometry(self, size: tuple[int, int] | None) -> None:
        p = self.params
        self.lines = parse_lines(p, size)
        self.zones = parse_zones(p, size)
        self._lines = LineCounter(self.lines, p["anchor"], p["count_hysteresis_px"])
        self._zones = ZoneCounter(self.zones, p["anchor"], p["count_hysteresis_px"])
        self._geometry_ready = True

    def retune(self, params: Mapping[str, object]) -> bool:
        """Take changed parameters while running (the node's live parameters): thresholds, gates
        and coasting go to the tracker; a change of lines, zones, geometry.* or the hysteresis
        starts a new counting epoch: new counters with the new geometry, seeded with where the
        live tracks are now, so a crossing between this frame and the next counts on the new
        geometry; crossings pending on the old one are dropped with it. True when it started an
        epoch. Raises ConfigError (nothing changed) for a bad value, a geometry that does not fit
        the source, or a change of a read-only parameter."""
        p = resolve_tracker_params(params)
        for spec in expand_specs(PARAMS, p):
            if spec.read_only and p[spec.name] != self.params.get(spec.name, spec.default):
                raise ConfigError(spec.name, "read-only: it takes effect at the next start")
        counting = {k for k in set(p) | set(self.params) if _is_counting_key(k)}
        new_geometry = any(p.get(k) != self.params.get(k) for k in counting)
        if new_geometry:
            size = self.source_size
            placed = size is not None or not needs_source_size(p)
            # built (and so checked against the source) before anything changes
            lines, zones = parse_lines(p, size), parse_zones(p, size)
            line_counter = LineCounter(lines if placed else [], p["anchor"], p["count_hysteresis_px"])
            zone_counter = ZoneCounter(zones if placed else [], p["anchor"], p["count_hysteresis_px"])
        if hasattr(self.tracker, "retune"):
            self.tracker.retune(p)
        self.params = p
        if not new_geometry:
            return False
        self.lines, self.zones = lines, zones
        self._lines, self._zones, self._geometry_ready = line_counter, zone_counter, placed
        # where each live track is now: the next frame's step is tested against the new geometry
        self._lines.update(self._last_tracks, self._last_stamp_ns, self.frames)
        self._zones.update(self._last_tracks, self._last_stamp_ns, self.frames)
        self.epoch += 1
        return True

    def update(self, dets: Detections, stamp_ns: int) -> FrameResult:
        self.frames += 1
        if not self._geometry_ready:
            self.frames_without_geometry += 1
        tracks = self.tracker.update(dets, stamp_ns)
        counts = self._count(tracks, stamp_ns)
        self._last_tracks, self._last_stamp_ns = tracks, stamp_ns
        movements = self.movements.update(tracks, counts, stamp_ns)
        self.live_tracks = len(tracks)
        self.confirmed_tracks = sum(1 for t in tracks if t.state == CONFIRMED)
        return FrameResult(tracks, self.tracker.confirmed_detections(), counts, movements)

    def finish(self, stamp_ns: int) -> list[CountRecord]:
        """End of the stream: every track counts as removed, so crossings still pending settle."""
        return self.finish_frame(stamp_ns).counts

    def finish_frame(self, stamp_ns: int) -> FrameResult:
        """`finish()` with the movements it settles too: tracks still inside end as `vanished`."""
        counts = self._count([], stamp_ns)
        movements = self.movements.update([], counts, stamp_ns) + self.movements.finish(stamp_ns)
        return FrameResult([], Detections.empty(), counts, movements)

    def occupancy(self) -> dict[str, int]:
        return self._zones.occupancy()

    def _count(self, tracks: list[Track], stamp_ns: int) -> list[CountRecord]:
        records = self._lines.update(tracks, stamp_ns, self.frames) + self._zones.update(tracks, stamp_ns, self.frames)
        if records:
            by_id = {str(t.id): t for t in tracks}
            records = [
                replace(r, speed_m_s=self._speed_m_s(by_id.get(r.track_id), r), epoch=self.epoch) for r in records
            ]
            for record in records:
                self.totals.add(record)
        return records

    def _speed_m_s(self, track: Track | None, record: CountRecord) -> float:
        if self._ground is not None and track is not None:
            return self._ground.speed_m_s(track.anchor(self._anchor), track.velocity)
        # no ground plane, or the track is gone (counted at removal): its last pixel speed is all there is
        return record.speed_px_s * self._meters_per_pixel if self._meters_per_pixel > 0 else math.nan
