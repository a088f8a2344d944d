"""Calibration images -> fixed-size preprocessed batches, shared by `argos quantize` (ONNX Runtime
static quantisation) and TensorRT's int8 calibrator so both see exactly the same tensors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from .preprocess import Preprocessor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def calibration_images(folder: str | Path, limit: int = 0) -> list[Path]:
    """Image files of `folder` (sorted, so runs are reproducible); at most `limit` when > 0."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration folder not found: {folder}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in calibration folder {folder}")
    return paths[:limit] if limit > 0 else paths


def batch_indices(count: int, batch_size: int) -> list[list[int]]:
    """Image indices per batch. Every batch is full (engines with a fixed batch need that): the
    last one is completed with images from the start, so every image is used at least once."""
    if count <= 0 or batch_size <= 0:
        raise ValueError(f"need images and a positive batch size, got {count} images, batch {batch_size}")
    batches = -(-count // batch_size)
    return [[(b * batch_size + i) % count for i in range(batch_size)] for b in range(batches)]


class CalibrationBatches:
    """Iterates float NCHW batches, each of exactly `batch_size` letterboxed, normalised images."""

    def __init__(self, paths: Sequence[Path], preprocessor: Preprocessor, batch_size: int = 1):
        self.paths = list(paths)
        self.preprocessor = preprocessor
        self.batch_size = int(batch_size)
        self.plan = batch_indices(len(self.paths), self.batch_size) if self.paths else []

    def __len__(self) -> int:
        return len(self.plan)

    def _read(self, path: Path) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read calibration image {path}")
        return image

    def __iter__(self) -> Iterator[np.ndarray]:
        for indices in self.plan:
            batch, _ = self.preprocessor([self._read(self.paths[i]) for i in indices])
            yield batch
