"""The static world of the pole view, made once per scene: the top-down map warped onto the
ground of the view, sky and a distant skyline above the horizon, haze with distance, and the
3D things that stand still (buildings, trees, signal posts).

Static things are baked into the background in their own painter's order. Each one keeps the
patch of the background where it ended up visible (its pixels and mask): a frame redraws that
patch, in depth order among the vehicles, only where a vehicle's image overlaps it, so a
vehicle behind a tree disappears behind the tree and one in front of it covers it.

The top-down roofs in the pole's own corner plot are laid flat as grass (a building there would
stand between the camera and the junction); those of the other three corners become buildings.
Trees stand where the top-down canopies are (the second one only in "dense" scenes), their
trunks on the sidewalk, crowns over the road from 4.3 m up, clear of the tallest truck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import pole_draw as pd
from .depth import painter_order
from .pole_ground import ground_image, haze_colour, haze_m
from .render import CANOPY_CENTER, SECOND_CANOPY_CENTER, SIGNAL_HEADS, Building, Look
from .road_network import PIXELS_PER_METER
from .views import CENTER_PX, CORNERS, NEAR_M, PoleView

LAWN_GRAIN = 4.0  # grey levels: the fine texture of render._textured grass
STATIC_K = 10  # footprint vertices of static prisms: an octagonal crown cut by the camera's near line has 9
CROWN_SIDES = 8
NIGHT_GAIN, NIGHT_OFFSET = 0.3, 6.0  # as the top view (render.NIGHT_GAIN)
FACADES = ((172, 176, 182), (150, 160, 176), (186, 190, 196), (124, 134, 152), (160, 152, 142), (140, 150, 150))
BUILDING_HEIGHT_M = (7.0, 20.0)
WINDOW_GLASS = (84, 70, 58)
TRUNK = (44, 62, 82)
CROWN = (40, 96, 52)
CROWN_BOTTOM_M, CROWN_TOP_M, CROWN_RADIUS_M = 4.3, 9.5, 4.6
TREE_TRUNKS_PX = {CANOPY_CENTER: (1010.0, 293.0), SECOND_CANOPY_CENTER: (573.0, 112.0)}  # on the sidewalk
POST_HEIGHT_M, HEAD_SIZE_M = 3.2, (0.45, 1.1)  # signal post; head width, head height
POST_COLOR, HEAD_COLOR = (96, 98, 100), (28, 28, 28)


@dataclass
class StaticItem:
    """One static prism: footprint (STATIC_K, 2) m and z range for depth order; where it is visible
    in the baked background (image box, pixels, mask) and the same mask on the id buffer's grid."""

    footprint: np.ndarray
    z: tuple[float, float]
    box: tuple[int, int, int, int]  # x0 y0 x1 y1 of the visible patch (image px)
    patch: np.ndarray | None
    mask: np.ndarray
    small_box: tuple[int, int, int, int]
    small_mask: np.ndarray
    lamp: tuple[tuple[float, float], float, str] | None = None  # signal lamp: image centre, radius px, axis


def _octagon(center_m, radius_m: float) -> np.ndarray:
    angles = np.arange(CROWN_SIDES) * (2 * math.pi / CROWN_SIDES)
    return pd.pad(np.asarray(center_m) + radius_m * np.c_[np.cos(angles), np.sin(angles)], STATIC_K)


def _square(center_m, half_m: float) -> np.ndarray:
    cx, cy = center_m
    square = np.array([(cx - half_m, cy - half_m), (cx + half_m, cy - half_m), (cx + half_m, cy + half_m)])
    return pd.pad(np.vstack([square, (cx - half_m, cy + half_m)]), STATIC_K)


class _Thing:
    """A static prism and how to paint it (colour and mask) into the view."""

    def __init__(self, footprint: np.ndarray, z0: float, z1: float, paint, lamp=None):
        self.footprint, self.z0, self.z1, self.paint, self.lamp = footprint, z0, z1, paint, lamp


