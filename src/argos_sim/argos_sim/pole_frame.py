"""One frame of the pole view as geometry: every vehicle's blocks placed on the road and
projected, the painter's order of what overlaps, and from it the ground truth: amodal boxes and
the visible fraction of each vehicle, measured on an id buffer.

The id buffer is the frame's silhouettes rasterised in drawing order (later = nearer
overwrites): 0 ground, 1 static things (trees, buildings, posts: only where they are visible
in the static world), 2 + i vehicle i. Visible fraction = the vehicle's pixels left in the
buffer / the pixels of its own silhouette rasterised alone (also off the image, so what leaves
the frame counts as hidden, as in the top view). The buffer has ID_BUFFER_WIDTH columns at most
(half resolution at 1280x720) whether or not the frame is drawn, so the ground truth of a scene
is the same with render=False, which then costs no colour pixels at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from argos_common.detections import Detections

from . import pole_draw as pd
from .bodies import Block, unit_blocks
from .depth import painter_order
from .pole_static import STATIC_K, PoleWorld
from .road_network import PIXELS_PER_METER
from .traffic import Vehicle, unit_pose
from .views import NEAR_M, PoleView

ID_BUFFER_WIDTH = 640
BLOCK_K = 5  # footprint vertices: a box (4) clipped by the camera's near line has at most 5
EDGE_NONE, EDGE_SIDE, EDGE_BACK, EDGE_FRONT = 0, 1, 2, 3
BOX_EDGES = np.array([EDGE_SIDE, EDGE_BACK, EDGE_SIDE, EDGE_FRONT, EDGE_NONE])  # corners u0-, u1-, u1+, u0+, (u0-)


def id_scale(width: int) -> float:
    return min(1.0, ID_BUFFER_WIDTH / float(width))


@dataclass
class PoleFrame:
    vehicles: list[Vehicle]
    specs: list[Block]  # per block
    owner: np.ndarray  # (N,) index of the block's vehicle
    unit_front: np.ndarray  # (N, 2) metres: front point of the block's unit
    unit_axis: np.ndarray  # (N, 2)
    footprint: np.ndarray  # (N, BLOCK_K, 2) metres
    edges: np.ndarray  # (N, BLOCK_K) EDGE_* of each side face
    z: np.ndarray  # (N, 2)
    alive: np.ndarray  # (N,) False: entirely behind the camera
    points: np.ndarray  # (N, 2 BLOCK_K, 2) image px: bottom ring then top ring
    depth: np.ndarray  # (N, 2 BLOCK_K)
    block_box: np.ndarray  # (N, 4)
    boxes: np.ndarray  # (V, 4) unclipped amodal image boxes (NaN: nothing in front of the camera)
    in_image: np.ndarray  # (V,) bool
    drawn: np.ndarray  # (N,) blocks that touch the image
    order: list[int]  # painter's order over drawn blocks (index < N) and static items (N + j)
    fractions: np.ndarray  # (V,) visible fraction


class PoleGeometry:
    """Places vehicles as blocks in the pole view and measures what is visible."""

    def __init__(self, view: PoleView, world: PoleWorld):
        self.view, self.world = view, world
        self.width, self.height = view.size
        self.id_scale = id_scale(self.width)
        self.small_size = (
            max(1, int(round(self.width * self.id_scale))),
            max(1, int(round(self.height * self.id_scale))),
        )
        self._layouts: dict[int, list[tuple[int, Block]]] = {}

    def frame(self, vehicles: list[Vehicle]) -> PoleFrame:
        alive_numbers = {v.number for v in vehicles}
        for gone in [n for n in self._layouts if n not in alive_numbers]:
            del self._layouts[gone]
        owner, specs, fronts, axes = [], [], [], []
        for index, v in enumerate(vehicles):
            layout = self._layouts.get(v.number)
            if layout is None:
                layout = self._layouts[v.number] = [
                    (k, block) for k, unit in enumerate(v.units) for block in unit_blocks(v.label, k, unit)
                ]
            poses = [unit_pose(v, unit) for unit in v.units]
            for k, block in layout:
                owner.append(index)
                specs.append(block)
                fronts.append(poses[k][0])
                axes.append(poses[k][1])
        n = len(specs)
        owner_a = np.array(owner, np.int64)
        front = np.array(fronts, np.float64).reshape(n, 2) / PIXELS_PER_METER
        axis = np.array(axes, np.float64).reshape(n, 2)
        dims = np.array([(b.u0, b.u1, b.half_width, b.z0, b.z1) for b in specs], np.float64).reshape(n, 5)
        footprint, edges, alive = self._footprints(front, axis, dims)
        z = dims[:, 3:5]
        ring = np.concatenate(
            [
                np.concatenate([footprint, np.repeat(z[:, None, :1], BLOCK_K, axis=1)], axis=2),
                np.concatenate([footprint, np.repeat(z[:, None, 1:], BLOCK_K, axis=1)], axis=2),
            ],
            axis=1,
        )
        with np.errstate(divide="ignore", invalid="ignore"):  # blocks behind the camera: dropped below
            points, depth = self.view.project(ring)
        points[~alive] = 0.0  # never drawn nor measured; keeps the fixed-point conversions finite
        block_box = np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)
        block_box[~alive] = np.nan
        boxes = np.full((len(vehicles), 4), np.nan)
        if n:
            starts = np.searchsorted(owner_a, np.arange(len(vehicles)))
            boxes[:, :2] = np.fmin.reduceat(block_box[:, :2], starts, axis=0)
            boxes[:, 2:] = np.fmax.reduceat(block_box[:, 2:], starts, axis=0)
        w, h = self.width, self.height
        with np.errstate(invalid="ignore"):
            in_image = (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & (boxes[:, 0] < w) & (boxes[:, 1] < h)
            drawn = (
                alive
                & in_image[owner_a]
                & (block_box[:, 2] > 0)
                & (block_box[:, 3] > 0)
                & (block_box[:, 0] < w)
                & (block_box[:, 1] < h)
            )
        frame = PoleFrame(
            vehicles, specs, owner_a, front, axis, footprint, edges, z, alive, points, depth, block_box, boxes,
            in_image, drawn, [], np.zeros(len(vehicles)),
        )  # fmt: skip
        frame.order = self._order(frame)
        frame.fractions = self._fractions(frame)
        return frame

    def _footprints(self, front: np.ndarray, axis: np.ndarray, dims: np.ndarray):
        """Block footprints (N, BLOCK_K, 2) in metres, clipped to the ground in front of the camera."""
        n = len(front)
        normal = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
        u = dims[:, [0, 1, 1, 0]]
        v = dims[:, 2:3] * np.array([-1.0, -1.0, 1.0, 1.0])
        corners = front[:, None, :] - axis[:, None, :] * u[..., None] + normal[:, None, :] * v[..., None]
        footprint = np.concatenate([corners, corners[:, :1]], axis=1)
        edges = np.repeat(BOX_EDGES[None], n, axis=0)
        alive = np.ones(n, bool)
        forward = self.view.forward_m(corners)
        for i in np.flatnonzero(np.any(forward < NEAR_M, axis=1)).tolist():
            clipped = pd.clip_forward(corners[i], forward[i], NEAR_M)
            if len(clipped) < 3:
                alive[i] = False
                clipped = corners[i]  # any finite placeholder: the block is never used
            footprint[i] = pd.pad(clipped, BLOCK_K)
            edges[i] = EDGE_SIDE  # the cut face is never in the image; colour every face as a side
        return footprint, edges, alive

    def _order(self, f: PoleFrame) -> list[int]:
        blocks = np.flatnonzero(f.drawn)
        world = self.world
        statics = np.zeros(0, np.int64)
        if len(blocks) and len(world.items):
            bb, sb = f.block_box[blocks], world.boxes
            hit = (
                (sb[:, None, 0] < bb[None, :, 2])
                & (bb[None, :, 0] < sb[:, None, 2])
                & (sb[:, None, 1] < bb[None, :, 3])
                & (bb[None, :, 1] < sb[:, None, 3])
            )
            statics = np.flatnonzero(hit.any(axis=1))
        footprints = np.concatenate(
            [np.concatenate([f.footprint[blocks], np.repeat(f.footprint[blocks, :1], STATIC_K - BLOCK_K, axis=1)], 1),
             world.footprints[statics]]
        )  # fmt: skip
        z = np.concatenate([f.z[blocks], world.z_ranges[statics]])
        boxes = np.concatenate([f.block_box[blocks], world.boxes[statics]])
        ids = np.concatenate([blocks, len(f.specs) + statics])
        return [int(ids[i]) for i in painter_order(footprints, z, boxes, world.camera_xy)]

    def _fractions(self, f: PoleFrame) -> np.ndarray:
        sw, sh = self.small_size
        buffer = np.zeros((sh, sw), np.int32)
        n = len(f.specs)
        small = pd.fixed(f.points * self.id_scale)
        hulls: dict[int, np.ndarray] = {}
        for item in f.order:
            if item < n:
                hull = hulls[item] = cv2.convexHull(small[item])
                pd.fill(buffer, hull, int(f.owner[item]) + 2)
            else:
                static = self.world.items[item - n]
                x0, y0, x1, y1 = static.small_box
                buffer[y0:y1, x0:x1][static.small_mask] = 1
        visible = np.bincount(buffer.ravel(), minlength=len(f.vehicles) + 2)[2:]
        fractions = np.zeros(len(f.vehicles))
        for index in np.flatnonzero(f.in_image).tolist():
            mine = np.flatnonzero((f.owner == index) & f.alive)
            pts = small[mine].reshape(-1, 2)
            lo = pts.min(axis=0) // 8
            hi = -(-pts.max(axis=0) // 8) + 1
            local = np.zeros((int(hi[1] - lo[1]) + 1, int(hi[0] - lo[0]) + 1), np.uint8)
            shift = (lo * 8).astype(np.int32)
            for i in mine.tolist():
                hull = hulls.get(i)
                if hull is None:
                    hull = cv2.convexHull(small[i])
                pd.fill(local, hull - shift, 1)
            total = int(np.count_nonzero(local))
            fractions[index] = min(1.0, visible[index] / total) if total else 0.0
        return fractions


def _clipped(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
    return out


def frame_detections(f: PoleFrame, shift: tuple[float, float], width: int, height: int) -> Detections:
    """Ground-truth objects: boxes moved by the camera shake and clipped to the image, scores =
    visible fraction (of the unshaken view: a shake of a few pixels barely changes it)."""
    boxes = f.boxes + np.array([*shift, *shift])
    with np.errstate(invalid="ignore"):
        visible = (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & (boxes[:, 0] < width) & (boxes[:, 1] < height)
    index = np.flatnonzero(visible)
    if not len(index):
        return Detections.empty()
    return Detections(
        _clipped(boxes[index], width, height).astype(np.float32),
        f.fractions[index].astype(np.float32),
        [f.vehicles[i].label for i in index],
        [f.vehicles[i].object_id for i in index],
    )


def frame_anchors(f: PoleFrame, width: int, height: int) -> dict[int, tuple[float, float]]:
    """vehicle number -> bottom centre of its unshaken box clipped to the image and rounded to
    float32, exactly the anchor a tracker takes from the published box; only vehicles in the
    image have one (a crossing needs two consecutive frames in view)."""
    index = np.flatnonzero(f.in_image)
    clipped = _clipped(f.boxes[index], width, height).astype(np.float32).astype(np.float64)
    return {f.vehicles[i].number: (float((b[0] + b[2]) / 2.0), float(b[3])) for i, b in zip(index.tolist(), clipped)}
