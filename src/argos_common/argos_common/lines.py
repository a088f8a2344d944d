"""Counting lines: polylines from config and the crossing test both the tracker and the
synthetic ground truth use, so "a crossing" means exactly the same thing on both sides.

Direction convention (image coordinates, y down): walking the polyline from its first to its
last point, the right-hand side is "positive". An anchor moving from the positive side to the
negative side is DIRECTION_IN ("in"), the reverse is "out".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .params import ConfigError, ParamGroup, ParamSpec

DIRECTION_IN = "in"
DIRECTION_OUT = "out"

IMAGE_SIZE_KEY = "geometry.image_size"
NORMALIZED_KEY = "geometry.normalized"
RESIZE_KEY = "geometry.resize"
RESIZE_RULES = ("uniform", "stretch")
ASPECT_TOLERANCE = 0.01  # 1280x720 -> 1920x1080 is exact; 1366x768 vs 1280x720 is 0.1 % off

# Where the points of lines and zones live. Lines drawn on one camera's view keep meaning the
# same road positions when the source's resolution changes only if they say what size they were
# drawn on (or are fractions of the frame); each node that uses them scales them to its source.
GEOMETRY_PARAMS = [
    ParamSpec(
        IMAGE_SIZE_KEY,
        "int[]",
        [],
        "[width, height] of the image the line and zone points were drawn on; they are scaled to "
        "the source's size; empty: the points are source pixels",
        min=1,
    ),
    ParamSpec(
        NORMALIZED_KEY,
        "bool",
        False,
        "line and zone points are fractions of the image width and height (0..1), for any source size",
    ),
    ParamSpec(
        RESIZE_KEY,
        "str",
        "uniform",
        "a source of another aspect ratio than geometry.image_size: uniform: an error (the view "
        "differs); stretch: scale x and y each by its own factor",
        choices=RESIZE_RULES,
    ),
]

LINES_GROUP = ParamGroup(
    prefix="lines",
    description="counting line",
    fields=(
        ParamSpec(
            "points",
            "float[]",
            [],
            "polyline vertices x0, y0, x1, y1, ... in source pixels (see geometry.image_size, geometry.normalized)",
        ),
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


def geometry_scale(params: Mapping[str, Any], source_size: tuple[int, int] | None) -> tuple[float, float] | None:
    """(x factor, y factor) from the configured points to the pixels of a `source_size`
    (width, height) source; None: the points are source pixels as they are. With `source_size`
    None only the geometry parameters themselves are checked (and None is returned). Raises
    ConfigError naming the parameter when the source does not fit the geometry."""
    size = list(params.get(IMAGE_SIZE_KEY, []) or [])
    normalized = bool(params.get(NORMALIZED_KEY, False))
    if size and len(size) != 2:
        raise ConfigError(IMAGE_SIZE_KEY, f"expected [width, height], got {size}")
    if size and normalized:
        raise ConfigError(NORMALIZED_KEY, f"normalized points need no {IMAGE_SIZE_KEY}; set one of them")
    if source_size is None:
        return None
    width, height = source_size
    if normalized:
        return float(width), float(height)
    if not size:
        return None
    sx, sy = width / size[0], height / size[1]
    if abs(sx / sy - 1.0) > ASPECT_TOLERANCE and params.get(RESIZE_KEY, "uniform") != "stretch":
        raise ConfigError(
            IMAGE_SIZE_KEY,
            f"lines and zones were drawn on {size[0]}x{size[1]} but the source is {width}x{height}, another "
            f"aspect ratio: redraw them on this view (argos lines), or set {RESIZE_KEY}: stretch",
        )
    return sx, sy


def scale_points(
    params: Mapping[str, Any], key: str, points: np.ndarray, source_size: tuple[int, int] | None
) -> np.ndarray:
    """(K, 2) configured points -> source pixels (`key` names them in errors)."""
    scale = geometry_scale(params, source_size)
    if params.get(NORMALIZED_KEY, False) and (np.any(points < 0.0) or np.any(points > 1.0)):
        raise ConfigError(key, f"normalized points must lie in 0..1 ({NORMALIZED_KEY} is true)")
    if scale is None:
        if source_size is not None and not params.get(IMAGE_SIZE_KEY):
            width, height = source_size
            outside = (
                (points[:, 0] < -1) | (points[:, 0] > width + 1) | (points[:, 1] < -1) | (points[:, 1] > height + 1)
            )
            if np.any(outside):
                x, y = points[np.argmax(outside)]
                raise ConfigError(
                    key,
                    f"point ({x:g}, {y:g}) is outside the {width}x{height} source; if the points were "
                    f"drawn on another size, set {IMAGE_SIZE_KEY} to it",
                )
        return points
    return points * np.asarray(scale, dtype=points.dtype)


def line_params(lines: Sequence[CountingLine]) -> dict[str, Any]:
    """Counting lines as the flat parameters parse_lines reads (`lines.names`, `lines.<id>.points`, `.lanes`)."""
    out: dict[str, Any] = {"lines.names": [line.id for line in lines]}
    for line in lines:
        out[f"lines.{line.id}.points"] = [float(v) for v in np.asarray(line.points, np.float64).ravel()]
        out[f"lines.{line.id}.lanes"] = list(line.lanes)
    return out


def parse_lines(params: Mapping[str, Any], source_size: tuple[int, int] | None = None) -> list[CountingLine]:
    """Build CountingLines from resolved flat parameters (`lines.names`, `lines.<id>.points`, ...),
    in the pixels of a `source_size` (width, height) source (None: as configured, checks only)."""
    lines = []
    for name in params.get("lines.names", []) or []:
        key = f"lines.{name}.points"
        pts = list(params.get(f"lines.{name}.points", []))
        if len(pts) < 4 or len(pts) % 2:
            raise ConfigError(key, f"needs an even number (>= 4) of coordinates x0, y0, x1, y1, ...; got {len(pts)}")
        arr = scale_points(params, key, np.asarray(pts, dtype=np.float64).reshape(-1, 2), source_size)
        if np.any(np.all(np.diff(arr, axis=0) == 0, axis=1)):
            raise ConfigError(key, "two consecutive points are equal (zero-length segment)")
        lanes = tuple(params.get(f"lines.{name}.lanes", []) or [])
        if lanes and len(lanes) != len(arr) - 1:
            raise ConfigError(f"lines.{name}.lanes", f"needs one label per segment ({len(arr) - 1}), got {len(lanes)}")
        lines.append(CountingLine(name, arr, lanes))
    return lines


def needs_source_size(params: Mapping[str, Any]) -> bool:
    """Whether the points mean anything before the source's size is known."""
    return bool(params.get(IMAGE_SIZE_KEY)) or bool(params.get(NORMALIZED_KEY, False))
