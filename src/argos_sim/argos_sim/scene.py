"""A deterministic synthetic traffic intersection, seen from above or by a camera on a pole at a
corner (views.py), with exact ground truth.

Everything advances in scene time (1/fps per frame), never wall time: the same seed gives the
same frames, boxes and crossings. Ground-truth crossings use the tracker's anchor (bottom centre
of the box) and the shared CountingLine test, so they are directly comparable with counts.

Conditions (any combination; none is the default clear-day scene, frame for frame unchanged):
- dense: DENSE_FACTOR x the traffic volume and a second tree canopy over the north arm, just
  before its counting line: long occlusions, queues and vehicles close together.
- stop_and_go: long red phases (traffic.STOP_AND_GO_SIGNAL_PLAN): queues reach back across the
  counting lines and drain in stop-and-go.
- night: low contrast (the scene at NIGHT_GAIN brightness) with headlights and their light pools.
- rain: streaks and heavy grain on every frame.
- jitter: the camera shakes, a smooth random translation of up to JITTER_MAX_PX per frame; the
  ground-truth boxes move with the image. Ground-truth crossings stay those of the road
  (unshaken anchors): they are what a count must report, whatever the camera does.
Conditions draw from their own random stream, so they never change the traffic of a seed.

The pole view (view="pole") sees the same traffic in perspective: vehicles as 3D blocks of their
real size drawn in painter's order, trees, buildings and signal posts standing in the world
(pole_static.py), boxes = the image box of the projected 3D body, score = the share of its
silhouette left visible on an id buffer (pole_frame.py). Conditions there: night (low gain,
headlights and their pools on the road), rain (streaks, grain, wet road with reflections),
clear days have sun shadows, jitter shakes the image as in the top view. Counting lines are
still given on the map (top-down pixels); `view_lines` are the same lines in the view's image,
and ground-truth crossings are those of the image anchors over `view_lines`, so a tracker that
counts on `view_lines` with perfect boxes counts exactly the ground truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from argos_common.detections import Detections
from argos_common.lines import DIRECTION_IN, CountingLine, Crossing

from . import road_network
from .pole_frame import PoleFrame, PoleGeometry, frame_anchors, frame_detections, id_scale
from .pole_render import PoleRenderer
from .pole_static import PoleWorld
from .render import Look, SceneRenderer, Sprite, draw_sprite, fill_footprint, make_sprite, place
from .traffic import SIGNAL_PLAN, STOP_AND_GO_SIGNAL_PLAN, Traffic, Vehicle, unit_pose
from .views import VIEWS, PoleCamera, PoleView, view_lines

PIXELS_PER_METER = road_network.PIXELS_PER_METER  # at 1280 px wide; scales with the width
WARMUP_S = 20.0  # traffic is already flowing at frame 0
CONDITIONS = ("dense", "stop_and_go", "night", "rain", "jitter")
DENSE_FACTOR = 2.5
STOP_AND_GO_DENSITY_FACTOR = 1.3
JITTER_MAX_PX = 4.0  # at 1280 px wide
JITTER_STEP_PX = 1.2  # std of the frame-to-frame shake


def parse_conditions(spec: str | Sequence[str]) -> tuple[str, ...]:
    """ "night,rain" or ["night", "rain"] -> ("night", "rain"); ValueError naming an unknown one."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for name in (n.strip().lower().replace("-", "_") for n in names):
        if not name:
            continue
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition {name!r} (known: {', '.join(CONDITIONS)})")
        if name not in out:
            out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class GroundTruthCrossing:
    object_id: str
    label: str
    crossing: Crossing
    speed_px_s: float


@dataclass(frozen=True)
class GroundTruthMovement:
    """A vehicle's way through the intersection: its planned route (approach direction, and the
    direction it leaves in: straight on or after its right turn) and the counting lines where it
    entered (first `in` crossing) and left (the next `out` crossing), seen from frame 0 on."""

    object_id: str
    label: str
    approach: str  # planned: heading on the way in, e.g. "eastbound"
    exit_heading: str  # planned: heading on the way out ("southbound" after an eastbound right turn)
    from_line: str
    from_lane: str
    to_line: str
    to_lane: str
    entered_s: float  # scene time of the entry crossing's frame
    left_s: float


