"""Turning movements from the line crossings of tracks (ROS-free).

The approach lines (`movements.lines`) are counting lines whose `in` direction enters the
intersection (as the lines of config/edge.yaml are drawn). A track's first `in` crossing of an
approach line is its entry; its next `out` crossing of an approach line is its exit, and the
pair is one movement (argos_common.movements). Every other outcome is reported, never dropped:
an exit through the entry line is a U-turn, a track that entered and ended inside is
`vanished`, an exit without entry is `no_entry`.

Lost and re-found inside the box: the tracker's own recovery (coasting, the gated lane-aware
recovery stage) keeps most vehicles on one id through an occlusion. When it does not, the
vehicle's first track ends with an entry and no exit, and a second track, born inside the box,
leaves without entry. Such an exit is linked to the entered track that was last seen nearest
to where the new one was born (within `movements.link_max_px` and `movements.link_s`, the
entered track seen last before the new one was born); the pair gives one movement (with
`linked_track_id`) instead of a `vanished` plus a `no_entry`. A track that ends with an entry is
therefore held `movements.link_s` before it is reported `vanished`. `linked` counts how often
this happens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_common.counts import CountRecord
from argos_common.lines import DIRECTION_IN, DIRECTION_OUT
from argos_common.movements import (
    COMPLETE,
    INCOMPLETE,
    NO_ENTRY,
    U_TURN,
    VANISHED,
    MovementRecord,
    movement_name,
)
from argos_common.params import ConfigError

from .tracker import Track


@dataclass
class _Open:
    """A track seen by the movement counter."""

    track_id: str
    birth_ns: int
    first_anchor: tuple[float, float]
    last_anchor: tuple[float, float]
    last_seen_ns: int
    label: str
    entry: CountRecord | None = None
    done: bool = False  # its movement (or incomplete) was reported


def movement_table(params: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(from_line, to_line) -> label from `movements.names` / `movements.<label>.from|to`;
    ConfigError naming the key when a label names an unknown approach line or a pair twice."""
    approaches = approach_lines(params)
    table: dict[tuple[str, str], str] = {}
    for label in list(params.get("movements.names", []) or []):
        pair = []
        for end in ("from", "to"):
            key = f"movements.{label}.{end}"
            line = str(params.get(key, "") or "")
            if line not in approaches:
                raise ConfigError(key, f"{line!r} is not one of movements.lines ({', '.join(approaches) or 'none'})")
            pair.append(line)
        if tuple(pair) in table:
            raise ConfigError(
                f"movements.{label}.to", f"{pair[0]}->{pair[1]} is already labelled {table[pair[0], pair[1]]!r}"
            )
        table[pair[0], pair[1]] = str(label)
    return table


def approach_lines(params: Mapping[str, Any]) -> list[str]:
    names = list(params.get("movements.lines", []) or [])
    lines = set(params.get("lines.names", []) or [])
    for name in names:
        if name not in lines:
            raise ConfigError("movements.lines", f"{name!r} is not a counting line (lines.names)")
    return names


