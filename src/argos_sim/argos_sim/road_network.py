"""Geometry of the synthetic intersection in base pixels (a 1280 x 720 image), as links and routes.

Right-hand traffic seen from above, north up. The horizontal road spans y 300..420 (westbound
lanes on its north half, eastbound on its south half), the vertical road x 580..700 (southbound
on its west half, northbound on its east half); each direction has two 30 px lanes. A route is
in-link (image edge -> junction box), then either a straight box link or a right-turn arc from
the outer lane, then an out-link to beyond the opposite edge.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

BASE_WIDTH, BASE_HEIGHT = 1280, 720
PIXELS_PER_METER = 9.0  # at BASE_WIDTH
HORIZONTAL_ROAD = (300.0, 420.0)  # y range
VERTICAL_ROAD = (580.0, 700.0)  # x range
LANE_WIDTH = 30.0
ENTRY_MARGIN = 4.0  # vehicles appear just outside the image edge
EXIT_MARGIN = 4.0
STOP_LINE_SETBACK = 24.0  # stop line before the box, leaving room for the crosswalk
TURN_RADIUS = 15.0

# direction name -> unit heading in image coordinates (y down)
HEADINGS = {"eastbound": (1.0, 0.0), "westbound": (-1.0, 0.0), "southbound": (0.0, 1.0), "northbound": (0.0, -1.0)}
AXIS = {"eastbound": "ew", "westbound": "ew", "southbound": "ns", "northbound": "ns"}
# lane centre (the cross coordinate) per direction, [inner, outer]; the outer lane is the right one
LANE_CENTERS = {
    "westbound": (345.0, 315.0),
    "eastbound": (375.0, 405.0),
    "southbound": (625.0, 595.0),
    "northbound": (655.0, 685.0),
}
RIGHT_OF = {"eastbound": "southbound", "southbound": "westbound", "westbound": "northbound", "northbound": "eastbound"}
INNER, OUTER = 0, 1


@dataclass(frozen=True)
class Link:
    """A piece of lane: straight from `start` along `heading`, or a right-turn quarter circle."""

    id: str
    length: float
    start: tuple[float, float]
    heading: tuple[float, float]
    arc_center: tuple[float, float] | None = None
    arc_start_angle: float = 0.0
    in_box: bool = False

    def pose(self, offset: float) -> tuple[float, float, float, float]:
        """(x, y, heading x, heading y) at `offset` along the link (extrapolated when outside it)."""
        if self.arc_center is None or offset <= 0.0:
            hx, hy = self.heading
            return self.start[0] + hx * offset, self.start[1] + hy * offset, hx, hy
        if offset >= self.length:
            x, y, hx, hy = self.pose_on_arc(self.length)
            extra = offset - self.length
            return x + hx * extra, y + hy * extra, hx, hy
        return self.pose_on_arc(offset)

    def pose_on_arc(self, offset: float) -> tuple[float, float, float, float]:
        angle = self.arc_start_angle + offset / TURN_RADIUS  # increasing angle = clockwise on screen
        cx, cy = self.arc_center  # type: ignore[misc]
        return (
            cx + TURN_RADIUS * math.cos(angle),
            cy + TURN_RADIUS * math.sin(angle),
            -math.sin(angle),
            math.cos(angle),
        )


class Route:
    def __init__(self, name: str, approach: str, links: tuple[Link, ...]):
        self.name = name
        self.approach = approach
        self.axis = AXIS[approach]
        self.links = links
        self.starts: list[float] = []
        total = 0.0
        for link in links:
            self.starts.append(total)
            total += link.length
        self.length = total
        self.stop_offset = links[0].length - STOP_LINE_SETBACK  # front bumper position at the stop line
        self.box_start = links[0].length
        self.box_end = links[0].length + links[1].length

    def link_index(self, s: float) -> int:
        return max(0, min(len(self.links) - 1, bisect.bisect_right(self.starts, s) - 1))

    def pose(self, s: float) -> tuple[float, float, float, float]:
        i = self.link_index(s)
        return self.links[i].pose(s - self.starts[i])


def _straight(link_id: str, start: tuple[float, float], end: tuple[float, float], in_box: bool = False) -> Link:
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    return Link(link_id, length, start, (dx / length, dy / length), in_box=in_box)


def _lane_points(direction: str, lane_center: float) -> tuple:
    """Entry point at the image edge, box entry, box exit and exit point beyond the far edge."""
    x0, x1 = VERTICAL_ROAD
    y0, y1 = HORIZONTAL_ROAD
    c = lane_center
    if direction == "eastbound":
        return (-ENTRY_MARGIN, c), (x0, c), (x1, c), (BASE_WIDTH + EXIT_MARGIN, c)
    if direction == "westbound":
        return (BASE_WIDTH + ENTRY_MARGIN, c), (x1, c), (x0, c), (-EXIT_MARGIN, c)
    if direction == "southbound":
        return (c, -ENTRY_MARGIN), (c, y0), (c, y1), (c, BASE_HEIGHT + EXIT_MARGIN)
    return (c, BASE_HEIGHT + ENTRY_MARGIN), (c, y1), (c, y0), (c, -EXIT_MARGIN)


def build_routes() -> dict[tuple[str, int, bool], Route]:
    """Routes keyed by (approach direction, lane, turns right)."""
    in_links, box_links, out_links = {}, {}, {}
    for direction, centers in LANE_CENTERS.items():
        for lane, center in enumerate(centers):
            entry, box_in, box_out, exit_ = _lane_points(direction, center)
            in_links[direction, lane] = _straight(f"{direction}{lane}.in", entry, box_in)
            box_links[direction, lane] = _straight(f"{direction}{lane}.box", box_in, box_out, in_box=True)
            out_links[direction, lane] = _straight(f"{direction}{lane}.out", box_out, exit_)
    routes = {}
    for (direction, lane), in_link in in_links.items():
        routes[direction, lane, False] = Route(
            f"{direction}{lane}", direction, (in_link, box_links[direction, lane], out_links[direction, lane])
        )
        if lane == OUTER:
            hx, hy = HEADINGS[direction]
            sx, sy = in_link.pose(in_link.length)[:2]
            turn_center = (sx - hy * TURN_RADIUS, sy + hx * TURN_RADIUS)  # to the right of the heading
            start_angle = math.atan2(sy - turn_center[1], sx - turn_center[0])
            turn = Link(
                f"{direction}.right",
                TURN_RADIUS * math.pi / 2,
                (sx, sy),
                (hx, hy),
                turn_center,
                start_angle,
                in_box=True,
            )
            routes[direction, lane, True] = Route(
                f"{direction}{lane}.right", direction, (in_link, turn, out_links[RIGHT_OF[direction], OUTER])
            )
    return routes