@dataclass
class GroundTruth:
    objects: Detections  # clipped true boxes; scores = visible fraction
    crossings: list[GroundTruthCrossing]  # counting lines crossed during this frame's step
    time_s: float = 0.0  # scene time since frame 0
    camera_offset: tuple[float, float] = (0.0, 0.0)  # jitter: image shift of this frame (px)
    movements: list[GroundTruthMovement] = field(default_factory=list)  # vehicles that left the box in this frame


def ground_truth_totals(crossings: Iterable[GroundTruthCrossing]) -> dict[tuple[str, str, str], int]:
    """Counts per (line id, label, direction)."""
    return dict(Counter((c.crossing.line_id, c.label, c.crossing.direction) for c in crossings))


class _CameraShake:
    """A camera on a pole in the wind: a random walk pulled back to rest, bounded by max_px."""

    def __init__(self, rng: np.random.Generator, max_px: float, step_px: float):
        self.rng, self.max_px, self.step_px = rng, max_px, step_px
        self.offset = np.zeros(2)

    def step(self) -> tuple[float, float]:
        self.offset = np.clip(0.8 * self.offset + self.rng.normal(0.0, self.step_px, 2), -self.max_px, self.max_px)
        return float(self.offset[0]), float(self.offset[1])


@dataclass
class _Placed:
    vehicle: Vehicle
    sprites: list[tuple[Sprite, np.ndarray]]  # each unit's sprite and its points in output pixels
    box: np.ndarray  # unclipped x1 y1 x2 y2


