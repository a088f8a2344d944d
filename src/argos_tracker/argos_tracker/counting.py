"""Counting confirmed tracks that cross counting lines.

Rules, each against a way a naive "sign changed" counter miscounts:
- The anchor path must cross the drawn segment (CountingLine.crossing on consecutive anchors):
  moving parallel to a line, or past the end of a segment, never counts.
- Hysteresis: a crossing is only accepted once the anchor has settled at least
  `hysteresis_px` beyond the line on the new side, having settled on the old side before
  (at birth, the side it was born on). Box jitter around the line, or stopping on it, does not
  count until the object has really left the line; a step back over the line towards the
  settled side cancels the pending crossing.
- An anchor sampled exactly on the line (common with integer speeds) is skipped: the crossing
  is tested from the last anchor off the line, since CountingLine.crossing sees neither the
  step onto the line nor the step off it as a crossing.
- Each track counts at most once per line: its first accepted crossing. An object that turns
  back, or whose box flips over the line repeatedly, cannot inflate counts; a genuine
  back-and-forth by one object is, accepted, counted once.
- Only anchors from frames where the track was measured are used, never coasting predictions:
  after an occlusion, the step from the last seen to the first re-seen anchor decides.
- Tentative tracks are followed from birth, but their crossings are held back and only
  emitted when the track is confirmed (with the class decided by then); a track that dies
  tentative never counts.
- A confirmed track that ends with a crossing still pending (e.g. a line a few pixels from
  the frame edge, where the object leaves the image before settling beyond the hysteresis)
  counts when it is removed, provided its last anchor was on the far side.
An event carries the capture stamp and the tracker's frame number of the frame whose anchor step
crossed the line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from argos_common.counts import CountRecord
from argos_common.lines import DIRECTION_IN, CountingLine, Crossing

from .tracker import TENTATIVE, Track


def signed_distance(line: CountingLine, p) -> float:
    """Distance from p to the polyline, signed by the side of the nearest segment
    (positive: right-hand side walking the line from first to last point)."""
    return _Segments(line).signed_distance(float(p[0]), float(p[1]))


class _Segments:
    """A polyline's segments as plain floats: this runs per track, line and frame, and numpy's
    per-call overhead dominates on two-point arrays."""

    def __init__(self, line: CountingLine):
        self.segments = [
            (float(a[0]), float(a[1]), float(b[0] - a[0]), float(b[1] - a[1]))
            for a, b in zip(line.points[:-1], line.points[1:])
        ]

    def signed_distance(self, px: float, py: float) -> float:
        best, signed = math.inf, 0.0
        for ax, ay, ex, ey in self.segments:
            rx, ry = px - ax, py - ay
            t = min(max((rx * ex + ry * ey) / (ex * ex + ey * ey), 0.0), 1.0)
            dist = math.hypot(rx - t * ex, ry - t * ey)
            if dist < best:
                side = ex * ry - ey * rx  # same sign convention as CountingLine.side
                best, signed = dist, (math.copysign(dist, side) if side else 0.0)
        return signed


@dataclass
class _Pending:
    crossing: Crossing
    stamp_ns: int
    tracker_frame: int

    def lands_on(self, side: float) -> bool:
        # "in" goes from the positive (right-hand) side to the negative side
        return (self.crossing.direction == DIRECTION_IN) == (side < 0)


@dataclass
class _LineState:
    origin: tuple[float, float]  # last anchor off the line: where the next step starts
    side: float = 0.0  # side the anchor last settled on (0: not yet known)
    pending: _Pending | None = None  # crossed the segment, not yet settled beyond it
    counted: bool = False


@dataclass
class _TrackState:
    birth_ns: int
    anchor: tuple[float, float]
    lines: dict[str, _LineState]
    last: Track  # latest snapshot (label, speed at flush)
    held: list[_Pending] = field(default_factory=list)  # accepted, not yet emitted (still tentative)
    confirmed: bool = False


class LineCounter:
    def __init__(self, lines: Iterable[CountingLine], anchor: str = "bottom_center", hysteresis_px: float = 5.0):
        self.lines = list(lines)
        self.anchor = anchor
        self.hysteresis_px = float(hysteresis_px)
        self._segments = {line.id: _Segments(line) for line in self.lines}
        self._tracks: dict[int, _TrackState] = {}

    def update(self, tracks: Iterable[Track], stamp_ns: int, tracker_frame: int) -> list[CountRecord]:
        """Feed every live track of one frame (as Tracker.update returns them); returns the
        crossings counted in this call. Tracks missing from `tracks` are taken as removed."""
        events: list[CountRecord] = []
        seen = set()
        for track in tracks:
            seen.add(track.id)
            state = self._tracks.get(track.id)
            if state is None or state.birth_ns != track.birth_ns:  # new track, or a reused id
                if state is not None:
                    events += self._flush(self._tracks.pop(track.id))
                if track.misses:
                    continue  # first seen coasting: no measured anchor to start from
                state = self._start(track)
                self._tracks[track.id] = state
            elif track.misses == 0:
                self._advance(state, track, stamp_ns, tracker_frame)
            state.last = track
            if track.state != TENTATIVE:
                state.confirmed = True
                events += [self._record(p, track) for p in state.held]
                state.held.clear()
        for track_id in [t for t in self._tracks if t not in seen]:
            events += self._flush(self._tracks.pop(track_id))
        return events

    # -- internals ---------------------------------------------------------------------------
    def _start(self, track: Track) -> _TrackState:
        p = track.anchor(self.anchor)
        lines = {}
        for line in self.lines:
            d = self._distance(line, p)
            # Born within the hysteresis band: the birth side is the best evidence of where it came from.
            lines[line.id] = _LineState(p, side=math.copysign(1.0, d) if d else 0.0)
        return _TrackState(track.birth_ns, p, lines, track)

    def _advance(self, state: _TrackState, track: Track, stamp_ns: int, tracker_frame: int) -> None:
        q = track.anchor(self.anchor)
        state.anchor = q
        for line in self.lines:
            ls = state.lines[line.id]
            if ls.counted:
                continue
            d = self._distance(line, q)
            if d == 0.0:
                # Exactly on the line: CountingLine.crossing sees neither the step onto the line
                # nor the step off it as a crossing, so the step is taken from the last point off it.
                continue
            crossing = line.crossing(ls.origin, q)
            ls.origin = q
            if crossing is not None:
                pending = _Pending(crossing, stamp_ns, tracker_frame)
                # a step back towards the settled side undoes the crossing in progress
                ls.pending = None if ls.side and pending.lands_on(ls.side) else pending
            if abs(d) < self.hysteresis_px:
                continue
            side = math.copysign(1.0, d)
            if ls.side == 0.0 or side == ls.side:
                # settled where it was: a crossing in between was jitter (or it went around)
                ls.side, ls.pending = side, None
                continue
            accepted = ls.pending if ls.pending is not None and ls.pending.lands_on(side) else None
            ls.side, ls.pending = side, None
            if accepted is not None:
                ls.counted = True
                state.held.append(accepted)  # emitted by update() once the track is confirmed

    def _flush(self, state: _TrackState) -> list[CountRecord]:
        """The track is gone: count crossings still pending if it had been confirmed."""
        if not state.confirmed:
            return []
        out = []
        for line in self.lines:
            ls = state.lines[line.id]
            if ls.counted or ls.pending is None:
                continue
            d = self._distance(line, state.anchor)
            if d and ls.pending.lands_on(d):
                ls.counted = True
                out.append(self._record(ls.pending, state.last))
        return out

    def _distance(self, line: CountingLine, p) -> float:
        return self._segments[line.id].signed_distance(p[0], p[1])

    @staticmethod
    def _record(pending: _Pending, track: Track) -> CountRecord:
        c = pending.crossing
        return CountRecord(
            c.line_id,
            c.lane,
            track.label,
            c.direction,
            str(track.id),
            pending.stamp_ns,
            pending.tracker_frame,
            track.speed_px_s,
        )
