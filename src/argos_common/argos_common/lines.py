"""Counting lines: polylines from config and the crossing test both the tracker and the
synthetic ground truth use, so "a crossing" means exactly the same thing on both sides.

Direction convention (image coordinates, y down): walking the polyline from its first to its
last point, the right-hand side is "positive". An anchor moving from the positive side to the
negative side is DIRECTION_IN ("in"), the reverse is "out".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .params import ConfigError, ParamGroup, ParamSpec

DIRECTION_IN = "in"
DIRECTION_OUT = "out"

LINES_GROUP = ParamGroup(
    prefix="lines",
    description="counting line",
    fields=(
        ParamSpec("points", "float[]", [], "polyline vertices in source-image pixels: x0, y0, x1, y1, ..."),
        ParamSpec("lanes", "str[]", [], "optional lane label per polyline segment (empty: none)"),
    ),
)


@dataclass(frozen=True)
class Crossing:
    line_id: str
    segment: int
    lane: str
    direction: str
    point: tuple[float, float]  # where the anchor path meets the segment


@dataclass(frozen=True)
class CountingLine:
    id: str
    points: np.ndarray  # (K, 2) float64, K >= 2
    lanes: tuple[str, ...] = ()

    def side(self, p, segment: int = 0) -> float:
        a, b = self.points[segment], self.points[segment + 1]
        return float((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]))

    def crossing(self, p, q) -> Crossing | None:
        """The first segment that the step p -> q crosses, meeting the drawn segment itself (not
        its extension), or None.

        Half-open: a step that starts off the line and ends on it or beyond crosses; a step that
        starts on the line does not. A path sampled exactly on the line is thus counted once, on
        arrival, never twice and never zero times."""
        p = np.asarray(p, dtype=np.float64)
        q = np.asarray(q, dtype=np.float64)
        d = q - p
        for i in range(len(self.points) - 1):
            a, b = self.points[i], self.points[i + 1]
            e = b - a
            sp, sq = self.side(p, i), self.side(q, i)
            if sp == 0 or (sq != 0 and (sp > 0) == (sq > 0)):
                continue
            denom = d[0] * e[1] - d[1] * e[0]
            if denom == 0:
                continue
            # parameter along the segment a->b where the step meets it
            u = ((p[0] - a[0]) * d[1] - (p[1] - a[1]) * d[0]) / -denom
            if not 0.0 <= u <= 1.0:
                continue
            t = sp / (sp - sq)
            hit = p + t * d
            lane = self.lanes[i] if i < len(self.lanes) else ""
            return Crossing(self.id, i, lane, DIRECTION_IN if sp > 0 else DIRECTION_OUT, (float(hit[0]), float(hit[1])))
        return None


def parse_lines(params: Mapping[str, Any]) -> list[CountingLine]:
    """Build CountingLines from resolved flat parameters (`lines.names`, `lines.<id>.points`, ...)."""
    lines = []
    for name in params.get("lines.names", []) or []:
        key = f"lines.{name}.points"
        pts = list(params.get(f"lines.{name}.points", []))
        if len(pts) < 4 or len(pts) % 2:
            raise ConfigError(key, f"needs an even number (>= 4) of coordinates x0, y0, x1, y1, ...; got {len(pts)}")
        arr = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if np.any(np.all(np.diff(arr, axis=0) == 0, axis=1)):
            raise ConfigError(key, "two consecutive points are equal (zero-length segment)")
        lanes = tuple(params.get(f"lines.{name}.lanes", []) or [])
        if lanes and len(lanes) != len(arr) - 1:
            raise ConfigError(f"lines.{name}.lanes", f"needs one label per segment ({len(arr) - 1}), got {len(lanes)}")
        lines.append(CountingLine(name, arr, lanes))
    return lines