class IntersectionScene:
    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        seed: int,
        classes: Sequence[str],
        lines: Sequence[CountingLine],
        density: float = 1.0,
        occluders: bool = True,
        warmup_s: float = WARMUP_S,
        conditions: str | Sequence[str] = (),
        render: bool = True,
        view: str = "top",
        pole: PoleCamera | None = None,
    ):
        """`conditions`: any of CONDITIONS (see the module doc). `render=False` skips drawing:
        next_frame() returns None for the image and the same ground truth (for evaluations).

        `view`: "top" (the map seen from above, the default) or "pole" (a camera on a pole at a
        corner, `pole` or PoleCamera() by default: 8 m high, 30 degrees down, 100 degrees wide).
        `lines` are on the map in both views. Attributes of the view: `view_lines` (the lines in
        the image: `lines` themselves in the top view), `ground_to_image` / `image_to_ground`
        (3x3, map px <-> image px), `ground_homography` (9 floats row-major, image px -> ground
        metres: the tracker's `ground_homography`), `pole_view` (the solved PoleView, or None).
        In the pole view the visible fraction is measured on an id buffer of at most
        pole_frame.ID_BUFFER_WIDTH columns (half resolution at 1280x720), with or without `render`,
        and `view_lines` extend each line's ends by views.LINE_EXTENSION_M on the ground (the
        anchor of a box in perspective lies off the body, towards the camera)."""
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")
        if view == "top" and pole is not None:
            raise ValueError("a pole camera was given for the top view (set view='pole')")
        if width < 64 or height < 64:
            raise ValueError(f"scene size {width}x{height} is below 64x64")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        if density < 0:
            raise ValueError(f"density must be >= 0, got {density}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.conditions = parse_conditions(conditions)
        self.render = bool(render)
        if "dense" in self.conditions:
            density *= DENSE_FACTOR
        if "stop_and_go" in self.conditions:
            density *= STOP_AND_GO_DENSITY_FACTOR
        self.lines = list(lines)
        self.scale = np.array([self.width / road_network.BASE_WIDTH, self.height / road_network.BASE_HEIGHT])
        self.pixels_per_meter = PIXELS_PER_METER * float(self.scale[0])
        # independent streams: changing the look (e.g. the occluder) never changes the traffic
        traffic_seq, render_seq, noise_seq, look_seq = np.random.SeedSequence(seed).spawn(4)
        plan = STOP_AND_GO_SIGNAL_PLAN if "stop_and_go" in self.conditions else SIGNAL_PLAN
        self.traffic = Traffic(np.random.default_rng(traffic_seq), list(classes), density, signal_plan=plan)
        look = Look(
            night="night" in self.conditions,
            rain="rain" in self.conditions,
            second_canopy="dense" in self.conditions and occluders,
        )
        look_rng = np.random.default_rng(look_seq)
        render_rng = np.random.default_rng(render_seq)
        self.renderer = SceneRenderer(self.width, self.height, render_rng, occluders, look, look_rng)
        self.view = view
        self._setup_view(pole, render_rng, look, occluders)
        self._noise_rng = np.random.default_rng(noise_seq)
        self._shake = (
            _CameraShake(look_rng, JITTER_MAX_PX * float(self.scale[0]), JITTER_STEP_PX * float(self.scale[0]))
            if "jitter" in self.conditions
            else None
        )
        self._sprites: dict[int, list[Sprite]] = {}
        self._anchors: dict[int, tuple[float, float]] = {}
        self._totals: Counter = Counter()
        self._entries: dict[int, tuple[Crossing, float]] = {}  # vehicle number -> entry crossing, time
        self._movements: list[GroundTruthMovement] = []
        self.frame_count = 0
        step = 1.0 / self.fps
        for _ in range(int(round(warmup_s * self.fps))):
            self.traffic.step(step)
        self._start_time = self.traffic.time
        if self.pole_view is not None:
            self._anchors = frame_anchors(self._pole_geometry.frame(self.traffic.vehicles), self.width, self.height)
        else:
            self._anchors = {p.vehicle.number: self._anchor(p.box) for p in self._place_all()}

    def _setup_view(self, pole: PoleCamera | None, rng: np.random.Generator, look: Look, occluders: bool) -> None:
        self.pole_view: PoleView | None = None
        if self.view == "top":
            self.view_lines: list[CountingLine] = list(self.lines)
            self.ground_to_image = np.eye(3)
            self.image_to_ground = np.eye(3)
            metres = np.diag([1.0 / (PIXELS_PER_METER * self.scale[0]), 1.0 / (PIXELS_PER_METER * self.scale[1]), 1.0])
            self.ground_homography = tuple(float(v) for v in metres.ravel())
            return
        self.pole_view = PoleView(pole if pole is not None else PoleCamera(), self.width, self.height)
        world = PoleWorld(
            self.pole_view,
            self.renderer.base_background,
            self.renderer.buildings,
            rng,
            look,
            occluders,
            id_scale(self.width),
            draw=self.render,
        )
        self._pole_geometry = PoleGeometry(self.pole_view, world)
        self._pole_renderer = PoleRenderer(self.pole_view, world, look, self.renderer) if self.render else None
        self.view_lines = view_lines(self.lines, self.pole_view)
        self.ground_to_image = self.pole_view.ground_to_image
        self.image_to_ground = self.pole_view.image_to_ground
        self.ground_homography = self.pole_view.ground_homography

    # -- public ---------------------------------------------------------------------------
    def next_frame(self) -> tuple[np.ndarray | None, GroundTruth]:
        """Advance the scene by 1/fps and return (BGR image, ground truth of that frame)."""
        self.traffic.step(1.0 / self.fps)
        self.frame_count += 1
        if self.pole_view is not None:
            return self._next_pole_frame()
        placed = self._place_all()
        shift = self._shake.step() if self._shake is not None else (0.0, 0.0)
        image = self._draw(placed, shift) if self.render else None
        time_s = self.traffic.time - self._start_time
        crossings = self._crossings(placed)
        movements, self._movements = self._movements, []
        truth = GroundTruth(self._objects(placed, shift), crossings, time_s, shift, movements)
        return image, truth

    def _draw(self, placed: list[_Placed], shift: tuple[float, float]) -> np.ndarray:
        image = self.renderer.start_frame()
        self.renderer.draw_signals(image, self.traffic.signals)
        for p in placed:
            for sprite, pixels in p.sprites:
                draw_sprite(image, sprite, pixels, self.pixels_per_meter)
        offset_y, offset_x = self._noise_rng.integers(0, 32, 2)
        offset = (int(offset_y), int(offset_x))
        lights = [(p.sprites[0][1][0], p.sprites[0][1][3]) for p in placed] if self.renderer.look.night else ()
        self.renderer.finish_frame(image, offset, lights)
        if shift != (0.0, 0.0):
            # the whole view moves (background, vehicles, occluder): a translation of the camera
            matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], dtype=np.float32)
            image = cv2.warpAffine(image, matrix, (self.width, self.height), borderMode=cv2.BORDER_REPLICATE)
        return image

    def ground_truth_totals(self) -> dict[tuple[str, str, str], int]:
        """Crossings so far (frames produced since construction) per (line id, label, direction)."""
        return dict(self._totals)

    @property
    def signals(self) -> dict[str, str]:
        return dict(self.traffic.signals)

    # -- geometry -------------------------------------------------------------------------
    def _place_all(self) -> list[_Placed]:
        alive = {v.number for v in self.traffic.vehicles}
        for gone in [n for n in self._sprites if n not in alive]:
            del self._sprites[gone]
        return [self._place(v) for v in self.traffic.vehicles]

    def _place(self, v: Vehicle) -> _Placed:
        sprites = self._sprites.get(v.number)
        if sprites is None:
            sprites = self._sprites[v.number] = [make_sprite(u) for u in v.units]
        placed, corners = [], []
        for unit, sprite in zip(v.units, sprites):
            front, axis = unit_pose(v, unit)
            pixels = place(sprite.points, front, axis, PIXELS_PER_METER, self.scale)
            placed.append((sprite, pixels))
            corners.append(pixels[:4])
        allc = np.concatenate(corners)
        box = np.array([allc[:, 0].min(), allc[:, 1].min(), allc[:, 0].max(), allc[:, 1].max()])
        return _Placed(v, placed, box)

    @staticmethod
    def _anchor(box: np.ndarray) -> tuple[float, float]:
        return float((box[0] + box[2]) / 2.0), float(box[3])

    def _in_image(self, box: np.ndarray) -> bool:
        return box[2] > 0 and box[3] > 0 and box[0] < self.width and box[1] < self.height

    # -- ground truth ---------------------------------------------------------------------
    def _objects(self, placed: list[_Placed], shift: tuple[float, float] = (0.0, 0.0)) -> Detections:
        # visibility is that of the unshaken view; a shake of a few pixels barely changes it
        visible = [p for p in placed if self._in_image(p.box + np.array([*shift, *shift]))]
        if not visible:
            return Detections.empty()
        boxes = np.array([p.box for p in visible], np.float64) + np.array([*shift, *shift])
        clipped = boxes.copy()
        clipped[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, self.width)
        clipped[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, self.height)
        order = {id(p): i for i, p in enumerate(placed)}
        scores = [self._visible_fraction(p, placed[order[id(p)] + 1 :]) for p in visible]
        return Detections(
            clipped.astype(np.float32),
            np.array(scores, np.float32),
            [p.vehicle.label for p in visible],
            [p.vehicle.object_id for p in visible],
        )

    def _visible_fraction(self, p: _Placed, drawn_later: list[_Placed]) -> float:
        """Share of the footprint that is inside the image, not under the occluder and not under
        vehicles drawn after it."""
        x1, y1, x2, y2 = p.box
        covering = [q for q in drawn_later if q.box[0] < x2 and q.box[2] > x1 and q.box[1] < y2 and q.box[3] > y1]
        occ = self.renderer.occluder_box
        under_occluder = occ is not None and occ[0] < x2 and occ[2] > x1 and occ[1] < y2 and occ[3] > y1
        inside = x1 >= 0 and y1 >= 0 and x2 <= self.width and y2 <= self.height
        if inside and not covering and not under_occluder:
            return 1.0
        ox, oy = int(np.floor(x1)), int(np.floor(y1))
        mask = np.zeros((int(np.ceil(y2)) - oy + 1, int(np.ceil(x2)) - ox + 1), np.uint8)
        offset = np.array([ox, oy], np.float64)
        for _, pixels in p.sprites:
            fill_footprint(mask, pixels[:4] - offset, 1)
        total = int(np.count_nonzero(mask))
        if total == 0:
            return 0.0
        for q in covering:
            for _, pixels in q.sprites:
                fill_footprint(mask, pixels[:4] - offset, 0)
        # keep only the part of the mask that lies inside the image
        ix0, iy0 = max(0, -ox), max(0, -oy)
        ix1 = min(mask.shape[1], self.width - ox)
        iy1 = min(mask.shape[0], self.height - oy)
        if ix1 <= ix0 or iy1 <= iy0:
            return 0.0
        seen = mask[iy0:iy1, ix0:ix1].astype(bool)
        if under_occluder:
            seen &= ~self.renderer.occluder_mask[oy + iy0 : oy + iy1, ox + ix0 : ox + ix1]
        return min(1.0, int(np.count_nonzero(seen)) / total)

    def _crossings(self, placed: list[_Placed]) -> list[GroundTruthCrossing]:
        found = []
        anchors = {}
        for p in placed:
            number = p.vehicle.number
            anchor = self._anchor(p.box)
            anchors[number] = anchor
            previous = self._anchors.get(number)
            if previous is None:
                continue
            for line in self.lines:
                crossing = line.crossing(previous, anchor)
                if crossing is None:
                    continue
                speed = float(np.hypot(anchor[0] - previous[0], anchor[1] - previous[1])) * self.fps
                found.append(GroundTruthCrossing(p.vehicle.object_id, p.vehicle.label, crossing, speed))
                self._totals[crossing.line_id, p.vehicle.label, crossing.direction] += 1
                self._movement_step(p.vehicle, crossing)
        self._anchors = anchors
        return found

    # -- the pole view ---------------------------------------------------------------------
    def _next_pole_frame(self) -> tuple[np.ndarray | None, GroundTruth]:
        frame = self._pole_geometry.frame(self.traffic.vehicles)
        shift = self._shake.step() if self._shake is not None else (0.0, 0.0)
        image = None
        if self._pole_renderer is not None:
            offset_y, offset_x = self._noise_rng.integers(0, 32, 2)
            image = self._pole_renderer.draw(frame, self.traffic.signals, (int(offset_y), int(offset_x)))
            if shift != (0.0, 0.0):
                matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], dtype=np.float32)
                image = cv2.warpAffine(image, matrix, (self.width, self.height), borderMode=cv2.BORDER_REPLICATE)
        time_s = self.traffic.time - self._start_time
        crossings = self._pole_crossings(frame)
        movements, self._movements = self._movements, []
        objects = frame_detections(frame, shift, self.width, self.height)
        return image, GroundTruth(objects, crossings, time_s, shift, movements)

    def _pole_crossings(self, frame: PoleFrame) -> list[GroundTruthCrossing]:
        anchors = frame_anchors(frame, self.width, self.height)
        vehicles = {v.number: v for v in frame.vehicles}
        found = []
        for number, anchor in anchors.items():
            previous = self._anchors.get(number)
            if previous is None:
                continue
            vehicle = vehicles[number]
            for line in self.view_lines:
                crossing = line.crossing(previous, anchor)
                if crossing is None:
                    continue
                speed = float(np.hypot(anchor[0] - previous[0], anchor[1] - previous[1])) * self.fps
                found.append(GroundTruthCrossing(vehicle.object_id, vehicle.label, crossing, speed))
                self._totals[crossing.line_id, vehicle.label, crossing.direction] += 1
                self._movement_step(vehicle, crossing)
        self._anchors = anchors
        return found

    def _movement_step(self, vehicle: Vehicle, crossing: Crossing) -> None:
        time_s = self.traffic.time - self._start_time
        entry = self._entries.get(vehicle.number)
        if crossing.direction == DIRECTION_IN:
            self._entries.setdefault(vehicle.number, (crossing, time_s))
            return
        if entry is None:
            return  # entered before frame 0: not a movement the frames show
        del self._entries[vehicle.number]
        route = vehicle.route
        exit_heading = road_network.RIGHT_OF[route.approach] if route.name.endswith(".right") else route.approach
        self._movements.append(
            GroundTruthMovement(
                vehicle.object_id,
                vehicle.label,
                route.approach,
                exit_heading,
                entry[0].line_id,
                entry[0].lane,
                crossing.line_id,
                crossing.lane,
                entry[1],
                time_s,
            )
        )
