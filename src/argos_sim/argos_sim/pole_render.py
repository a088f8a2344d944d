"""Colour pixels of one pole-view frame: the baked static world, what vehicles put on the road
(sun shadows by day, wet reflections in rain, headlight pools at night), the vehicles' blocks
and the static things they overlap in painter's order, then the look (rain streaks and grain,
sensor noise) from the same banks and streams as the top view.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import pole_draw as pd
from .bodies import HEAD, LAMPS_NONE, SINGLE, TAIL
from .pole_frame import EDGE_BACK, EDGE_FRONT, PoleFrame
from .pole_ground import haze_colour, haze_m
from .pole_static import NIGHT_GAIN, NIGHT_OFFSET, PoleWorld
from .render import HEADLIGHT, SIGNAL_COLORS, Look, SceneRenderer
from .views import NEAR_M, PoleView

LAMP_RADIUS_M = 0.11
LAMP_HEIGHT = 0.6  # of the lamp block's height
HALO = (70, 84, 90)
TAIL_LIGHT = (36, 30, 190)
POOL_THROW_M, POOL_SPREAD = 11.0, 1.8  # light pool ahead of a vehicle: length, widening of its far end
POOL_GLOW = ((34, 38, 40), (30, 34, 34))  # far pool, near half added on top
REFLECTION_GAIN = 0.4
REFLECTION_SMEAR = 0.035  # vertical smear of a wet reflection, fraction of the image height
RAIN_STREAKS, RAIN_STREAK, RAIN_SPREAD = 420, (16.0, 3.5), (0.5, 2.2)
POOL_SCALE = 4  # pools are drawn at 1/4 resolution and blurred: soft edges for little work
SMOOTH = True  # anti-aliased vehicle faces (pole_draw.draw_prism)
FRONT_EDGE, BACK_EDGE = 3, 1  # side faces of an unclipped block (pole_frame.BOX_EDGES)


class PoleRenderer:
    def __init__(self, view: PoleView, world: PoleWorld, look: Look, renderer: SceneRenderer):
        self.view, self.world, self.look, self.renderer = view, world, look, renderer
        self.lighting = pd.light(look.night, look.rain)
        self._haze = haze_colour(look).astype(np.float64)
        self._haze_m = haze_m(look)
        w, h = view.size
        self._smear = max(3, int(round(REFLECTION_SMEAR * h)) | 1)
        self._scratch = np.zeros((h, w), np.uint8)

    def draw(self, f: PoleFrame, signals: dict[str, str], noise_offset: tuple[int, int]) -> np.ndarray:
        assert self.world.background is not None
        image = self.world.background.copy()
        self._signal_lamps(image, range(len(self.world.items)), signals)
        blocks = np.flatnonzero(f.drawn)
        colors, visible = self._colors(f, blocks)
        if self.look.rain:
            self._reflections(image, f, colors)
        if self.look.night:
            self._light_pools(image, f)
        else:  # overcast rain: only the dark patch under a body; sun: shadows cast aside
            self._shadows(image, f, blocks, offset=not self.look.rain)
        n = len(f.specs)
        full = pd.fixed(f.points)
        k = full.shape[1] // 2
        for item in f.order:
            if item < n:
                side, top = colors[item]
                pd.draw_prism(image, full[item, :k], full[item, k:], visible[item], side, top, SMOOTH)
                if self.look.night and f.specs[item].lamps != LAMPS_NONE:
                    self._lamps(image, f, item, visible[item])
            else:
                static = self.world.items[item - n]
                x0, y0, x1, y1 = static.box
                assert static.patch is not None
                np.copyto(image[y0:y1, x0:x1], static.patch, where=static.mask[..., None])
                self._signal_lamps(image, [item - n], signals)
        if self.look.rain:  # nearer drops: more and longer streaks than from high above
            self.renderer.add_rain(image, noise_offset, RAIN_STREAKS, RAIN_STREAK, RAIN_SPREAD)
        self.renderer.add_sensor_noise(image, noise_offset)
        return image

    # -- vehicles -------------------------------------------------------------------------
    def _colors(self, f: PoleFrame, blocks: np.ndarray) -> tuple[dict[int, tuple[list, tuple]], dict[int, np.ndarray]]:
        """Per drawn block: (colour of each side face, colour of the top), shaded, hazed, night
        gain; and which of its side faces the camera sees."""
        out: dict[int, tuple[list, tuple]] = {}
        seen: dict[int, np.ndarray] = {}
        if not len(blocks):
            return out, seen
        fp = f.footprint[blocks]
        normals = pd.outward_normals(fp)
        visible = pd.visible_sides(fp, normals, self.world.camera_xy)
        shades = pd.side_shades(normals, self.lighting)
        base = np.array([(b.top, b.side, b.front, b.back) for b in (f.specs[i] for i in blocks)], np.float64)
        edges = f.edges[blocks]
        side_base = np.where(
            (edges == EDGE_FRONT)[..., None],
            base[:, None, 2],
            np.where((edges == EDGE_BACK)[..., None], base[:, None, 3], base[:, None, 1]),
        )
        sides = side_base * shades[..., None]
        tops = base[:, 0] * pd.top_shade(self.lighting)
        dist = np.hypot(np.hypot(*(fp.mean(axis=1) - self.world.camera_xy).T), self.view.position_m[2])
        weight = (1.0 - np.exp(-dist / self._haze_m))[:, None]
        sides = sides * (1 - weight[..., None]) + self._haze * weight[..., None]
        tops = tops * (1 - weight) + self._haze * weight
        if self.look.night:
            sides, tops = sides * NIGHT_GAIN + NIGHT_OFFSET, tops * NIGHT_GAIN + NIGHT_OFFSET
        sides_i = np.clip(sides, 0, 255).astype(np.int32).tolist()
        tops_i = np.clip(tops, 0, 255).astype(np.int32).tolist()
        for j, i in enumerate(blocks.tolist()):
            seen[i] = visible[j]
            out[i] = ([tuple(c) for c in sides_i[j]], tuple(tops_i[j]))
        return out, seen

    def _lamps(self, image: np.ndarray, f: PoleFrame, i: int, visible: np.ndarray) -> None:
        """Head lamps on the front face when the camera sees it, tail lamps on the back face."""
        block = f.specs[i]
        if f.edges[i, FRONT_EDGE] != EDGE_FRONT:
            return  # clipped by the camera's near line: out of the image anyway
        axis, origin = f.unit_axis[i], f.unit_front[i]
        normal = np.array([-axis[1], axis[0]])
        across = [0.0] if block.lamps & SINGLE else [-0.7 * block.half_width, 0.7 * block.half_width]
        z = block.z0 + LAMP_HEIGHT * (block.z1 - block.z0)
        for flag, edge, u, color, size in (
            (HEAD, FRONT_EDGE, block.u0 - 0.02, HEADLIGHT, 1.0),
            (TAIL, BACK_EDGE, block.u1 + 0.02, TAIL_LIGHT, 0.75),
        ):
            if not (block.lamps & flag and visible[edge]):
                continue
            world = np.array([[*(origin - axis * u + normal * v), z] for v in across])
            uv, depth = self.view.project(world)
            for (x, y), d in zip(uv.tolist(), depth.tolist()):
                r = max(1.0, self.view.focal_px * LAMP_RADIUS_M * size / d)
                centre = (int(round(x * 8)), int(round(y * 8)))
                if flag == HEAD:
                    cv2.circle(image, centre, int(r * 2.4 * 8), HALO, -1, cv2.LINE_AA, 3)
                axes = (max(8, int(r * 8 * 1.25)), max(8, int(r * 8 * 0.8)))
                cv2.ellipse(image, centre, axes, 0, 0, 360, color, -1, cv2.LINE_AA, 3)

    # -- on the road ----------------------------------------------------------------------
    def _shadows(self, image: np.ndarray, f: PoleFrame, blocks: np.ndarray, offset: bool) -> None:
        """Day: each block's shadow cast away from the sun onto the ground; overcast: the dark patch under it."""
        if not len(blocks):
            return
        mask = self._scratch
        mask[:] = 0
        fp = f.footprint[blocks]
        if offset:
            shift = pd.SHADOW_PER_M[None, None, :]
            ground = np.concatenate([fp + shift * f.z[blocks, :1, None], fp + shift * f.z[blocks, 1:, None]], axis=1)
        else:
            centre = fp.mean(axis=1, keepdims=True)
            ground = centre + (fp - centre) * 1.12  # a soft contact shadow a little wider than the body
        ahead = np.all(self.view.forward_m(ground) >= NEAR_M, axis=1)  # the ground homography holds in front only
        pts = pd.fixed(_to_image(self.view.metres_to_image, ground[ahead]))
        for hull_points in pts:
            pd.fill(mask, cv2.convexHull(hull_points), 1)
        cv2.copyTo(self.world.shadow_background, mask, image)

    def _light_pools(self, image: np.ndarray, f: PoleFrame) -> None:
        """Night: the road lit ahead of each vehicle, brighter near it, soft at the edges."""
        w, h = self.view.size
        glow = np.zeros((-(-h // POOL_SCALE), -(-w // POOL_SCALE), 3), np.uint8)
        any_pool = False
        for index in np.flatnonzero(f.in_image).tolist():
            first = int(np.searchsorted(f.owner, index))
            mine = f.owner == index
            half = max(f.specs[i].half_width for i in np.flatnonzero(mine).tolist())
            axis = f.unit_axis[first]
            normal = np.array([-axis[1], axis[0]])
            front = f.unit_front[first]
            for throw, color in ((POOL_THROW_M, POOL_GLOW[0]), (POOL_THROW_M * 0.45, POOL_GLOW[1])):
                spread = 1.0 + (POOL_SPREAD - 1.0) * throw / POOL_THROW_M
                quad = np.array(
                    [
                        front + normal * half,
                        front - normal * half,
                        front + axis * throw - normal * half * spread,
                        front + axis * throw + normal * half * spread,
                    ]
                )
                if np.any(self.view.forward_m(quad) < 1.0):
                    continue
                uv = _to_image(self.view.metres_to_image, quad[None])[0] / POOL_SCALE
                pd.fill(glow, pd.fixed(uv), color)
                any_pool = True
        if any_pool:
            soft = cv2.resize(cv2.GaussianBlur(glow, (5, 5), 0), (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.add(image, soft, dst=image, mask=self.world.ground_mask)

    def _reflections(self, image: np.ndarray, f: PoleFrame, colors: dict) -> None:
        """Wet road: each vehicle mirrored in the road plane, dim and smeared downwards."""
        blocks = [i for i in f.order if i < len(f.specs)]
        if not blocks:
            return
        ring = np.concatenate(
            [
                np.concatenate([f.footprint[blocks], -np.repeat(f.z[blocks, None, :1], f.footprint.shape[1], 1)], 2),
                np.concatenate([f.footprint[blocks], -np.repeat(f.z[blocks, None, 1:], f.footprint.shape[1], 1)], 2),
            ],
            axis=1,
        )
        uv, _ = self.view.project(ring)
        lo = np.floor(np.nanmin(uv.reshape(-1, 2), axis=0)).astype(int)
        hi = np.ceil(np.nanmax(uv.reshape(-1, 2), axis=0)).astype(int)
        w, h = self.view.size
        x0, y0 = max(0, lo[0]), max(0, lo[1])
        x1, y1 = min(w, hi[0] + 1), min(h, hi[1] + self._smear)
        if x1 <= x0 or y1 <= y0:
            return
        layer = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        pts = pd.fixed(uv - (x0, y0))
        for j, i in enumerate(blocks):
            side, _ = colors[i]
            pd.fill(layer, cv2.convexHull(pts[j]), side[0])
        layer = cv2.blur(layer, (3, self._smear), anchor=(1, 0), borderType=cv2.BORDER_CONSTANT)
        cv2.convertScaleAbs(layer, dst=layer, alpha=REFLECTION_GAIN)
        region = image[y0:y1, x0:x1]
        cv2.add(region, layer, dst=region, mask=self.world.wet_mask[y0:y1, x0:x1])

    def _signal_lamps(self, image: np.ndarray, items, signals: dict[str, str]) -> None:
        for j in items:
            lamp = self.world.items[j].lamp
            if lamp is None:
                continue
            (x, y), r, axis = lamp
            color = SIGNAL_COLORS[signals[axis]]
            if not self.look.night:
                color = pd.shaded(color, 0.9)
            cv2.circle(image, (int(round(x * 8)), int(round(y * 8))), max(8, int(r * 8)), color, -1, cv2.LINE_AA, 3)


def _to_image(metres_to_image: np.ndarray, ground_m: np.ndarray) -> np.ndarray:
    """(..., 2) ground metres -> (..., 2) image px through the ground homography."""
    h = ground_m @ metres_to_image[:, :2].T + metres_to_image[:, 2]
    return h[..., :2] / h[..., 2:3]
