"""The ground of the pole view, made once: the top-down map warped into the camera's image.

The map ends 70 m from the junction while the camera sees to the horizon, so the map is first
set into a larger lawn with its four roads going on (a stretch of each arm tiled outwards, in
step with the lane-marking dashes). Sampling picks the level of an image pyramid that matches
the local minification (far markings do not shimmer or alias); where the map is magnified
(near the pole) a static fine grain stands in for detail the map does not have. Distance fades
the ground into the horizon's haze; above the horizon: sky, then a distant skyline on top.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .render import Look, _textured
from .road_network import HORIZONTAL_ROAD, PIXELS_PER_METER, VERTICAL_ROAD
from .views import PoleView

EXTEND_PX = (768, 432)  # base px of lawn and road added on each side of the map
DASH_PERIOD_PX = 28  # render._dashed: 16 px dash + 12 px gap, from the map's edges
TILE_PX = 6 * DASH_PERIOD_PX
KERB_PX = 12
MIP_LEVELS = 5
GRAIN = 3.0  # grey levels of fine grain per octave of magnification
HAZE_M = {"day": 420.0, "rain": 140.0}
SKY = {"day": ((225, 190, 140), (232, 222, 212)), "rain": ((160, 158, 154), (196, 196, 194))}  # zenith, horizon
NIGHT_SKY_GAIN = 0.45  # on top of the night gain of everything: the sky is darker than lit streets
SKYLINE = (182, 176, 170)
WET_GAIN = 0.72  # wet asphalt and grass are darker
GRASS = (72, 118, 84)


def haze_colour(look: Look) -> np.ndarray:
    """Colour distance fades things into (before the night's gain: at night the haze is as dark as the sky)."""
    colour = np.asarray(SKY["rain" if look.rain else "day"][1], np.float32)
    return colour * NIGHT_SKY_GAIN if look.night else colour


def haze_m(look: Look) -> float:
    return HAZE_M["rain" if look.rain else "day"]


def extended_map(base: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(map set into a lawn with its roads going on, asphalt mask of the same), EXTEND_PX larger on each side."""
    ex, ey = EXTEND_PX
    h, w = base.shape[:2]
    small = _textured(GRASS, ((h + 2 * ey) // 2, (w + 2 * ex) // 2), rng, 10.0, 3.0)  # far away: half detail
    canvas = cv2.resize(small, (w + 2 * ex, h + 2 * ey), interpolation=cv2.INTER_LINEAR)
    canvas[ey : ey + h, ex : ex + w] = base
    y0, y1 = int(HORIZONTAL_ROAD[0]) - KERB_PX, int(HORIZONTAL_ROAD[1]) + KERB_PX
    x0, x1 = int(VERTICAL_ROAD[0]) - KERB_PX, int(VERTICAL_ROAD[1]) + KERB_PX
    reps_x, reps_y = -(-ex // TILE_PX), -(-ey // TILE_PX)
    # a tile ending at the map's edge continues the dashes counted from that edge
    canvas[ey + y0 : ey + y1, :ex] = np.tile(base[y0:y1, :TILE_PX], (1, reps_x, 1))[:, -ex:]
    canvas[ey + y0 : ey + y1, ex + w :] = np.tile(base[y0:y1, w - TILE_PX :], (1, reps_x, 1))[:, :ex]
    canvas[:ey, ex + x0 : ex + x1] = np.tile(base[:TILE_PX, x0:x1], (reps_y, 1, 1))[-ey:]
    canvas[ey + h :, ex + x0 : ex + x1] = np.tile(base[h - TILE_PX :, x0:x1], (reps_y, 1, 1))[:ey]
    road = np.zeros(canvas.shape[:2], np.uint8)
    road[ey + int(HORIZONTAL_ROAD[0]) : ey + int(HORIZONTAL_ROAD[1]), :] = 1
    road[:, ex + int(VERTICAL_ROAD[0]) : ex + int(VERTICAL_ROAD[1])] = 1
    return canvas, road


def ground_image(
    view: PoleView, base: np.ndarray, look: Look, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(BGR image of the empty world's ground and sky, mask of the asphalt in it) for `view`."""
    w, h = view.size
    canvas, road = extended_map(base, rng)
    u = np.arange(w, dtype=np.float32)[None, :]
    v = np.arange(h, dtype=np.float32)[:, None]
    m = view.image_to_metres.astype(np.float32)
    sign = np.float32(np.sign(m[2] @ np.array([w / 2, h - 1, 1], np.float32)))  # the bottom row is ground
    wz = (m[2, 0] * u + m[2, 1] * v + m[2, 2]) * sign
    ground = wz > 1e-9
    safe = np.where(ground, wz, np.float32(1.0))
    xm = (m[0, 0] * u + m[0, 1] * v + m[0, 2]) * sign / safe  # ground metres
    ym = (m[1, 0] * u + m[1, 1] * v + m[1, 2]) * sign / safe
    ex, ey = EXTEND_PX
    limit = np.float32(1e6)
    mx = np.clip(xm * PIXELS_PER_METER + ex, -limit, limit)  # extended-canvas px
    my = np.clip(ym * PIXELS_PER_METER + ey, -limit, limit)
    level = _levels(mx, my)
    image = _mip_sample(canvas, mx, my, level)
    road_mask = cv2.remap(road, mx, my, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE) & ground
    grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32) * (GRAIN * np.clip(-level, 0.0, 2.5))
    image += grain[..., None]
    if look.rain:
        image *= WET_GAIN
    cx, cy, cz = (float(c) for c in view.position_m)
    dist = np.sqrt((xm - cx) ** 2 + (ym - cy) ** 2 + cz * cz)
    weight = (1.0 - np.exp(-dist / haze_m(look)))[..., None]
    image = image * (1 - weight) + haze_colour(look) * weight
    sky_rows = int(min(h, max(0.0, math.ceil(max(view.horizon_y(0), view.horizon_y(w))) + 1)))
    if sky_rows:
        sky = _sky(view, look, w, sky_rows)
        np.copyto(image[:sky_rows], sky, where=~ground[:sky_rows, :, None])
    out = np.clip(image, 0, 255).astype(np.uint8)
    _skyline(view, out, rng, look)
    return out, road_mask.astype(np.uint8)


def _levels(mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    """log2 of the map pixels one image pixel spans (< 0: magnified)."""
    dx = np.maximum(np.abs(np.diff(mx, axis=1, append=mx[:, -1:])), np.abs(np.diff(mx, axis=0, append=mx[-1:])))
    dy = np.maximum(np.abs(np.diff(my, axis=1, append=my[:, -1:])), np.abs(np.diff(my, axis=0, append=my[-1:])))
    return np.log2(np.maximum(np.maximum(dx, dy), np.float32(1e-3)))


def _mip_sample(canvas: np.ndarray, mx: np.ndarray, my: np.ndarray, level: np.ndarray) -> np.ndarray:
    level = np.clip(level, 0.0, MIP_LEVELS - 1.0)
    out = np.zeros((*mx.shape, 3), np.float32)
    image = canvas
    for k in range(MIP_LEVELS):
        weight = np.maximum(np.float32(0.0), 1.0 - np.abs(level - k))
        if weight.any():
            f = np.float32(2.0**k)
            offset = np.float32(0.5 * (1.0 - 1.0 / f))  # pixel centres of a pyrDown level
            sample = cv2.remap(
                image, mx / f - offset, my / f - offset, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            out += sample.astype(np.float32) * weight[..., None]
        image = cv2.pyrDown(image)
    return out


def _sky(view: PoleView, look: Look, w: int, rows: int) -> np.ndarray:
    """Sky of the top `rows` image rows: from the horizon's haze up to the zenith's blue."""
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(rows, dtype=np.float64))
    rays = np.linalg.inv(view.intrinsics) @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])
    world = view.rotation.T @ rays
    elevation = np.arctan2(world[2], np.hypot(world[0], world[1])).reshape(rows, w)
    t = np.clip(elevation / math.radians(25.0), 0.0, 1.0)[..., None].astype(np.float32)
    zenith, horizon = SKY["rain" if look.rain else "day"]
    sky = np.asarray(horizon, np.float32) * (1 - t) + np.asarray(zenith, np.float32) * t
    return sky * NIGHT_SKY_GAIN if look.night else sky


def _skyline(view: PoleView, image: np.ndarray, rng: np.random.Generator, look: Look) -> None:
    """Distant blocks standing on the horizon, a few hundred metres away, grey in the haze."""
    w = image.shape[1]
    x = 0
    tall = max(4.0, view.focal_px * 0.06)
    gain = NIGHT_SKY_GAIN if look.night else 1.0
    while x < w:
        width = int(rng.integers(max(6, w // 60), max(12, w // 18)))
        top = int(rng.uniform(0.2, 1.0) * tall)
        horizon = view.horizon_y(x + width / 2.0)
        if math.isfinite(horizon) and horizon > 0:
            shade = gain * float(rng.uniform(0.85, 1.05))
            color = tuple(int(c * shade) for c in SKYLINE)
            cv2.rectangle(image, (x, int(horizon) - top), (x + width, int(horizon) + 1), color, -1)
        x += width