class MovementCounter:
    def __init__(
        self,
        approaches: Sequence[str],
        table: Mapping[tuple[str, str], str] | None = None,
        *,
        anchor: str = "bottom_center",
        link_s: float = 15.0,
        link_max_px: float = 150.0,
    ):
        self.approaches = frozenset(approaches)
        self.table = dict(table or {})
        self.anchor = anchor
        self.link_ns = int(round(link_s * 1e9))
        self.link_max_px = float(link_max_px)
        self._tracks: dict[str, _Open] = {}
        self._vanished: list[_Open] = []  # ended with an entry, waiting link_s for a re-found part
        self.complete = 0
        self.incomplete: dict[str, int] = {U_TURN: 0, VANISHED: 0, NO_ENTRY: 0}
        self.linked = 0  # movements whose exit came from a re-found track (a broken id inside)

    @property
    def enabled(self) -> bool:
        return bool(self.approaches)

    def update(self, tracks: Iterable[Track], counts: Iterable[CountRecord], stamp_ns: int) -> list[MovementRecord]:
        """One frame: every live track (as Tracker.update returns them) and the crossings counted
        in it (including those settled for tracks removed in this frame)."""
        if not self.enabled:
            return []
        out: list[MovementRecord] = []
        live = {}
        for t in tracks:
            key = str(t.id)
            live[key] = t
            state = self._tracks.get(key)
            if state is None or state.birth_ns != t.birth_ns:
                if state is not None:
                    out += self._ended(state, stamp_ns)
                p = t.anchor(self.anchor)
                state = self._tracks[key] = _Open(key, t.birth_ns, p, p, t.last_seen_ns, t.label)
            if t.misses == 0:
                state.last_anchor = t.anchor(self.anchor)
                state.last_seen_ns = t.last_seen_ns
            state.label = t.label
        for record in counts:
            if record.line_id not in self.approaches:
                continue
            state = self._tracks.get(record.track_id)
            if state is None or state.done:
                continue
            out += self._crossed(state, record)
        for key in [k for k in self._tracks if k not in live]:
            out += self._ended(self._tracks.pop(key), stamp_ns)
        out += self._expire(stamp_ns)
        return out

    def finish(self, stamp_ns: int) -> list[MovementRecord]:
        """End of the stream: every live and held track ends now (entered ones are `vanished`)."""
        out = []
        for key in list(self._tracks):
            out += self._ended(self._tracks.pop(key), stamp_ns)
        out += [self._vanish(v) for v in self._vanished if not v.done]
        self._vanished.clear()
        return out

    # -- internals ---------------------------------------------------------------------------
    def _crossed(self, state: _Open, record: CountRecord) -> list[MovementRecord]:
        if record.direction == DIRECTION_IN:
            if state.entry is None:
                state.entry = record
            return []
        if record.direction != DIRECTION_OUT:
            return []
        if state.entry is not None:
            state.done = True
            return [self._movement(state.entry, record, state.track_id)]
        first = self._link(state)
        state.done = True
        if first is not None:
            first.done = True
            self.linked += 1
            return [self._movement(first.entry, record, first.track_id, linked=state.track_id)]  # type: ignore[arg-type]
        self.incomplete[NO_ENTRY] += 1
        return [
            MovementRecord(
                NO_ENTRY,
                "",
                "",
                record.line_id,
                record.lane,
                record.class_id,
                0,
                record.stamp_ns,
                state.track_id,
                record.speed_px_s,
                record.speed_m_s,
                INCOMPLETE,
                NO_ENTRY,
            )
        ]

    def _movement(self, entry: CountRecord, exit_: CountRecord, track_id: str, linked: str = "") -> MovementRecord:
        if entry.line_id == exit_.line_id:
            status, reason, name = INCOMPLETE, U_TURN, U_TURN
            self.incomplete[U_TURN] += 1
        else:
            status, reason, name = COMPLETE, "", movement_name(entry.line_id, exit_.line_id, self.table)
            self.complete += 1
        return MovementRecord(
            name,
            entry.line_id,
            entry.lane,
            exit_.line_id,
            exit_.lane,
            exit_.class_id,
            entry.stamp_ns,
            exit_.stamp_ns,
            track_id,
            _mean(entry.speed_px_s, exit_.speed_px_s),
            _mean(entry.speed_m_s, exit_.speed_m_s),
            status,
            reason,
            linked,
        )

    def _link(self, orphan: _Open) -> _Open | None:
        """The entered, unfinished track this re-found one most likely continues, or None."""
        candidates = [*self._vanished, *(s for s in self._tracks.values() if s is not orphan)]
        best, best_d = None, self.link_max_px
        for c in candidates:
            if c.done or c.entry is None or c.last_seen_ns > orphan.birth_ns:
                continue  # still measured when the new one was born: another vehicle
            if orphan.birth_ns - c.last_seen_ns > self.link_ns:
                continue
            d = math.dist(c.last_anchor, orphan.first_anchor)
            if d <= best_d:
                best, best_d = c, d
        return best

    def _ended(self, state: _Open, stamp_ns: int) -> list[MovementRecord]:
        if state.done or state.entry is None:
            return []  # reported already, or never entered nor left: not a road user of the box
        if self.link_ns > 0:
            self._vanished.append(state)
            return []
        return [self._vanish(state)]

    def _expire(self, stamp_ns: int) -> list[MovementRecord]:
        out, keep = [], []
        for v in self._vanished:
            if v.done:
                continue
            if stamp_ns - v.last_seen_ns > self.link_ns:
                out.append(self._vanish(v))
            else:
                keep.append(v)
        self._vanished = keep
        return out

    def _vanish(self, state: _Open) -> MovementRecord:
        state.done = True
        entry = state.entry
        assert entry is not None
        self.incomplete[VANISHED] += 1
        return MovementRecord(
            VANISHED,
            entry.line_id,
            entry.lane,
            "",
            "",
            state.label,
            entry.stamp_ns,
            state.last_seen_ns,
            state.track_id,
            entry.speed_px_s,
            entry.speed_m_s,
            INCOMPLETE,
            VANISHED,
        )

    def stats(self) -> dict[str, int]:
        return {
            "movements": self.complete,
            "movements_incomplete": sum(self.incomplete.values()),
            **{f"movements_{reason}": n for reason, n in self.incomplete.items()},
            "movements_linked": self.linked,
        }


def _mean(a: float, b: float) -> float:
    known = [v for v in (a, b) if v is not None and math.isfinite(v)]
    return sum(known) / len(known) if known else math.nan
