"""Drawing vertical prisms (vehicle blocks, buildings, posts) in the pole view: geometry of the
faces a camera sees, per-face shading by the sun and sky, and the ground clipping that keeps
everything in front of the camera.

A prism is a convex footprint (K vertices in metres, in order, the last may repeat) extruded
from z0 to z1. Seen from above (the camera is higher than every prism) its top face is always
visible and a side face is visible when the camera stands on its outer side; visible faces of
one convex prism never overlap, so they can be filled in any order.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .render import SUBPIXEL, SUBPIXEL_BITS

# the sun: from the south-east, 40 degrees up (shadows fall to the north-west, to the left of a
# camera at the south-west corner, where they show beside the vehicles instead of under them)
SUN_AZIMUTH = np.array([1.0, 1.0]) / math.sqrt(2.0)  # ground direction towards the sun (map x, y)
SUN_ELEVATION = math.radians(40.0)
SUN = np.array([*(SUN_AZIMUTH * math.cos(SUN_ELEVATION)), math.sin(SUN_ELEVATION)])
SHADOW_PER_M = -SUN_AZIMUTH / math.tan(SUN_ELEVATION)  # ground offset of a shadow per metre of height
# (ambient from the sky, diffuse from the sun) for tops and sides; overcast and night have no sun
LIGHT_DAY = ((0.78, 0.3), (0.52, 0.42))
LIGHT_OVERCAST = ((0.9, 0.0), (0.66, 0.0))


def light(night: bool, rain: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    return LIGHT_OVERCAST if (night or rain) else LIGHT_DAY


def top_shade(lighting) -> float:
    (ambient, diffuse), _ = lighting
    return ambient + diffuse * float(SUN[2])


def outward_normals(footprints: np.ndarray) -> np.ndarray:
    """(N, K, 2) footprints -> (N, K, 2) unit outward normals of their edges (zero for repeated vertices)."""
    edges = np.roll(footprints, -1, axis=1) - footprints
    normals = np.stack([edges[..., 1], -edges[..., 0]], axis=-1)
    length = np.linalg.norm(normals, axis=-1, keepdims=True)
    normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 1e-9)
    mids = footprints + edges / 2.0
    centre = footprints.mean(axis=1, keepdims=True)
    flip = np.sign(np.einsum("nkd,nkd->nk", normals, mids - centre))
    return normals * np.where(flip == 0, 1.0, flip)[..., None]


def visible_sides(footprints: np.ndarray, normals: np.ndarray, camera_xy: np.ndarray) -> np.ndarray:
    """(N, K) True where the side face from vertex k to k+1 faces the camera."""
    return np.einsum("nkd,nkd->nk", camera_xy - footprints, normals) > 1e-9


def side_shades(normals: np.ndarray, lighting) -> np.ndarray:
    _, (ambient, diffuse) = lighting
    return ambient + diffuse * np.maximum(0.0, normals @ SUN[:2])


def fixed(points_px: np.ndarray) -> np.ndarray:
    """Pixels -> OpenCV fixed point (SUBPIXEL_BITS fractional bits)."""
    return np.round(points_px * SUBPIXEL).astype(np.int32)


def fill(image: np.ndarray, points_fixed: np.ndarray, color) -> None:
    cv2.fillConvexPoly(image, points_fixed, color, cv2.LINE_8, SUBPIXEL_BITS)


def draw_prism(
    image: np.ndarray,
    bottom_fixed: np.ndarray,
    top_fixed: np.ndarray,
    visible: np.ndarray,
    side_colors: list,
    top_color,
    smooth: bool = False,
) -> None:
    """Fill a prism's visible side faces (side_colors[k] for the face k -> k+1) and its top.

    `smooth`: anti-aliased faces over a hard-edged silhouette in the first visible face's
    colour, so that the blended seams between faces blend with the body, not the background."""
    k_count = len(bottom_fixed)
    sides = np.flatnonzero(visible).tolist()
    line = cv2.LINE_8
    if smooth:
        hull = cv2.convexHull(np.concatenate([bottom_fixed, top_fixed]))
        fill(image, hull, side_colors[sides[0]] if sides else top_color)
        line = cv2.LINE_AA
    for k in sides:
        j = (k + 1) % k_count
        quad = np.array([bottom_fixed[k], bottom_fixed[j], top_fixed[j], top_fixed[k]])
        cv2.fillConvexPoly(image, quad, side_colors[k], line, SUBPIXEL_BITS)
    cv2.fillConvexPoly(image, top_fixed, top_color, line, SUBPIXEL_BITS)


def clip_forward(polygon: np.ndarray, forward: np.ndarray, near: float) -> np.ndarray:
    """The part of a convex polygon (K, 2) where `forward` (its vertices' distances in front of the
    camera, (K,)) is >= near (Sutherland-Hodgman against one line); may be empty."""
    out = []
    k_count = len(polygon)
    for k in range(k_count):
        j = (k + 1) % k_count
        a_in, b_in = forward[k] >= near, forward[j] >= near
        if a_in:
            out.append(polygon[k])
        if a_in != b_in:
            t = (near - forward[k]) / (forward[j] - forward[k])
            out.append(polygon[k] + t * (polygon[j] - polygon[k]))
    return np.array(out, np.float64).reshape(-1, 2)


def pad(polygon: np.ndarray, k_count: int) -> np.ndarray:
    """Repeat the first vertex up to k_count vertices (a repeated vertex adds a zero-length edge)."""
    if len(polygon) >= k_count:
        return polygon[:k_count]
    return np.concatenate([polygon, np.repeat(polygon[:1], k_count - len(polygon), axis=0)])


def shaded(color, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255.0, max(0.0, c * factor))) for c in color)  # type: ignore[return-value]
