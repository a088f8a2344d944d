"""Counting zones: polygons that confirmed tracks enter and leave, and how many are inside.

A zone event is a CountRecord with line_id = the zone's name, lane "" and direction "in"
(entered) or "out" (left), so it travels on the same `counts` topic, Redis stream and MQTT
payload as a line crossing. The rules mirror the line counter's:
- Only measured anchors decide (never coasting predictions), and only confirmed tracks emit;
  events of a track still tentative are held and emitted when it is confirmed, dropped if it dies.
- Hysteresis: the anchor must be `hysteresis_px` inside the polygon (or outside it) before it
  counts as being there; box jitter on the border never toggles it.
- A track is first placed where it settles; one born inside never "entered". Each track emits
  at most one "in" and one "out" per zone, so a vehicle waiting on the border cannot inflate them.
Occupancy: confirmed or coasting tracks whose last settled place is inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from argos_common.counts import CountRecord
from argos_common.lines import DIRECTION_IN, DIRECTION_OUT, scale_points
from argos_common.params import ConfigError

from .tracker import TENTATIVE, Track

_UNKNOWN, _OUTSIDE, _INSIDE = 0, -1, 1


@dataclass(frozen=True)
class Zone:
    id: str
    points: np.ndarray  # (K, 2) float32, K >= 3

    def signed_distance(self, p) -> float:
        """Distance to the border, positive inside."""
        return float(cv2.pointPolygonTest(self.points, (float(p[0]), float(p[1])), True))


def parse_zones(params: Mapping[str, Any], source_size: tuple[int, int] | None = None) -> list[Zone]:
    """Zones in the pixels of a `source_size` (width, height) source (None: as configured), scaled
    by the same geometry rules as the counting lines."""
    zones = []
    for name in params.get("zones.names", []) or []:
        key = f"zones.{name}.points"
        pts = list(params.get(key, []) or [])
        if len(pts) < 6 or len(pts) % 2:
            raise ConfigError(key, f"needs an even number (>= 6) of coordinates; got {len(pts)}")
        points = scale_points(params, key, np.asarray(pts, dtype=np.float64).reshape(-1, 2), source_size)
        zones.append(Zone(name, points.astype(np.float32)))
    return zones


@dataclass
class _TrackZones:
    birth_ns: int
    place: dict[str, int]
    emitted: set = field(default_factory=set)  # (zone id, direction)
    held: list[CountRecord] = field(default_factory=list)
    confirmed: bool = False


class ZoneCounter:
    def __init__(self, zones: Iterable[Zone], anchor: str = "bottom_center", hysteresis_px: float = 5.0):
        self.zones = list(zones)
        self.anchor = anchor
        self.hysteresis_px = float(hysteresis_px)
        self._tracks: dict[int, _TrackZones] = {}
        self._occupancy: dict[str, int] = {z.id: 0 for z in self.zones}

    def update(self, tracks: Iterable[Track], stamp_ns: int, tracker_frame: int) -> list[CountRecord]:
        if not self.zones:
            return []
        events: list[CountRecord] = []
        seen = set()
        occupancy = {z.id: 0 for z in self.zones}
        for track in tracks:
            seen.add(track.id)
            state = self._tracks.get(track.id)
            if state is None or state.birth_ns != track.birth_ns:
                state = self._tracks[track.id] = _TrackZones(track.birth_ns, {z.id: _UNKNOWN for z in self.zones})
            if track.misses == 0:
                self._advance(state, track, stamp_ns, tracker_frame)
            if track.state != TENTATIVE:
                state.confirmed = True
                # the class is the vote at confirmation, as for line counts
                events += [replace(r, class_id=track.label) for r in state.held]
                state.held.clear()
                for zone_id, place in state.place.items():
                    occupancy[zone_id] += place == _INSIDE
        for gone in [t for t in self._tracks if t not in seen]:
            del self._tracks[gone]
        self._occupancy = occupancy
        return events

    def occupancy(self) -> dict[str, int]:
        """Confirmed (or coasting) tracks inside each zone after the last update."""
        return dict(self._occupancy)

    def _advance(self, state: _TrackZones, track: Track, stamp_ns: int, tracker_frame: int) -> None:
        p = track.anchor(self.anchor)
        for zone in self.zones:
            d = zone.signed_distance(p)
            if abs(d) < self.hysteresis_px:
                continue
            place = _INSIDE if d > 0 else _OUTSIDE
            before = state.place[zone.id]
            state.place[zone.id] = place
            if before == _UNKNOWN or before == place:
                continue
            direction = DIRECTION_IN if place == _INSIDE else DIRECTION_OUT
            if (zone.id, direction) in state.emitted:
                continue
            state.emitted.add((zone.id, direction))
            record = CountRecord(
                zone.id, "", track.label, direction, str(track.id), stamp_ns, tracker_frame, track.speed_px_s
            )
            state.held.append(record)
