"""Where the synthetic intersection is seen from: a pinhole camera on a pole at a corner.

The ground plane is the top-down map: metres = base map pixels / PIXELS_PER_METER (x east,
y south), z up. The pole stands on the diagonal through the junction centre at one corner and
looks at the centre; pitched down by `tilt_deg` it would aim at the centre from
height / tan(tilt) away, which at 8 m and 30 degrees is inside the junction's own corner, where
the approach lines on its side lie behind it. So, unless `distance_m` is given, the pole stands
as close as it can while the junction box, the ends of the four counting lines of
config/edge.yaml and the road APPROACH_VIEW_M beyond each of them (coverage_points), with a
vehicle's height above them, are all in the image: a vehicle must be seen on both sides of the
line it crosses, or no tracker can count it (with the lines' ends only, the west line ran along
the image's left edge).

All matrices map scene pixels: map pixels and image pixels both scale with the scene's size as
in the top view, so one configuration of lines means the same road at 1280x720 and 640x360.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from argos_common.lines import CountingLine

from .road_network import BASE_HEIGHT, BASE_WIDTH, PIXELS_PER_METER

VIEWS = ("top", "pole")
CORNERS = {"sw": (-1.0, 1.0), "se": (1.0, 1.0), "ne": (1.0, -1.0), "nw": (-1.0, -1.0)}  # centre -> pole, map x y
CENTER_PX = (640.0, 360.0)
# the junction box corners, and the end points of each counting line of config/edge.yaml (base px)
JUNCTION_CORNERS_PX = ((580.0, 300.0), (700.0, 300.0), (580.0, 420.0), (700.0, 420.0))
LINE_ENDS_PX = (
    ((420.0, 290.0), (420.0, 430.0)),
    ((860.0, 290.0), (860.0, 430.0)),
    ((570.0, 200.0), (710.0, 200.0)),
    ((570.0, 520.0), (710.0, 520.0)),
)
# road kept in view beyond each counting line, outwards along its arm. Measured with
# truth-derived boxes (pole view, clean/dense/stop_and_go, seeds 7 and 8, 60 s): crossings missed
# 80 of 445 with the line ends only (32 m), 49 of 446 with 3 m (36 m); 5 m (39 m) and more
# lose again on the far lines, which shrink and hide behind near traffic (63-66 of 447)
APPROACH_VIEW_M = 3.0
COVERAGE_HEIGHTS_M = (0.0, 3.0)  # a truck on a far line keeps its roof in the image
COVERAGE_MARGIN = 0.02  # of the image size, on every side
FIT_STEP_M = 0.25
FIT_MAX_M = 150.0
HEIGHT_RANGE_M = (5.0, 50.0)  # above every vehicle (4 m) and tree crown's underside
TILT_RANGE_DEG = (5.0, 85.0)
FOV_RANGE_DEG = (30.0, 150.0)
MAX_BOTTOM_DEPRESSION_DEG = 85.0  # the bottom image edge must still look forwards, not at the pole's foot
LINE_EXTENSION_M = 8.0  # view_lines: each end segment goes on this far on the ground (see view_lines)
NEAR_M = 0.5  # geometry is clipped this far in front of the camera's foot (nothing behind it is in view)


@dataclass(frozen=True)
class PoleCamera:
    """A camera on a pole: `height_m` above the ground, pitched `tilt_deg` below the horizontal,
    `fov_deg` horizontal field of view (square pixels at 1280x720), standing at `corner` of the
    junction; `distance_m` from the junction centre (horizontal), None: the nearest that shows the
    junction and all four counting lines."""

    height_m: float = 8.0
    tilt_deg: float = 30.0
    fov_deg: float = 100.0
    corner: str = "sw"
    distance_m: float | None = None

    def validate(self) -> None:
        """ValueError naming the field that is out of range."""
        for name, value, (low, high) in (
            ("height_m", self.height_m, HEIGHT_RANGE_M),
            ("tilt_deg", self.tilt_deg, TILT_RANGE_DEG),
            ("fov_deg", self.fov_deg, FOV_RANGE_DEG),
        ):
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"pole camera {name} must be within {low:g}..{high:g}, got {value:g}")
        if self.corner not in CORNERS:
            raise ValueError(f"pole camera corner must be one of {', '.join(CORNERS)}, got {self.corner!r}")
        if self.distance_m is not None and not (math.isfinite(self.distance_m) and 0.0 < self.distance_m <= FIT_MAX_M):
            raise ValueError(f"pole camera distance_m must be within 0..{FIT_MAX_M:g}, got {self.distance_m:g}")
        bottom = self.tilt_deg + math.degrees(vertical_fov(self.fov_deg)) / 2.0
        if bottom > MAX_BOTTOM_DEPRESSION_DEG:
            raise ValueError(
                f"pole camera tilt_deg {self.tilt_deg:g} + half the vertical field of view is {bottom:.0f} degrees "
                f"below the horizon (at most {MAX_BOTTOM_DEPRESSION_DEG:g}): lower tilt_deg or fov_deg"
            )


def vertical_fov(fov_deg: float) -> float:
    """Vertical field of view (radians) of a 1280x720 image with square pixels."""
    return 2.0 * math.atan(math.tan(math.radians(fov_deg) / 2.0) * BASE_HEIGHT / BASE_WIDTH)


def _pose(camera: PoleCamera, distance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotation world -> camera, camera centre in metres, horizontal heading) at `distance`."""
    out = np.asarray(CORNERS[camera.corner], np.float64) / math.sqrt(2.0)
    center = np.asarray(CENTER_PX, np.float64) / PIXELS_PER_METER
    foot = center + distance * out
    hx, hy = -out  # looks at the centre
    t = math.radians(camera.tilt_deg)
    # camera axes in the world: x right (the heading turned clockwise seen from above, y south), y down, z forwards
    right = (-hy, hx, 0.0)
    down = (-math.sin(t) * hx, -math.sin(t) * hy, -math.cos(t))
    forward = (math.cos(t) * hx, math.cos(t) * hy, -math.sin(t))
    return np.array([right, down, forward]), np.array([foot[0], foot[1], camera.height_m]), np.array([hx, hy])


