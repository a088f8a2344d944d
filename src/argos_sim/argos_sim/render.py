"""Pixels of the synthetic intersection: a static background and occluder made once, vehicles
drawn each frame as flat shapes, and mild sensor noise from a precomputed bank.

Layouts are designed in base pixels (1280 x 720) and scaled to the output size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .road_network import BASE_HEIGHT, BASE_WIDTH, HORIZONTAL_ROAD, LANE_WIDTH, STOP_LINE_SETBACK, VERTICAL_ROAD
from .vehicle_classes import UnitShape

SUBPIXEL_BITS = 3
SUBPIXEL = float(1 << SUBPIXEL_BITS)
NOISE_AMPLITUDE = 3  # +- grey levels of sensor noise
NOISE_MARGIN = 32  # the noise bank is larger than a frame; each frame uses a random window
ASPHALT = (78, 78, 80)
MARKING = (222, 222, 222)
SIDEWALK = (172, 174, 170)
SIGNAL_COLORS = {"green": (60, 220, 60), "amber": (0, 190, 255), "red": (40, 40, 235)}
# where each approach's signal head stands (base px, on the right-hand kerb before the box) and its axis
SIGNAL_HEADS = (((550.0, 436.0), "ew"), ((730.0, 284.0), "ew"), ((564.0, 270.0), "ns"), ((716.0, 450.0), "ns"))
CANOPY_CENTER = (1010.0, 290.0)  # the tree over the east arm, clear of the counting line at x 860
# "dense" scenes: a second tree over the southbound lanes of the north arm, ending just before the
# counting line at y 200, so southbound tracks must coast through it right before they count
SECOND_CANOPY_CENTER = (606.0, 112.0)
NIGHT_GAIN = 0.3  # scene brightness at night (low contrast: 78 grey -> 23)
NIGHT_OFFSET = 6
HEADLIGHT = (215, 235, 245)
HEADLIGHT_RADIUS = 2.5  # base px
HEADLIGHT_THROW = 22.0  # base px: length of the light pool ahead of a vehicle
RAIN_NOISE_AMPLITUDE = 10  # +- grey levels on top of the sensor noise
RAIN_STREAKS = 160  # per frame
RAIN_STREAK = (10.0, 3.0)  # base px per streak: down, sideways (wind)
RAIN_STREAK_GAIN = 38  # grey levels a streak adds


@dataclass
class Sprite:
    """One rigid unit's drawing: footprint corners (first 4 points), decoration polygons, discs."""

    points: np.ndarray  # (M, 2) unit-local metres (u back from front, v across)
    polygons: list[tuple[int, int, tuple]]  # (first point, end point, BGR)
    discs: list[tuple[int, float, tuple]]  # (centre point index, radius m, BGR)


def make_sprite(unit: UnitShape) -> Sprite:
    w = unit.width_m / 2
    chunks = [np.array([(0, -w), (unit.length_m, -w), (unit.length_m, w), (0, w)], np.float64)]
    polygons, discs = [], []
    count = 4
    for deco in unit.decorations:
        if deco.polygon is not None:
            chunks.append(deco.polygon)
            polygons.append((count, count + len(deco.polygon), deco.color))
            count += len(deco.polygon)
        else:
            chunks.append(np.array([deco.center], np.float64))
            discs.append((count, deco.radius, deco.color))
            count += 1
    return Sprite(np.concatenate(chunks), polygons, discs)


def place(points_m: np.ndarray, front: np.ndarray, axis: np.ndarray, ppm: float, scale: np.ndarray) -> np.ndarray:
    """Unit-local metres -> output pixels, given the unit's front point (base px) and forward axis."""
    normal = np.array([-axis[1], axis[0]])
    base = front + np.outer(points_m[:, 0], -axis * ppm) + np.outer(points_m[:, 1], normal * ppm)
    return base * scale


