"""Calibration images -> fixed-size preprocessed batches, shared by `argos quantize` (ONNX Runtime
static quantisation) and TensorRT's int8 calibrator so both see exactly the same tensors.

Calibration footage is a folder of images or a video file; a video's frames are decoded by OpenCV
(as the camera's file source does) and kept as lossless PNGs, so both forms go through the same
image-file path from then on. `split_held_out` sets frames aside, evenly spread over the footage,
for the int8-against-fp32 check."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from .preprocess import Preprocessor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
DEFAULT_VIDEO_FRAMES = 200  # frames taken from a video when no limit is given, evenly spread over it


def calibration_images(folder: str | Path, limit: int = 0) -> list[Path]:
    """Image files of `folder` (sorted, so runs are reproducible); at most `limit` when > 0."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration folder not found: {folder}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in calibration folder {folder}")
    return paths[:limit] if limit > 0 else paths


def _video_frame_count(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"cannot open {path} as a video (unreadable or unsupported format)")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if count > 0:
            return count
        # some containers do not record a frame count: count by decoding
        while capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def video_frames(path: str | Path, count: int, folder: str | Path) -> list[Path]:
    """`count` frames of the video `path`, evenly spread over it, written into `folder` as PNGs."""
    path, folder = Path(path), Path(folder)
    total = _video_frame_count(path)
    if total <= 0:
        raise ValueError(f"{path} contains no decodable video frame")
    wanted = set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist())
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    capture = cv2.VideoCapture(str(path))
    try:
        index = 0
        # sequential decoding: seeking by frame index is inexact for many codecs
        while len(written) < len(wanted) and capture.grab():
            if index in wanted:
                ok, image = capture.retrieve()
                if ok and image is not None:
                    written.append(folder / f"frame_{index:07d}.png")
                    cv2.imwrite(str(written[-1]), image)
            index += 1
    finally:
        capture.release()
    if not written:
        raise ValueError(f"{path} contains no decodable video frame")
    return written


def calibration_frames(source: str | Path, limit: int, scratch: str | Path) -> list[Path]:
    """Image files of a calibration source: a folder's images (see calibration_images), or
    `limit` (default DEFAULT_VIDEO_FRAMES) frames of a video file decoded into `scratch`."""
    source = Path(source)
    if source.is_dir():
        return calibration_images(source, limit)
    if not source.exists():
        raise FileNotFoundError(f"calibration source not found: {source} (expected a folder of images or a video)")
    if source.suffix.lower() in IMAGE_SUFFIXES:
        raise ValueError(f"{source} is one image; calibration needs a folder of images or a video file")
    return video_frames(source, limit if limit > 0 else DEFAULT_VIDEO_FRAMES, scratch)


def held_out_mask(count: int, fraction: float) -> list[bool]:
    """Which of `count` frames in footage order are held out: a `fraction` of them, evenly spread
    (0.25: every 4th frame), so both parts cover the whole footage and reruns split alike."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the held-out fraction must be between 0 and 1, got {fraction}")
    return [int((i + 1) * fraction + 1e-9) > int(i * fraction + 1e-9) for i in range(count)]


def split_held_out(paths: Sequence[Path], fraction: float) -> tuple[list[Path], list[Path]]:
    """(calibration frames, held-out frames); an error when either part would be empty."""
    mask = held_out_mask(len(paths), fraction)
    calibration = [p for p, held in zip(paths, mask) if not held]
    held_out = [p for p, held in zip(paths, mask) if held]
    if not calibration or not held_out:
        raise ValueError(
            f"{len(paths)} frames are too few to hold out a fraction {fraction:g} and calibrate on the rest; "
            "give more frames"
        )
    return calibration, held_out


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
