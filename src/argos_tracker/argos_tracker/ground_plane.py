"""Image pixels -> ground-plane metres through a 3x3 homography, for speeds in m/s.

A fixed camera sees the road as a plane; one homography (from four or more surveyed points,
e.g. with cv2.findHomography) maps an image point to road coordinates in metres. A pixel
velocity is turned into a ground speed at the point where it is measured (the counting anchor,
which lies on the road), so perspective is accounted for: a pixel far from the camera covers
more road than one near it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

# Velocity is mapped over this short time step: the homography is smooth at this scale, and a
# step that short never reaches the horizon line where the mapping blows up.
_PROBE_S = 0.05


class GroundPlane:
    def __init__(self, values: Sequence[float]):
        values = [float(v) for v in values]
        if len(values) != 9:
            raise ValueError(f"needs 9 values (3x3, row-major), got {len(values)}")
        matrix = np.asarray(values, dtype=np.float64).reshape(3, 3)
        if not np.all(np.isfinite(matrix)):
            raise ValueError("values must be finite")
        if abs(np.linalg.det(matrix)) < 1e-12:
            raise ValueError("matrix is singular (it must map the image plane onto the ground plane)")
        self.matrix = matrix

    def to_ground(self, points) -> np.ndarray:
        """(N, 2) image pixels -> (N, 2) ground metres."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.perspectiveTransform(pts, self.matrix).reshape(-1, 2)

    def speed_m_s(self, point_px, velocity_px_s) -> float:
        """Ground speed of a point moving at `velocity_px_s` through image point `point_px`."""
        p = np.asarray(point_px, dtype=np.float64)
        v = np.asarray(velocity_px_s, dtype=np.float64)
        if not np.any(v):
            return 0.0
        a, b = self.to_ground(np.stack([p, p + v * _PROBE_S]))
        speed = float(np.hypot(*(b - a))) / _PROBE_S
        return speed if math.isfinite(speed) else math.nan