def draw_sprite(image: np.ndarray, sprite: Sprite, pixels: np.ndarray, px_per_m: float) -> None:
    fixed = np.round(pixels * SUBPIXEL).astype(np.int32)
    for start, end, color in sprite.polygons:
        cv2.fillConvexPoly(image, fixed[start:end], color, cv2.LINE_8, SUBPIXEL_BITS)
    for index, radius_m, color in sprite.discs:
        cv2.circle(
            image,
            (int(fixed[index, 0]), int(fixed[index, 1])),
            max(1, int(round(radius_m * px_per_m * SUBPIXEL))),
            color,
            -1,
            cv2.LINE_8,
            SUBPIXEL_BITS,
        )


def fill_footprint(mask: np.ndarray, corners: np.ndarray, value: int) -> None:
    cv2.fillConvexPoly(mask, np.round(corners * SUBPIXEL).astype(np.int32), value, cv2.LINE_8, SUBPIXEL_BITS)


def _texture(rng: np.random.Generator, shape: tuple[int, int], coarse: int, amplitude: float) -> np.ndarray:
    small = rng.normal(0.0, amplitude, (max(2, shape[0] // coarse), max(2, shape[1] // coarse))).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _textured(base_color, shape, rng, coarse_amp, fine_amp) -> np.ndarray:
    variation = _texture(rng, shape, 40, coarse_amp) + rng.normal(0.0, fine_amp, shape).astype(np.float32)
    img = np.asarray(base_color, np.float32)[None, None, :] + variation[:, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _dashed(img, p0, p1, dash=16, gap=12, thickness=2):
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = float(np.linalg.norm(p1 - p0))
    d = (p1 - p0) / length
    t = 0.0
    while t < length:
        a, b = p0 + d * t, p0 + d * min(t + dash, length)
        cv2.line(img, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), MARKING, thickness)
        t += dash + gap


@dataclass(frozen=True)
class Building:
    """A roof of the top-down map (base px), for views that stand it up in 3D."""

    x: int
    y: int
    w: int
    h: int
    roof: tuple[int, int, int]


def _buildings(img: np.ndarray, rng: np.random.Generator) -> list[Building]:
    roofs = ((120, 120, 150), (90, 90, 140), (150, 150, 150), (100, 110, 120), (70, 90, 160))
    blocks = ((40, 40, 540, 260), (740, 40, 1240, 260), (40, 460, 540, 680), (740, 460, 1240, 680))
    drawn = []
    for x0, y0, x1, y1 in blocks:
        for _ in range(3):
            w, h = int(rng.integers(70, 150)), int(rng.integers(50, 110))
            x = int(rng.integers(x0, x1 - w))
            y = int(rng.integers(y0, y1 - h))
            roof = roofs[int(rng.integers(len(roofs)))]
            cv2.rectangle(img, (x, y), (x + w, y + h), roof, -1)
            cv2.line(img, (x, y + h // 2), (x + w, y + h // 2), tuple(int(c * 0.75) for c in roof), 2)
            cv2.rectangle(img, (x, y), (x + w, y + h), (60, 60, 60), 1)
            drawn.append(Building(x, y, w, h, roof))
    return drawn


def _road_surface(rng: np.random.Generator, buildings: list[Building] | None = None) -> np.ndarray:
    img = _textured((72, 118, 84), (BASE_HEIGHT, BASE_WIDTH), rng, 10.0, 4.0)  # grass
    drawn = _buildings(img, rng)
    if buildings is not None:
        buildings.extend(drawn)
    y0, y1 = (int(v) for v in HORIZONTAL_ROAD)
    x0, x1 = (int(v) for v in VERTICAL_ROAD)
    kerb = 12
    road_mask = np.zeros((BASE_HEIGHT, BASE_WIDTH), np.uint8)
    cv2.rectangle(road_mask, (0, y0 - kerb), (BASE_WIDTH, y1 + kerb), 1, -1)
    cv2.rectangle(road_mask, (x0 - kerb, 0), (x1 + kerb, BASE_HEIGHT), 1, -1)
    sidewalk = _textured(SIDEWALK, road_mask.shape, rng, 3.0, 3.0)
    img[road_mask > 0] = sidewalk[road_mask > 0]
    road_mask[:] = 0
    cv2.rectangle(road_mask, (0, y0), (BASE_WIDTH, y1), 1, -1)
    cv2.rectangle(road_mask, (x0, 0), (x1, BASE_HEIGHT), 1, -1)
    asphalt = _textured(ASPHALT, road_mask.shape, rng, 4.0, 3.0)
    img[road_mask > 0] = asphalt[road_mask > 0]
    return img


def _markings(img: np.ndarray) -> None:
    y0, y1 = HORIZONTAL_ROAD
    x0, x1 = VERTICAL_ROAD
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    for a, b in (
        ((0, cy), (x0 - STOP_LINE_SETBACK, cy)),
        ((x1 + STOP_LINE_SETBACK, cy), (BASE_WIDTH, cy)),
        ((cx, 0), (cx, y0 - STOP_LINE_SETBACK)),
        ((cx, y1 + STOP_LINE_SETBACK), (cx, BASE_HEIGHT)),
    ):
        cv2.line(img, tuple(int(v) for v in a), tuple(int(v) for v in b), MARKING, 2)  # direction divider
    for offset in (-LANE_WIDTH, LANE_WIDTH):
        _dashed(img, (0, cy + offset), (x0 - STOP_LINE_SETBACK, cy + offset))
        _dashed(img, (BASE_WIDTH, cy + offset), (x1 + STOP_LINE_SETBACK, cy + offset))
        _dashed(img, (cx + offset, 0), (cx + offset, y0 - STOP_LINE_SETBACK))
        _dashed(img, (cx + offset, BASE_HEIGHT), (cx + offset, y1 + STOP_LINE_SETBACK))
    s = STOP_LINE_SETBACK
    # stop lines across each approach's own lanes, where front bumpers wait
    cv2.rectangle(img, (int(x0 - s - 1), int(cy)), (int(x0 - s + 3), int(y1)), MARKING, -1)  # eastbound
    cv2.rectangle(img, (int(x1 + s - 3), int(y0)), (int(x1 + s + 1), int(cy)), MARKING, -1)  # westbound
    cv2.rectangle(img, (int(x0), int(y0 - s - 1)), (int(cx), int(y0 - s + 3)), MARKING, -1)  # southbound
    cv2.rectangle(img, (int(cx), int(y1 + s - 3)), (int(x1), int(y1 + s + 1)), MARKING, -1)  # northbound
    for k in range(int((y1 - y0) // 10)):  # zebra crossings between stop lines and the box
        y = int(y0 + 3 + k * 10)
        cv2.rectangle(img, (int(x0 - s + 7), y), (int(x0 - 3), y + 5), MARKING, -1)
        cv2.rectangle(img, (int(x1 + 3), y), (int(x1 + s - 7), y + 5), MARKING, -1)
    for k in range(int((x1 - x0) // 10)):
        x = int(x0 + 3 + k * 10)
        cv2.rectangle(img, (x, int(y0 - s + 7)), (x + 5, int(y0 - 3)), MARKING, -1)
        cv2.rectangle(img, (x, int(y1 + 3)), (x + 5, int(y1 + s - 7)), MARKING, -1)


def _canopy(rng: np.random.Generator, center=CANOPY_CENTER) -> tuple[np.ndarray, np.ndarray]:
    """A tree crown (BGR layer and mask, base size), by default over the westbound lanes of the east arm."""
    layer = np.zeros((BASE_HEIGHT, BASE_WIDTH, 3), np.uint8)
    mask = np.zeros((BASE_HEIGHT, BASE_WIDTH), np.uint8)
    cx, cy = center
    for _ in range(16):
        angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 30)
        r = int(rng.integers(18, 30))
        center = (int(cx + dist * np.cos(angle)), int(cy + dist * np.sin(angle) * 0.9))
        shade = int(rng.integers(-18, 18))
        cv2.circle(layer, center, r, (40 + shade, 96 + shade, 52 + shade), -1, cv2.LINE_AA)
        cv2.circle(mask, center, r, 1, -1)
    leaves = _texture(rng, mask.shape, 4, 14.0)[:, :, None]
    layer = np.clip(layer.astype(np.float32) + leaves, 0, 255).astype(np.uint8)
    return layer, mask


@dataclass(frozen=True)
class Look:
    """How the scene is seen, beyond the default clear day."""

    night: bool = False
    rain: bool = False
    second_canopy: bool = False


class SceneRenderer:
    def __init__(
        self,
        width: int,
        height: int,
        rng: np.random.Generator,
        occluders: bool,
        look: Look = Look(),
        look_rng: np.random.Generator | None = None,
    ):
        self.size = (width, height)
        self.scale = np.array([width / BASE_WIDTH, height / BASE_HEIGHT])
        self.look = look
        # the default look draws nothing from look_rng, so its frames never change
        self._look_rng = look_rng if look_rng is not None else np.random.default_rng(0)
        self.buildings: list[Building] = []
        background = _road_surface(rng, self.buildings)
        _markings(background)
        self.base_background = background  # at BASE_WIDTH x BASE_HEIGHT, for views that warp it (read only)
        layer, mask = _canopy(rng)
        if look.second_canopy:
            layer2, mask2 = _canopy(self._look_rng, SECOND_CANOPY_CENTER)
            np.copyto(layer, layer2, where=mask2[:, :, None] > 0)
            mask |= mask2
        if (width, height) != (BASE_WIDTH, BASE_HEIGHT):
            background = cv2.resize(background, (width, height), interpolation=cv2.INTER_AREA)
            layer = cv2.resize(layer, (width, height), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        self.background = background
        self.occluder_mask = mask.astype(bool) if occluders else np.zeros((height, width), bool)
        ys, xs = np.nonzero(self.occluder_mask)
        self.occluder_box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None
        if self.occluder_box:
            x0, y0, x1, y1 = self.occluder_box
            self._occluder_pixels = layer[y0:y1, x0:x1]
            self._occluder_local_mask = self.occluder_mask[y0:y1, x0:x1]
        noise = rng.integers(
            0, 2 * NOISE_AMPLITUDE + 1, (height + NOISE_MARGIN, width + NOISE_MARGIN, 3), dtype=np.uint8
        )
        self._noise = noise
        if look.rain:
            self._rain_noise = self._look_rng.integers(
                0, 2 * RAIN_NOISE_AMPLITUDE + 1, (height + NOISE_MARGIN, width + NOISE_MARGIN, 1), dtype=np.uint8
            )

    def start_frame(self) -> np.ndarray:
        return self.background.copy()

    def draw_signals(self, image: np.ndarray, signals: dict[str, str]) -> None:
        r = max(2, int(round(5 * self.scale[0])))
        for (x, y), axis in SIGNAL_HEADS:
            px, py = int(x * self.scale[0]), int(y * self.scale[1])
            cv2.rectangle(image, (px - r - 2, py - r - 2), (px + r + 2, py + r + 2), (25, 25, 25), -1)
            cv2.circle(image, (px, py), r, SIGNAL_COLORS[signals[axis]], -1)

    def finish_frame(
        self, image: np.ndarray, noise_offset: tuple[int, int], headlights: Sequence[tuple[np.ndarray, np.ndarray]] = ()
    ) -> np.ndarray:
        """Occluder, then the look (night: darkness and the `headlights`, pairs of a vehicle's
        front corners in output pixels; rain: streaks and grain), then sensor noise."""
        if self.occluder_box:
            x0, y0, x1, y1 = self.occluder_box
            region = image[y0:y1, x0:x1]
            np.copyto(region, self._occluder_pixels, where=self._occluder_local_mask[:, :, None])
        if self.look.night:
            cv2.convertScaleAbs(image, dst=image, alpha=NIGHT_GAIN, beta=NIGHT_OFFSET)
            self._draw_headlights(image, headlights)
        if self.look.rain:
            self.add_rain(image, noise_offset)
        self.add_sensor_noise(image, noise_offset)
        return image

    def add_rain(
        self,
        image: np.ndarray,
        noise_offset: tuple[int, int],
        streaks: int = RAIN_STREAKS,
        streak: tuple[float, float] = RAIN_STREAK,
        spread: tuple[float, float] = (0.6, 1.4),
    ) -> None:
        """Streaks (from the look stream: `streaks` of `streak` base px down and sideways, times a
        factor within `spread`) and heavy grain (a window of the rain noise bank)."""
        h, w = image.shape[:2]
        dy, dx = noise_offset
        self._draw_rain(image, streaks, streak, spread)
        grain = self._rain_noise[dy : dy + h, dx : dx + w]
        cv2.add(image, np.repeat(grain, 3, axis=2), dst=image)
        cv2.subtract(image, (RAIN_NOISE_AMPLITUDE,) * 3 + (0,), dst=image)  # type: ignore[call-overload]

    def add_sensor_noise(self, image: np.ndarray, noise_offset: tuple[int, int]) -> None:
        h, w = image.shape[:2]
        dy, dx = noise_offset
        cv2.add(image, self._noise[dy : dy + h, dx : dx + w], dst=image)
        # cv2's stubs take no Scalar (a tuple) as the second operand; OpenCV does
        cv2.subtract(image, (NOISE_AMPLITUDE,) * 3 + (0,), dst=image)  # type: ignore[call-overload]

    def _draw_headlights(self, image: np.ndarray, headlights) -> None:
        r = max(1, int(round(HEADLIGHT_RADIUS * self.scale[0] * SUBPIXEL)))
        glow = np.zeros_like(image)
        for left, right in headlights:
            left, right = np.asarray(left, np.float64), np.asarray(right, np.float64)
            across = right - left
            ahead = np.array([across[1], -across[0]])  # forward: the corners run left to right
            norm = float(np.hypot(*ahead))
            if norm < 1e-6:
                continue
            ahead *= HEADLIGHT_THROW * self.scale[0] / norm
            pool = np.array([left, right, right + ahead + across * 0.3, left + ahead - across * 0.3])
            cv2.fillConvexPoly(
                glow, np.round(pool * SUBPIXEL).astype(np.int32), (50, 55, 55), cv2.LINE_8, SUBPIXEL_BITS
            )
            for lamp in (left + across * 0.2, right - across * 0.2):
                if self.occluder_mask[
                    min(max(int(lamp[1]), 0), self.size[1] - 1), min(max(int(lamp[0]), 0), self.size[0] - 1)
                ]:
                    continue
                cv2.circle(
                    image,
                    (int(round(lamp[0] * SUBPIXEL)), int(round(lamp[1] * SUBPIXEL))),
                    r,
                    HEADLIGHT,
                    -1,
                    cv2.LINE_8,
                    SUBPIXEL_BITS,
                )
        glow[self.occluder_mask] = 0
        cv2.add(image, glow, dst=image)

    def _draw_rain(self, image: np.ndarray, count: int, streak: tuple[float, float], spread) -> None:
        h, w = image.shape[:2]
        rng = self._look_rng
        streaks = np.zeros((h, w), np.uint8)
        starts = rng.uniform((0, 0), (w, h), (count, 2))
        step = np.array([streak[1], streak[0]]) * self.scale
        for (x, y), k in zip(starts, rng.uniform(spread[0], spread[1], count)):
            cv2.line(streaks, (int(x), int(y)), (int(x + step[0] * k), int(y + step[1] * k)), RAIN_STREAK_GAIN, 1)
        cv2.add(image, cv2.merge([streaks, streaks, streaks]), dst=image)