class PoleWorld:
    def __init__(
        self,
        view: PoleView,
        base_background: np.ndarray,
        buildings: list[Building],
        rng: np.random.Generator,
        look: Look,
        trees: bool,
        id_scale: float,
        draw: bool,
    ):
        """`draw=False`: only the static things' geometry and masks (for ground truth without images)."""
        self.view, self.look = view, look
        self.lighting = pd.light(look.night, look.rain)
        w, h = view.size
        self.size = (w, h)
        self.camera_xy = view.position_m[:2]
        corner = np.sign(CORNERS[view.camera.corner])
        own = [
            b
            for b in buildings
            if np.all(np.sign([b.x + b.w / 2 - CENTER_PX[0], b.y + b.h / 2 - CENTER_PX[1]]) == corner)
        ]
        things = [self._building(b, rng) for b in buildings if b not in own]
        if trees:
            centres = [CANOPY_CENTER] + ([SECOND_CANOPY_CENTER] if look.second_canopy else [])
            for centre in centres:
                things.extend(self._tree(centre, rng))
        for position, axis in SIGNAL_HEADS:
            things.extend(self._signal(position, axis))
        # what stands (partly) behind the camera: only its part in front is seen, and ordered
        for thing in things:
            thing.footprint = self._in_front(thing.footprint, thing.z1)
        things = [t for t in things if len(t.footprint)]
        self.background: np.ndarray | None = None
        canvas = self._ground(base_background, own, rng) if draw else np.zeros((h, w, 3), np.uint8)
        self.items = self._bake(canvas, things, id_scale, draw)
        if draw:
            self.background = canvas
            self.static_mask = np.zeros((h, w), np.uint8)
            for item in self.items:
                x0, y0, x1, y1 = item.box
                self.static_mask[y0:y1, x0:x1] |= item.mask.astype(np.uint8)
            self.ground_mask = (self.static_mask == 0).astype(np.uint8)
            self.wet_mask = self.road_mask & self.ground_mask  # where rain reflects vehicles
            dark = (canvas.astype(np.float32) * 0.55).astype(np.uint8)
            np.copyto(dark, canvas, where=self.static_mask[..., None] > 0)  # shadows fall on the ground only
            self.shadow_background = dark
        self.footprints = np.array([item.footprint for item in self.items]).reshape(-1, STATIC_K, 2)
        self.z_ranges = np.array([item.z for item in self.items], np.float64).reshape(-1, 2)
        self.boxes = np.array([item.box for item in self.items], np.float64).reshape(-1, 4)

    def _ground(self, base: np.ndarray, own: list[Building], rng: np.random.Generator) -> np.ndarray:
        if own:  # the pole's corner plot: lawn grown over the roofs (inpainted, then grass grain)
            mask = np.zeros(base.shape[:2], np.uint8)
            for b in own:
                mask[b.y - 2 : b.y + b.h + 3, b.x - 2 : b.x + b.w + 3] = 1
            base = cv2.inpaint(base, mask, 5, cv2.INPAINT_TELEA)
            grain = rng.normal(0.0, LAWN_GRAIN, base.shape).astype(np.float32) * mask[..., None]
            base = np.clip(base.astype(np.float32) + grain, 0, 255).astype(np.uint8)
        image, self.road_mask = ground_image(self.view, base, self.look, rng)
        return image

    # -- static things ------------------------------------------------------------------------
    def _building(self, b: Building, rng: np.random.Generator) -> _Thing:
        x0, y0, x1, y1 = (v / PIXELS_PER_METER for v in (b.x, b.y, b.x + b.w, b.y + b.h))
        footprint = pd.pad(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), STATIC_K)
        height = float(rng.uniform(*BUILDING_HEIGHT_M))
        facade = FACADES[int(rng.integers(len(FACADES)))]
        floors = int(rng.integers(0, 2))  # window rhythm: 0 ribbon, 1 punched

        def paint(image, mask):
            self._prism(image, mask, footprint, 0.0, height, facade, b.roof)
            self._windows(image, footprint, height, floors)

        return _Thing(footprint, 0.0, height, paint)

    def _windows(self, image: np.ndarray, footprint: np.ndarray, height: float, style: int) -> None:
        normals = pd.outward_normals(footprint[None])[0]
        visible = pd.visible_sides(footprint[None], normals[None], self.camera_xy)[0]
        shade = pd.side_shades(normals, self.lighting)
        for k in np.flatnonzero(visible).tolist():
            a, b = footprint[k], footprint[(k + 1) % STATIC_K]
            if np.any(self.view.project(np.array([[*a, height], [*b, height], [*a, 0.0], [*b, 0.0]]))[1] < NEAR_M):
                continue  # a wall reaching behind the camera: its windows are out of the image
            length = float(np.hypot(*(b - a)))
            color = pd.shaded(WINDOW_GLASS, float(shade[k]))
            z = 1.2
            while z + 1.4 < height:
                if style == 0:
                    spans = [(0.06, 0.94)]
                else:
                    n = max(1, int(length / 3.0))
                    spans = [((i + 0.25) / n, (i + 0.75) / n) for i in range(n)]
                for s0, s1 in spans:
                    quad = np.array(
                        [[*(a + (b - a) * s), zz] for s, zz in ((s0, z), (s1, z), (s1, z + 1.3), (s0, z + 1.3))]
                    )
                    uv, _ = self.view.project(quad)
                    pd.fill(image, pd.fixed(uv), color)
                z += 3.0

    def _tree(self, centre_px, rng: np.random.Generator) -> list[_Thing]:
        trunk_px = TREE_TRUNKS_PX.get(centre_px, centre_px)
        trunk_m = np.asarray(trunk_px) / PIXELS_PER_METER
        centre_m = np.asarray(centre_px) / PIXELS_PER_METER
        trunk = _square(trunk_m, 0.22)

        def paint_trunk(image, mask):
            self._prism(image, mask, trunk, 0.0, CROWN_BOTTOM_M, TRUNK, TRUNK)

        lobes = []  # spheres of leaves, all inside the crown's prism (its depth order stands for them)
        for _ in range(22):
            radius = float(rng.uniform(1.3, 2.0))
            angle = float(rng.uniform(0, 2 * math.pi))
            r = (CROWN_RADIUS_M - radius) * math.sqrt(float(rng.uniform(0, 1)))
            z = float(rng.uniform(CROWN_BOTTOM_M + radius, CROWN_TOP_M - radius))
            lobes.append((centre_m + r * np.array([math.cos(angle), math.sin(angle)]), z, radius))
        lobes.sort(key=lambda lobe: -float(np.hypot(*(lobe[0] - self.camera_xy))))  # far lobes first
        leaf_seed = int(rng.integers(1 << 31))

        def paint_crown(image, mask):
            layer = np.zeros_like(image)
            local = np.zeros(mask.shape, np.uint8)
            for (xy, z, radius), tint in zip(lobes, np.linspace(-14, 16, len(lobes))):
                uv, depth = self.view.project(np.array([xy[0], xy[1], z]))
                if float(depth) < radius + NEAR_M:
                    continue  # reaches behind the camera: out of the image
                r_px = self.view.focal_px * radius / max(float(depth), 1e-3)
                lit = 0.9 + 0.2 * (z - CROWN_BOTTOM_M) / (CROWN_TOP_M - CROWN_BOTTOM_M)
                color = pd.shaded(tuple(c + tint for c in CROWN), lit)
                centre = (int(round(uv[0] * 8)), int(round(uv[1] * 8)))
                cv2.circle(layer, centre, max(8, int(r_px * 8)), color, -1, cv2.LINE_AA, 3)
                cv2.circle(local, centre, max(8, int(r_px * 8)), 1, -1, cv2.LINE_8, 3)
            leaves = _leaf_texture(np.random.default_rng(leaf_seed), local.shape)
            layer = np.clip(layer.astype(np.float32) + leaves[..., None], 0, 255).astype(np.uint8)
            np.copyto(image, layer, where=local[..., None] > 0)
            mask |= local > 0

        crown = _octagon(centre_m, CROWN_RADIUS_M)
        return [
            _Thing(trunk, 0.0, CROWN_BOTTOM_M, paint_trunk),  # up to the crown's underside: stacked, not inside it
            _Thing(crown, CROWN_BOTTOM_M, CROWN_TOP_M, paint_crown),
        ]

    def _signal(self, position_px, axis: str) -> list[_Thing]:
        xy = np.asarray(position_px) / PIXELS_PER_METER
        post, head = _square(xy, 0.08), _square(xy, HEAD_SIZE_M[0] / 2)
        top = POST_HEIGHT_M + HEAD_SIZE_M[1]
        uv, depth = self.view.project(np.array([xy[0], xy[1], POST_HEIGHT_M + HEAD_SIZE_M[1] * 0.5]))
        lamp: tuple[tuple[float, float], float, str] | None = None
        if float(depth) >= NEAR_M:
            lamp = ((float(uv[0]), float(uv[1])), max(1.0, self.view.focal_px * 0.14 / float(depth)), axis)

        def paint_post(image, mask):
            self._prism(image, mask, post, 0.0, POST_HEIGHT_M, POST_COLOR, POST_COLOR)

        def paint_head(image, mask):
            self._prism(image, mask, head, POST_HEIGHT_M, top, HEAD_COLOR, HEAD_COLOR)

        return [_Thing(post, 0.0, POST_HEIGHT_M, paint_post), _Thing(head, POST_HEIGHT_M, top, paint_head, lamp)]

    def _in_front(self, footprint: np.ndarray, z1: float) -> np.ndarray:
        """The footprint cut where its prism, up to z1, is in front of the camera (depth >= NEAR_M
        also at the top of a building taller than the pole), padded to STATIC_K (empty: none)."""
        tilt = math.radians(self.view.camera.tilt_deg)
        # depth of a point = cos(tilt) * forward + sin(tilt) * (camera height - z)
        near = max(NEAR_M, (NEAR_M + math.sin(tilt) * (z1 - self.view.position_m[2])) / math.cos(tilt))
        forward = self.view.forward_m(footprint)
        if np.all(forward >= near):
            return footprint
        clipped = pd.clip_forward(footprint, forward, near)
        keep = np.r_[True, np.any(np.abs(np.diff(clipped, axis=0)) > 1e-9, axis=1)] if len(clipped) else []
        clipped = clipped[keep]
        return pd.pad(clipped, STATIC_K) if len(clipped) >= 3 else np.zeros((0, 2))

    def _prism(self, image, mask, footprint, z0: float, z1: float, side, top) -> None:
        footprint = self._in_front(footprint, z1)
        if not len(footprint):
            return
        bottom_uv, _ = self.view.project(np.c_[footprint, np.full(len(footprint), z0)])
        top_uv, _ = self.view.project(np.c_[footprint, np.full(len(footprint), z1)])
        normals = pd.outward_normals(footprint[None])[0]
        visible = pd.visible_sides(footprint[None], normals[None], self.camera_xy)[0]
        shades = pd.side_shades(normals, self.lighting)
        colors = [pd.shaded(side, float(s)) for s in shades]
        bf, tf = pd.fixed(bottom_uv), pd.fixed(top_uv)
        pd.draw_prism(image, bf, tf, visible, colors, pd.shaded(top, pd.top_shade(self.lighting)))
        hull = cv2.convexHull(np.concatenate([bf, tf]))
        pd.fill(mask, hull, 1)

    def _bake(self, canvas: np.ndarray, things: list[_Thing], id_scale: float, draw: bool) -> list[StaticItem]:
        """Paint the things far to near into the canvas; keep each one's visible patch."""
        w, h = self.size
        scratch, mask = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), bool)
        painted = []  # per thing: image box, its own pixels and mask there
        for thing in things:
            thing.paint(scratch, mask)
            x, y, bw, bh = cv2.boundingRect(mask.view(np.uint8))
            box = (x, y, x + bw, y + bh)
            patch, local = scratch[y : y + bh, x : x + bw].copy(), mask[y : y + bh, x : x + bw].copy()
            scratch[y : y + bh, x : x + bw] = 0
            mask[y : y + bh, x : x + bw] = False
            painted.append((box, self._hazed(patch, thing), local))
        owner = np.full((h, w), -1, np.int32)
        if things:
            footprints = np.array([t.footprint for t in things])
            z = np.array([(t.z0, t.z1) for t in things], np.float64)
            boxes = np.array([p[0] for p in painted], np.float64)
            for i in painter_order(footprints, z, boxes, self.camera_xy):
                (x0, y0, x1, y1), patch, local = painted[i]
                owner[y0:y1, x0:x1][local] = i
                if draw:
                    np.copyto(canvas[y0:y1, x0:x1], patch, where=local[..., None])
        if draw and self.look.night:
            cv2.convertScaleAbs(canvas, dst=canvas, alpha=NIGHT_GAIN, beta=NIGHT_OFFSET)
        sw, sh = max(1, int(round(w * id_scale))), max(1, int(round(h * id_scale)))
        small_owner = cv2.resize(owner, (sw, sh), interpolation=cv2.INTER_NEAREST)
        items = []
        for i, thing in enumerate(things):
            x0, y0, x1, y1 = painted[i][0]
            visible = owner[y0:y1, x0:x1] == i
            if not visible.any():
                continue
            sx, sy, sbw, sbh = cv2.boundingRect((small_owner == i).view(np.uint8))
            small_box = (sx, sy, sx + sbw, sy + sbh)
            small_mask = small_owner[sy : sy + sbh, sx : sx + sbw] == i
            baked = canvas[y0:y1, x0:x1].copy() if draw else None
            items.append(
                StaticItem(
                    thing.footprint,
                    (thing.z0, thing.z1),
                    (x0, y0, x1, y1),
                    baked,
                    visible,
                    small_box,
                    small_mask,
                    thing.lamp,
                )
            )
        return items

    def _hazed(self, patch: np.ndarray, thing: _Thing) -> np.ndarray:
        """A distant thing fades into the horizon colour like the ground around it."""
        dist = math.hypot(float(np.hypot(*(thing.footprint.mean(axis=0) - self.camera_xy))), self.view.position_m[2])
        weight = 1.0 - math.exp(-dist / haze_m(self.look))
        return np.clip(patch.astype(np.float32) * (1 - weight) + haze_colour(self.look) * weight, 0, 255).astype(
            np.uint8
        )


def _leaf_texture(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    coarse = rng.normal(0.0, 16.0, (max(2, shape[0] // 3), max(2, shape[1] // 3))).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
