"""Privacy masks: configured polygons blacked out in every image that leaves the process
(camera/image_raw, and so any recording of it; annotated/image_raw; the RTSP stream). Inside the
process the detector still sees the whole frame, so counting is unaffected.

    privacy_masks:
      names: [house]
      house:
        points: [0.0, 0.0, 300.0, 0.0, 300.0, 200.0]   # polygon vertices

The points follow the same geometry rule as counting lines and zones (geometry.image_size,
geometry.normalized): drawn on one view, they cover the same place at any source size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from argos_common.lines import scale_points
from argos_common.params import ConfigError, ParamGroup, ParamSpec

MASKS_GROUP = ParamGroup(
    prefix="privacy_masks",
    description="privacy mask",
    fields=(
        ParamSpec(
            "points",
            "float[]",
            [],
            "polygon blacked out in every image that leaves the unit: x0, y0, x1, y1, ... (>= 3 points), "
            "in source pixels (see geometry.image_size, geometry.normalized)",
        ),
    ),
)


@dataclass(frozen=True)
class PrivacyMasks:
    polygons: tuple[np.ndarray, ...]  # (K, 2) int32 each, K >= 3

    def __bool__(self) -> bool:
        return bool(self.polygons)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """A copy of `image` with every polygon filled black (the image itself when there is no
        mask); the caller's frame is never changed, inference may still hold it."""
        if not self.polygons:
            return image
        out = image.copy()
        return self.apply_in_place(out)

    def apply_in_place(self, image: np.ndarray) -> np.ndarray:
        """For an image that is already the caller's own copy (an annotated frame)."""
        if self.polygons:
            cv2.fillPoly(image, list(self.polygons), (0,) * (image.shape[2] if image.ndim == 3 else 1))
        return image


def parse_masks(params: Mapping[str, Any], source_size: tuple[int, int] | None = None) -> PrivacyMasks:
    """The masks in the pixels of a `source_size` (width, height) source (None: as configured,
    checks only)."""
    polygons = []
    for name in params.get("privacy_masks.names", []) or []:
        key = f"privacy_masks.{name}.points"
        pts = list(params.get(key, []))
        if len(pts) < 6 or len(pts) % 2:
            raise ConfigError(
                key, f"needs >= 3 points as an even number of coordinates x0, y0, x1, y1, ...; got {len(pts)}"
            )
        # pixel grid: a vertex at 10.6 covers pixel 11, as cv2 rounds
        points = scale_points(params, key, np.asarray(pts, dtype=np.float64).reshape(-1, 2), source_size)
        polygons.append(np.rint(points).astype(np.int32))
    return PrivacyMasks(tuple(polygons))


class MasksBySize:
    """The configured masks scaled for each image size met (one parse per size, not per frame)."""

    def __init__(self, params: Mapping[str, Any]):
        self.params = params
        self.configured = bool(parse_masks(params).polygons)  # the points are checked now
        self._by_size: dict[tuple[int, int], PrivacyMasks | None] = {}

    def for_image(self, image: np.ndarray, logger=None) -> PrivacyMasks | None:
        """The masks for this image's size; None when they cannot be placed on it (the image must
        then not leave the process: the error is logged once per size)."""
        size = (int(image.shape[1]), int(image.shape[0]))
        if size not in self._by_size:
            try:
                self._by_size[size] = parse_masks(self.params, size) if self.configured else PrivacyMasks(())
            except ConfigError as exc:
                if logger is not None:
                    logger.error(f"privacy masks cannot be placed on {size[0]}x{size[1]} images, none leave: {exc}")
                self._by_size[size] = None
        return self._by_size[size]
