"""A folder of still images played as a video, in file-name order (e.g. exported frames)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .source_types import FrameSource, SourceError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolderSource(FrameSource):
    """images:///abs/dir[?pattern=*.png]: every matching file once (or looped), at `fps`.

    Files that do not decode are skipped and counted as corrupt; the stream goes on.
    """

    def __init__(self, folder: str | Path, pattern: str = "", fps: float = 15.0, loop: bool = False):
        self.folder = Path(folder)
        self.uri = f"images://{self.folder}" + (f"?pattern={pattern}" if pattern else "")
        if not self.folder.is_dir():
            raise SourceError(f"image folder not found: {self.folder}")
        candidates = sorted(self.folder.glob(pattern)) if pattern else sorted(self.folder.iterdir())
        self.files = [p for p in candidates if p.is_file() and (pattern or p.suffix.lower() in IMAGE_SUFFIXES)]
        if not self.files:
            wanted = pattern or ", ".join(IMAGE_SUFFIXES)
            raise SourceError(f"no images in {self.folder} (looked for {wanted})")
        self.fps = fps
        self.loop = loop
        self.corrupt = 0
        self.restarts = 0
        self._index = 0
        first = self._next_image()
        if first is None:
            raise SourceError(f"none of the {len(self.files)} files in {self.folder} decodes as an image")
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self._pending: np.ndarray | None = first

    def _next_image(self) -> np.ndarray | None:
        misses = 0
        while misses < len(self.files):
            if self._index >= len(self.files):
                if not self.loop:
                    return None
                self._index = 0
                self.restarts += 1
            path = self.files[self._index]
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return image
            self.corrupt += 1
            misses += 1
        return None

    def read(self) -> tuple[np.ndarray, dict] | None:
        image: np.ndarray | None
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image, {}
        image = self._next_image()
        return (image, {}) if image is not None else None

    def status(self) -> dict:
        return {"corrupt": self.corrupt, "restarts": self.restarts}