def _intrinsics(fov_deg: float) -> np.ndarray:
    focal = (BASE_WIDTH / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return np.array([[focal, 0.0, BASE_WIDTH / 2.0], [0.0, focal, BASE_HEIGHT / 2.0], [0.0, 0.0, 1.0]])


def coverage_points() -> np.ndarray:
    """(N, 2) base map px the fitted pole view must show: the junction's corners, each counting
    line's ends, and those ends moved APPROACH_VIEW_M outwards (away from the junction centre)."""
    ends = np.asarray(LINE_ENDS_PX, np.float64)  # (lines, 2 ends, xy)
    along = ends[:, 1] - ends[:, 0]
    normal = np.c_[-along[:, 1], along[:, 0]] / np.linalg.norm(along, axis=1, keepdims=True)
    outwards = np.sign(np.einsum("ij,ij->i", ends.mean(axis=1) - CENTER_PX, normal))[:, None] * normal
    beyond = ends + (APPROACH_VIEW_M * PIXELS_PER_METER * outwards)[:, None, :]
    return np.concatenate([np.asarray(JUNCTION_CORNERS_PX, np.float64), ends.reshape(-1, 2), beyond.reshape(-1, 2)])


def _fits(camera: PoleCamera, distance: float, points: np.ndarray) -> bool:
    """Whether `points` ((N, 3) world metres) are all in the image with the pole at `distance`."""
    rotation, position, _ = _pose(camera, distance)
    cam = (points - position) @ rotation.T
    if np.any(cam[:, 2] <= NEAR_M):
        return False
    uv = cam[:, :2] / cam[:, 2:3] @ _intrinsics(camera.fov_deg)[:2, :2].T + np.array([BASE_WIDTH, BASE_HEIGHT]) / 2
    mx, my = COVERAGE_MARGIN * BASE_WIDTH, COVERAGE_MARGIN * BASE_HEIGHT
    return bool(
        np.all((uv[:, 0] >= mx) & (uv[:, 0] <= BASE_WIDTH - mx) & (uv[:, 1] >= my) & (uv[:, 1] <= BASE_HEIGHT - my))
    )


def fit_distance(camera: PoleCamera) -> float:
    """The nearest distance from the junction centre (FIT_STEP_M steps) at which coverage_points() is in view."""
    ground = coverage_points() / PIXELS_PER_METER
    points = np.concatenate([np.c_[ground, np.full(len(ground), z)] for z in COVERAGE_HEIGHTS_M])
    for distance in np.arange(FIT_STEP_M, FIT_MAX_M + FIT_STEP_M / 2, FIT_STEP_M):
        if _fits(camera, float(distance), points):
            return float(distance)
    raise ValueError(
        f"pole camera (height {camera.height_m:g} m, tilt {camera.tilt_deg:g} deg, fov {camera.fov_deg:g} deg): "
        "no distance shows the junction and all four counting lines; widen fov or lower tilt"
    )


def _normalised(matrix: np.ndarray) -> np.ndarray:
    return matrix / matrix[2, 2]


class PoleView:
    """The solved camera of a `PoleCamera` for a scene of `width` x `height` pixels.

    projection: 3x4, world metres (x, y, z) -> scene image pixels (homogeneous; w = depth in m).
    ground_to_image / image_to_ground: 3x3 homographies, scene map pixels <-> scene image pixels.
    image_to_metres: 3x3, scene image pixels -> ground metres (the tracker's ground_homography).
    """

    def __init__(self, camera: PoleCamera, width: int, height: int):
        camera.validate()
        self.camera = camera
        self.size = (int(width), int(height))
        self.distance_m = camera.distance_m if camera.distance_m is not None else fit_distance(camera)
        rotation, position, heading = _pose(camera, self.distance_m)
        self.rotation, self.position_m, self.heading = rotation, position, heading
        scale = np.diag([width / BASE_WIDTH, height / BASE_HEIGHT, 1.0])
        self.intrinsics = scale @ _intrinsics(camera.fov_deg)
        self.projection = self.intrinsics @ np.c_[rotation, -rotation @ position]
        self.metres_to_image = _normalised(self.projection[:, [0, 1, 3]])
        self.image_to_metres = _normalised(np.linalg.inv(self.metres_to_image))
        map_to_metres = np.diag([BASE_WIDTH / (PIXELS_PER_METER * width), BASE_HEIGHT / (PIXELS_PER_METER * height), 1])
        self.ground_to_image = _normalised(self.metres_to_image @ map_to_metres)
        self.image_to_ground = _normalised(np.linalg.inv(self.ground_to_image))
        self.focal_px = float(self.intrinsics[0, 0])

    @property
    def ground_homography(self) -> tuple[float, ...]:
        """image px -> ground metres, 9 floats row-major: the tracker's `ground_homography`."""
        return tuple(float(v) for v in self.image_to_metres.ravel())

    def project(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., 3) world metres -> ((..., 2) image pixels, (...) depth in metres along the optical axis)."""
        h = points_m @ self.projection[:, :3].T + self.projection[:, 3]
        depth = h[..., 2]
        return h[..., :2] / depth[..., None], depth

    def forward_m(self, xy_m: np.ndarray) -> np.ndarray:
        """(..., 2) ground metres -> horizontal distance in front of the pole's foot along its heading."""
        return (xy_m - self.position_m[:2]) @ self.heading

    def horizon_y(self, x: float) -> float:
        """Image row of the horizon (the ground's vanishing line) at column x; -inf if it has none."""
        a, b, c = self.image_to_metres[2]  # rows where the mapping to the ground goes to infinity
        return -(a * x + c) / b if abs(b) > 1e-12 else -math.inf


def map_points(homography: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) points through a 3x3 homography -> ((N, 2) mapped points, (N,) homogeneous w)."""
    h = np.c_[points, np.ones(len(points))] @ homography.T
    return h[:, :2] / h[:, 2:3], h[:, 2]


def view_lines(lines: Sequence[CountingLine], view: PoleView, extend_m: float = LINE_EXTENSION_M) -> list[CountingLine]:
    """Counting lines given in scene map pixels, as seen in the pole camera's image.

    A homography maps straight segments to straight segments, so the polyline's vertices are all
    that moves. In perspective the bottom centre of a vehicle's image box (the tracker's anchor)
    lies off its body towards the camera, metres off for a tall, long vehicle near the camera (a
    semi-trailer's box bottom is its rear corner): a line drawn from kerb to kerb misses such
    anchors in the near lane. So both end segments are first extended by `extend_m` on the ground,
    over the sidewalk, as one draws lines generously on a real camera's view; nothing but the
    crossing road passes there.
    `in` (crossing from the right-hand side of the walked polyline to its left) keeps its meaning
    while the mapping keeps orientation (the camera sees the ground from above, so it does);
    should it not, the polyline is walked backwards. A vertex behind the camera has no image
    point: ValueError naming the line."""
    w, h = view.size
    to_metres = np.array([BASE_WIDTH / (PIXELS_PER_METER * w), BASE_HEIGHT / (PIXELS_PER_METER * h)])
    out = []
    for line in lines:
        ground = np.asarray(line.points, np.float64) * to_metres
        for end, inner in ((0, 1), (-1, -2)):
            direction = ground[end] - ground[inner]
            extended = ground[end] + direction / np.linalg.norm(direction) * extend_m
            if view.forward_m(extended) >= NEAR_M:
                ground[end] = extended
        if np.any(view.forward_m(ground) < NEAR_M):
            raise ValueError(f"counting line {line.id!r} has a point behind the pole camera")
        points, _ = map_points(view.metres_to_image, ground)
        lanes = tuple(line.lanes)
        if _orientation(view.metres_to_image, ground.mean(axis=0)) < 0:
            points, lanes = points[::-1].copy(), lanes[::-1]
        out.append(CountingLine(line.id, points, lanes))
    return out


def _orientation(homography: np.ndarray, point: np.ndarray) -> float:
    """Sign of the homography's Jacobian determinant at `point`: > 0 keeps left and right."""
    eps = 1.0
    pts = np.array([point, point + (eps, 0.0), point + (0.0, eps)])
    mapped, _ = map_points(homography, pts)
    du, dv = mapped[1] - mapped[0], mapped[2] - mapped[0]
    return float(du[0] * dv[1] - du[1] * dv[0])
