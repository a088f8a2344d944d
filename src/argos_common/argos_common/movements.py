"""Turning movements as every part of ARGOS sees them (no ROS types), and the GEH statistic.

The tracker makes a MovementRecord when a track that entered the intersection through one
approach line leaves it through another (argos_tracker.movements); the node publishes it as
`argos_interfaces/MovementEvent`, the bridge bins it (argos_common.bins) and sends it on, and
the evaluation, the export and `argos status` read it back with `MovementRecord.from_event`.

A movement is named after its approach lines, `<from_line>-><to_line>` (e.g. `east->west`),
unless the configuration's table gives the pair a label (e.g. `WBT`, see `movement_name`).
What is not a movement is still reported, as status INCOMPLETE with a reason:
    u_turn    left through the line it entered by
    vanished  entered, then the track ended inside (lost for good, or still inside at the end)
    no_entry  left through an approach line without having been seen entering (born inside,
              e.g. already in the box when counting started, or a track that was lost and
              re-found under a new id that could not be linked to its first part)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPLETE = "complete"
INCOMPLETE = "incomplete"
U_TURN = "u_turn"
VANISHED = "vanished"
NO_ENTRY = "no_entry"
INCOMPLETE_REASONS = (U_TURN, VANISHED, NO_ENTRY)


def movement_name(from_line: str, to_line: str, table: Mapping[tuple[str, str], str] | None = None) -> str:
    """The configured label of (from_line, to_line), else `from->to`."""
    if table and (from_line, to_line) in table:
        return table[from_line, to_line]
    return f"{from_line}->{to_line}"


@dataclass(frozen=True)
class MovementRecord:
    movement: str  # name (see movement_name); for an incomplete one: its reason
    from_line: str  # approach line entered by ("" for no_entry)
    from_lane: str
    to_line: str  # approach line left by ("" for vanished)
    to_lane: str
    class_id: str  # class decided for the object when it left (or was last seen)
    entered_ns: int  # capture stamp of the entry crossing (0 for no_entry)
    left_ns: int  # capture stamp of the exit crossing; vanished: when the track was last seen
    track_id: str  # the track that entered (no_entry: the one that left)
    speed_px_s: float = math.nan  # mean of the entry and exit crossing speeds (those known)
    speed_m_s: float = math.nan
    status: str = COMPLETE  # COMPLETE | INCOMPLETE
    reason: str = ""  # "" | one of INCOMPLETE_REASONS
    linked_track_id: str = ""  # the re-found track that left, when the tracker's id broke inside

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def bin_stamp_ns(self) -> int:
        """The instant that places the movement in an interval: the entry (stop-line practice),
        or the exit when there was no entry."""
        return self.entered_ns if self.entered_ns else self.left_ns

    @classmethod
    def from_event(cls, event: Any) -> MovementRecord:
        """From a mapping (e.g. a movement payload) or an attribute object (a MovementEvent);
        KeyError naming a missing required field."""
        if isinstance(event, MovementRecord):
            return event
        get = event.get if isinstance(event, Mapping) else (lambda k, d=None: getattr(event, k, d))
        missing = object()

        def required(name: str) -> Any:
            value = get(name, missing)
            if value is missing:
                raise KeyError(f"movement event lacks {name!r}")
            return value

        def number(name: str) -> float:
            value = get(name, None)
            return math.nan if value is None else float(value)

        return cls(
            movement=str(required("movement")),
            from_line=str(get("from_line", "") or ""),
            from_lane=str(get("from_lane", "") or ""),
            to_line=str(get("to_line", "") or ""),
            to_lane=str(get("to_lane", "") or ""),
            class_id=str(required("class_id")),
            entered_ns=int(get("entered_ns", 0) or 0),
            left_ns=int(get("left_ns", 0) or 0),
            track_id=str(get("track_id", "") or ""),
            speed_px_s=number("speed_px_s"),
            speed_m_s=number("speed_m_s"),
            status=str(get("status", COMPLETE) or COMPLETE),
            reason=str(get("reason", "") or ""),
            linked_track_id=str(get("linked_track_id", "") or ""),
        )


def by_movement(counts: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """{(movement, class): n} as the movement matrix {movement: {class: n}}, movements and classes
    sorted, zero cells left out: the one shape the run summary, `argos status` and the annotated
    view show."""
    out: dict[str, dict[str, int]] = {}
    for (movement, class_id), n in sorted(counts.items()):
        if n:
            out.setdefault(movement, {})[class_id] = int(n)
    return out


def matrix_from_keys(flat: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The bridge's open-bin matrix {"<movement> <class>": n} (its stats' `open_bin`) as
    {movement: {class: n}}."""
    cells: dict[tuple[str, str], int] = {}
    for key, n in flat.items():
        movement, _, class_id = key.rpartition(" ") if " " in key else (key, "", "")
        cells[movement, class_id] = n
    return by_movement(cells)


def geh(modelled: float, observed: float) -> float:
    """GEH statistic of two hourly flows: sqrt(2 (M - C)^2 / (M + C)); 0 when both are 0.

    Traffic engineering takes GEH < 5 as a match. It is defined on hourly volumes: counts of a
    shorter interval must be scaled to vehicles per hour first (`geh_for_interval`)."""
    m, c = float(modelled), float(observed)
    if m + c <= 0:
        return 0.0
    return math.sqrt(2.0 * (m - c) ** 2 / (m + c))


def geh_for_interval(counted: int, truth: int, interval_s: float) -> float:
    """GEH of two counts over one interval of `interval_s`, on their hourly rates."""
    per_hour = 3600.0 / float(interval_s)
    return geh(counted * per_hour, truth * per_hour)
