"""Moving-object detector for a fixed camera: background subtraction, no model file.

Per frame: downscale to `scale` of the source resolution (area averaging also halves the sensor
noise), update an OpenCV MOG2 background model and take its foreground mask with shadows
(MOG2 marks them 127) removed, close small gaps so a vehicle's windows and stripes stay one blob,
then one box per connected component, mapped back to source pixels.

Each blob's foreground area (source pixels) must reach `min_area`; its score is the fill ratio
(foreground pixels / box area), which is near 1 for a compact vehicle seen from above and low for
speckle, ragged noise or loosely merged blobs; blobs below `score_threshold` are dropped. The
label comes from `SizeBands` on the same area.

Honest limitations (by construction, not bugs):
- Touching or overlapping vehicles (queues, adjacent lanes in heavy traffic, occlusion) merge into
  one blob: one box, one (too large) class.
- The model keeps learning (rate 1/history). A vehicle that stops joins the
  background after roughly history/10 frames (~2 s at history 300 and 15 fps) and is no longer
  detected until it moves again; so does any part of a slow, uniformly coloured vehicle that
  covers the same pixels that long. A larger `history` holds them longer but adapts more slowly
  to lighting.
- Warm-up must last about history/10 frames: whatever is in the first frame is background at
  first and only fades as the road behind it is seen. A vehicle parked from the start is
  background for good; when it leaves later, its spot is a "ghost" blob for ~history/10 frames.
- The class is only a size guess: a van and a car with a trailer, or a truck and a bus, can have
  the same area; the scale (pixels per meter) of the view is baked into the area bands.
- Camera shake, global lighting changes and moving shadows not recognised as shadows produce
  false blobs; very large ones are dropped by the last area band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from argos_common.detections import Detections

from .engine import Detector
from .size_bands import SizeBands

_FOREGROUND_MIN = 200  # MOG2 mask: 255 foreground, 127 shadow, 0 background


class MotionDetector(Detector):
    name = "motion"

    def __init__(
        self,
        bands: SizeBands,
        *,
        history: int = 300,
        var_threshold: float = 24.0,
        min_area: int = 120,
        scale: float = 0.5,
        score_threshold: float = 0.3,
        warmup_frames: int = 45,
        close_kernel: int = 3,
    ):
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        self.bands = bands
        self.history = int(history)
        self.var_threshold = float(var_threshold)
        self.min_area = int(min_area)
        self.scale = float(scale)
        self.score_threshold = float(score_threshold)
        self.warmup_frames = int(warmup_frames)
        self.close_kernel = int(close_kernel)
        self._kernel = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (self.close_kernel, self.close_kernel))
            if self.close_kernel > 1
            else None
        )
        self._labels = np.array(bands.labels + ("",), dtype=object)
        self._subtractor: cv2.BackgroundSubtractorMOG2 | None = None
        self._source_shape: tuple[int, int] | None = None
        self.frames_seen = 0

    @property
    def warmed_up(self) -> bool:
        return self.frames_seen > self.warmup_frames

    def reset(self) -> None:
        """Forget the background (the next frames are a new warm-up)."""
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=self.history, varThreshold=self.var_threshold, detectShadows=True
        )
        self.frames_seen = 0

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        return [self._detect_one(image) for image in images]

    def _detect_one(self, image: np.ndarray) -> Detections:
        height, width = image.shape[:2]
        if self._subtractor is None or self._source_shape != (height, width):
            self._source_shape = (height, width)
            self.reset()
        small_w, small_h = max(1, round(width * self.scale)), max(1, round(height * self.scale))
        small = (
            image
            if (small_w, small_h) == (width, height)
            else cv2.resize(image, (small_w, small_h), interpolation=cv2.INTER_AREA)
        )
        # A fixed rate, not OpenCV's automatic 1/min(frames seen, history): that one learns so fast
        # in the first frames that vehicles passing then (the uniform body of a bus) are absorbed
        # and stay background for seconds. The price: vehicles in the very first frame leave ghosts
        # for ~history/10 frames, which the warm-up covers.
        assert self._subtractor is not None  # made by reset() above
        mask = self._subtractor.apply(small, learningRate=1.0 / self.history)
        self.frames_seen += 1
        if not self.warmed_up:
            return Detections.empty()
        foreground: np.ndarray = (mask >= _FOREGROUND_MIN).astype(np.uint8)
        if self._kernel is not None:
            foreground = cv2.morphologyEx(foreground, cv2.MORPH_CLOSE, self._kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
        return self._blobs_to_detections(stats[1:count], small_w / width, small_h / height, width, height)

    def _blobs_to_detections(self, stats: np.ndarray, sx: float, sy: float, width: int, height: int) -> Detections:
        if len(stats) == 0:
            return Detections.empty()
        x, y, w, h, area = (stats[:, i].astype(np.float64) for i in range(5))
        source_area = area / (sx * sy)
        fill = area / (w * h)
        bands = self.bands.band_indices(source_area)
        keep = (source_area >= self.min_area) & (fill >= self.score_threshold) & (bands < len(self.bands.labels))
        if not keep.any():
            return Detections.empty()
        boxes = np.stack([x / sx, y / sy, (x + w) / sx, (y + h) / sy], axis=1)[keep]
        np.clip(boxes[:, 0::2], 0, width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, height, out=boxes[:, 1::2])
        return Detections(boxes, fill[keep], list(self._labels[bands[keep]]))

    def set_score_thresholds(self, params: Mapping[str, Any]) -> None:
        # a blob's score is its fill ratio; there are no per-class scores to threshold
        self.score_threshold = float(params["score_threshold"])

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "history": self.history,
            "var_threshold": self.var_threshold,
            "min_area": self.min_area,
            "scale": self.scale,
            "score_threshold": self.score_threshold,
            "warmup_frames": self.warmup_frames,
            "close_kernel": self.close_kernel,
            "class_max_area": list(self.bands.max_areas),
            "class_labels": list(self.bands.labels),
        }

    def close(self) -> None:
        self._subtractor = None
