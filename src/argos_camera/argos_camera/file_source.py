"""Video files through cv2.VideoCapture (to be replaced by a GStreamer pipeline)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from .source_types import FrameSource, SourceError


class VideoFileSource(FrameSource):
    def __init__(self, path: str | Path, loop: bool = False, fallback_fps: float = 15.0):
        self.path = Path(path)
        self.uri = f"file://{self.path}"
        self.loop = loop
        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        if not self.path.is_file():
            raise SourceError(f"not a file: {self.path}")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"cannot open {self.path} as a video (unreadable or unsupported format)")
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise SourceError(f"{self.path} contains no decodable video frame")
        self._first: np.ndarray | None = first
        container_fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        # some containers report 0 or absurd rates; pace those at the configured fps instead
        self.fps = container_fps if math.isfinite(container_fps) and 0.0 < container_fps <= 1000.0 else fallback_fps
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.restarts = 0

    def read(self) -> tuple[np.ndarray, dict] | None:
        if self._first is not None:
            image, self._first = self._first, None
            return image, {}
        ok, image = self._capture.read()
        if ok and image is not None:
            return image, {}
        if not self.loop:
            return None
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, image = self._capture.read()
        if not ok or image is None:
            return None
        self.restarts += 1
        return image, {}

    def close(self) -> None:
        self._capture.release()
